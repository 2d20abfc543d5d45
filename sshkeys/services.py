"""Customers' SSH keys: adding (validated), deleting, and choosing them for an order."""

import logging

from django.db import IntegrityError, transaction

from .models import OrderSSHKey, SSHKey
from .parsing import InvalidSSHKey, public_key_parse
from .selectors import ssh_keys_for_user

logger = logging.getLogger("sshkeys")

MAX_KEYS_PER_USER = 50
MAX_KEYS_PER_ORDER = 10


class UnknownSSHKeys(ValueError):
    """Key ids that are not the caller's own (or do not exist)."""


def ssh_key_add(user, *, name, public_key) -> SSHKey:
    """Validate and store one public key for `user`. Raises InvalidSSHKey with a
    message for the customer: a bad key, a blank name, too many keys, or a key
    they already have. The unique (user, fingerprint) constraint is the guard
    against the same key twice, also for two requests at once."""
    parsed = public_key_parse(public_key)
    name = (name or "").strip() or parsed.comment.strip()
    if not name:
        raise InvalidSSHKey("Give the key a name, e.g. “laptop”.")
    if len(name) > 100:
        raise InvalidSSHKey("The name is too long (100 characters at most).")
    if ssh_keys_for_user(user).count() >= MAX_KEYS_PER_USER:
        raise InvalidSSHKey(f"You have {MAX_KEYS_PER_USER} keys already; delete one you no longer use first.")
    key = SSHKey(
        user=user,
        name=name[:100],
        key_type=parsed.key_type,
        bits=parsed.bits,
        fingerprint=parsed.fingerprint,
        public_key=parsed.line,
    )
    try:
        with transaction.atomic():
            key.save()
    except IntegrityError:
        existing = ssh_keys_for_user(user).filter(fingerprint=parsed.fingerprint).first()
        raise InvalidSSHKey(
            f"You already have this key{f' as “{existing.name}”' if existing else ''} ({parsed.fingerprint})."
        ) from None
    logger.info("ssh_key_added user=%s key=%s fingerprint=%s", user.pk, key.pk, key.fingerprint)
    return key


def ssh_key_delete(user, key_id) -> bool:
    """Delete one of `user`'s keys; False if it is not theirs. Servers already
    built keep it (it is on the machine); orders not yet built keep their copy."""
    deleted, _ = ssh_keys_for_user(user).filter(pk=key_id).delete()
    return bool(deleted)


def ssh_keys_owned(user, key_ids) -> list:
    """`user`'s keys with these ids, in the order given. Raises UnknownSSHKeys
    for any id that is not theirs: another customer's key is refused exactly
    like one that does not exist."""
    wanted = list(dict.fromkeys(key_ids or []))
    if len(wanted) > MAX_KEYS_PER_ORDER:
        raise UnknownSSHKeys(f"Choose at most {MAX_KEYS_PER_ORDER} SSH keys.")
    keys = {key.pk: key for key in ssh_keys_for_user(user).filter(pk__in=wanted)}
    missing = [key_id for key_id in wanted if key_id not in keys]
    if missing:
        raise UnknownSSHKeys("You have no SSH key with id " + ", ".join(str(key_id) for key_id in missing) + ".")
    return [keys[key_id] for key_id in wanted]


def order_ssh_keys_attach(order, keys) -> None:
    """Copy the chosen keys onto the order, inside the caller's transaction (order creation)."""
    OrderSSHKey.objects.bulk_create(
        [
            OrderSSHKey(
                order=order,
                key=key,
                name=key.name,
                key_type=key.key_type,
                fingerprint=key.fingerprint,
                public_key=key.public_key,
            )
            for key in keys
        ]
    )


def order_ssh_key_installed(order_id, public_key, *, owner) -> OrderSSHKey:
    """Record a key installed on an order's running server after checkout (the server's "install this key"),
    so its sign-in details list it. Named as the owner's key of that fingerprint, if they still have it.
    Idempotent per (order, fingerprint). Inside the caller's transaction."""
    parsed = public_key_parse(public_key)
    named = SSHKey.objects.filter(user=owner, fingerprint=parsed.fingerprint).first()
    key, _ = OrderSSHKey.objects.get_or_create(
        order_id=order_id,
        fingerprint=parsed.fingerprint,
        defaults={
            "key": named,
            "name": named.name if named else (parsed.comment or "added key")[:100],
            "key_type": parsed.key_type,
            "public_key": parsed.line,
        },
    )
    return key
