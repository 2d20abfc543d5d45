"""A customer installs one more SSH public key on their running server (one who ordered without a key
had no way to sign in). One entry point for the server page and the API.

Decided under the server's lock: the server must be active and not being suspended or terminated, the
backend must be able to add a key to a running machine (simulated: yes; Libcloud: no, and the customer is
told what to do instead), and the key must not be installed or being installed already. The decision is
an `add_key` ServerOperation carrying the key's line, run by the worker like a power action
(servers.operations); once the backend has done it the key is listed among the server's sign-in keys.
"""

from django.db import transaction

from sshkeys.selectors import order_ssh_keys

from .models import Server, ServerOperation
from .operations import operation_enqueue, operations_open, server_event, server_locked
from .provisioning import get_backend
from .selectors import termination_decided

Op = ServerOperation


class KeyInstallRefused(ValueError):
    """The key cannot be installed on this server now (the message says why): a 409."""


def key_install_refusal(server) -> str:
    """Why no key can be installed on `server` now ("" when one can): for the request and for the page."""
    backend = get_backend()
    if not backend.adds_keys:
        return backend.adds_keys_refusal
    if server.status != Server.Status.ACTIVE or server.suspension_reason:
        return f"This server is {server.get_status_display().lower()}: keys are installed on an active server."
    return ""


def keys_installable(server, keys):
    """The customer's `keys` not yet on `server` nor being installed (the page's buttons)."""
    installed = set(order_ssh_keys(server.order_id).values_list("fingerprint", flat=True))
    pending = set(operations_open(server.pk).filter(action=Op.Action.ADD_KEY).values_list("public_key", flat=True))
    return [key for key in keys if key.fingerprint not in installed and key.public_key not in pending]


def key_install_request(server_id, *, key, user, source) -> ServerOperation:
    """Queue installing `key` (one of `user`'s SSHKey rows; the caller checked both are the customer's) on
    the server. Raises KeyInstallRefused naming the reason. Writes the operation and a timeline row in one
    transaction; the worker is handed it after commit. Not idempotent by design, but a second request for
    the same key while the first is open, or once it is installed, is refused."""
    with transaction.atomic():
        server = server_locked(server_id)
        refusal = key_install_refusal(server)
        if not refusal and termination_decided(server.pk):
            refusal = "This server is being terminated."
        if refusal:
            raise KeyInstallRefused(refusal)
        if not keys_installable(server, [key]):
            raise KeyInstallRefused(f"The key “{key.name}” is already installed on this server, or being installed.")
        operation = Op.objects.create(
            server=server,
            action=Op.Action.ADD_KEY,
            purpose=Op.Purpose.SSH_KEY,
            source=source,
            actor=user,
            note=f"key “{key.name}” {key.fingerprint}, asked by {user.email}",
            public_key=key.public_key,
        )
        server_event(server.pk, "ssh_key_requested", source=source, actor=user, note=f"{key.name} {key.fingerprint}")
        transaction.on_commit(lambda: operation_enqueue(operation.pk))
    return operation
