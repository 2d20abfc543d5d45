import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa


def openssh_line(private_key, comment="alice@laptop"):
    public = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode() + (f" {comment}" if comment else "")


@pytest.fixture(scope="session")
def keys():
    """Real keys of every kind, made once for the session (RSA generation is the slow part)."""
    ed = ed25519.Ed25519PrivateKey.generate()
    return {
        "ed25519": openssh_line(ed),
        "ed25519_private": ed.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ).decode(),
        "ecdsa": openssh_line(ec.generate_private_key(ec.SECP256R1())),
        "rsa2048": openssh_line(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "rsa1024": openssh_line(rsa.generate_private_key(public_exponent=65537, key_size=1024)),
        "dsa": openssh_line(dsa.generate_private_key(key_size=1024)),
    }


