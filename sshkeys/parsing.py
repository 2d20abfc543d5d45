"""Reading a customer's OpenSSH public key: which kinds we accept and why.

Parsed by the `cryptography` package, never by hand. Accepted: ssh-ed25519,
ecdsa-sha2-nistp256/384/521 and ssh-rsa of at least 2048 bits. Refused with a
message naming the problem: anything that is not one OpenSSH public key line,
DSA (ssh-dss: 1024-bit only, disabled by OpenSSH since 7.0), short RSA keys,
RSA keys with an even modulus (no product of two odd primes), and above all a private key pasted by mistake (which is never stored).
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

MIN_RSA_BITS = 2048
MAX_KEY_CHARS = 8192  # a 16384-bit RSA key is about 2,800 characters
ACCEPTED_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
ACCEPTED = "ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of 2048 bits or more"


class InvalidSSHKey(ValueError):
    """The text is not an OpenSSH public key we accept; the message says why, for the customer."""


@dataclass(frozen=True)
class PublicKey:
    key_type: str  # e.g. "ssh-ed25519"
    bits: int
    fingerprint: str  # "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it
    line: str  # "<type> <base64>[ <comment>]": what goes into authorized_keys
    comment: str


def fingerprint_of(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def public_key_parse(text: str) -> PublicKey:
    """Parse one OpenSSH public key line. Raises InvalidSSHKey naming the problem."""
    text = (text or "").strip()
    if not text:
        raise InvalidSSHKey("Paste your public key: the one line in your .pub file (e.g. ~/.ssh/id_ed25519.pub).")
    if "PRIVATE KEY" in text:
        raise InvalidSSHKey(
            "This is a private key. Keep it to yourself: paste the public key instead, the one line in the .pub file."
        )
    if len(text) > MAX_KEY_CHARS:
        raise InvalidSSHKey(f"This is too long for a public key ({len(text)} characters).")
    if "\n" in text or "\r" in text:
        raise InvalidSSHKey("Paste one key: a public key is a single line.")
    parts = text.split()
    key_type = parts[0]
    if key_type == "ssh-dss":
        raise InvalidSSHKey("DSA (ssh-dss) keys are not accepted: OpenSSH has disabled them. Use an ed25519 key.")
    if key_type not in ACCEPTED_TYPES:
        raise InvalidSSHKey(f"“{key_type[:40]}” is not a key type we accept. We accept {ACCEPTED}.")
    if len(parts) < 2:
        raise InvalidSSHKey("The key is incomplete: after its type comes the key data.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSSHKey("The key data is not valid base64: was it cut or changed when copied?") from None
    try:
        key = load_ssh_public_key(f"{key_type} {parts[1]}".encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidSSHKey(f"This is not a valid {key_type} public key ({exc}).") from None
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
        if bits < MIN_RSA_BITS:
            raise InvalidSSHKey(
                f"This RSA key has {bits} bits; RSA keys need at least {MIN_RSA_BITS} (use 4096, or an ed25519 key)."
            )
        # The modulus is a product of two odd primes, so it is odd; an even one comes from a broken or
        # hand-made key, and no server should be told to trust it.
        if key.public_numbers().n % 2 == 0:
            raise InvalidSSHKey("This RSA key is not valid: its modulus is even. Generate a new key with ssh-keygen.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        bits = 256
    else:  # load_ssh_public_key knows no other kinds today; refuse whatever it may learn
        raise InvalidSSHKey(f"“{key_type}” keys are not accepted. We accept {ACCEPTED}.")
    comment = " ".join(parts[2:])[:200]
    line = f"{key_type} {parts[1]}" + (f" {comment}" if comment else "")
    return PublicKey(key_type=key_type, bits=bits, fingerprint=fingerprint_of(blob), line=line, comment=comment)
