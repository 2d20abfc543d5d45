"""Which public keys we accept, and the message for each we refuse."""

import base64
import hashlib
import re

import pytest

from sshkeys.parsing import InvalidSSHKey, public_key_parse


@pytest.mark.parametrize(("kind", "key_type", "bits"), [
    ("ed25519", "ssh-ed25519", 256), ("ecdsa", "ecdsa-sha2-nistp256", 256), ("rsa2048", "ssh-rsa", 2048),
])  # fmt: skip
def test_ed25519_ecdsa_and_rsa_of_2048_bits_are_accepted_with_their_sha256_fingerprint(keys, kind, key_type, bits):
    parsed = public_key_parse(keys[kind])
    assert (parsed.key_type, parsed.bits, parsed.comment) == (key_type, bits, "alice@laptop")
    blob = base64.b64decode(keys[kind].split()[1])
    # What `ssh-keygen -lf key.pub` prints: SHA256 of the key blob, base64 without padding.
    assert parsed.fingerprint == "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert parsed.line == keys[kind]


def test_surrounding_whitespace_is_dropped_and_the_comment_is_optional(keys):
    bare = " ".join(keys["ed25519"].split()[:2])
    assert public_key_parse(f"  {bare}\n").line == bare


@pytest.mark.parametrize(("kind_or_text", "message"), [
    ("dsa", "DSA (ssh-dss) keys are not accepted"),
    ("rsa1024", "This RSA key has 1024 bits; RSA keys need at least 2048"),
    ("ed25519_private", "This is a private key"),
    ("garbage", "is not a key type we accept"),
    ("", "Paste your public key"),
    ("ssh-ed25519", "The key is incomplete"),
    ("ssh-ed25519 not*base64", "not valid base64"),
    ("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", "This is not a valid ssh-ed25519 public key"),
    ("sk-ssh-ed25519@openssh.com AAAA", "is not a key type we accept"),
])  # fmt: skip
def test_bad_keys_are_refused_with_a_message_naming_the_problem(keys, kind_or_text, message):
    text = keys.get(kind_or_text, kind_or_text) if kind_or_text != "garbage" else "hello, this is not a key"
    with pytest.raises(InvalidSSHKey, match=re.escape(message)):
        public_key_parse(text)


def test_two_keys_pasted_at_once_are_refused(keys):
    with pytest.raises(InvalidSSHKey, match="Paste one key"):
        public_key_parse(keys["ed25519"] + "\n" + keys["ecdsa"])


def _ssh_rsa_line(e: int, n: int) -> str:
    """An ssh-rsa public key line built from its numbers (RFC 4253 6.6: string, mpint e, mpint n)."""

    def string(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    def mpint(value: int) -> bytes:
        return string(value.to_bytes(value.bit_length() // 8 + 1, "big"))

    blob = string(b"ssh-rsa") + mpint(e) + mpint(n)
    return "ssh-rsa " + base64.b64encode(blob).decode() + " mallory@box"


def test_an_rsa_key_with_an_even_modulus_is_refused(keys):
    # A product of two odd primes is odd; an even modulus is no RSA key anyone can hold the private half of
    # in the usual sense, and some libraries crash or leak on it. The old parser accepted this one.
    even_modulus = (1 << 2047) | (1 << 1000) | 2
    with pytest.raises(InvalidSSHKey, match="This RSA key is not valid: its modulus is even"):
        public_key_parse(_ssh_rsa_line(65537, even_modulus))
    odd = public_key_parse(_ssh_rsa_line(65537, even_modulus | 1))
    assert (odd.key_type, odd.bits) == ("ssh-rsa", 2048)
