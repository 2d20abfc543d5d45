"""Servers' customer mail, queued through the outbox (outbox.services.mail_queue)."""

from django.conf import settings

from outbox.services import mail_queue

from .provisioning import get_backend
from .selectors import server_login


def server_ready_text(server) -> str:
    """How to sign in: hostname, address, user name and the SSH keys installed
    (name and fingerprint). Never a password or a private key: there are none."""
    login = server_login(server)
    lines = [
        f"Your server {login.hostname} is ready.",
        "",
        f"Hostname:   {login.hostname}",
        f"IP address: {login.address or 'being assigned'}",
        f"User name:  {login.user}",
    ]
    if login.keys:
        lines += ["", "SSH key(s) installed:"]
        lines += [f"  {key.name} ({key.fingerprint})" for key in login.keys]
        lines += ["", f"Sign in with your matching private key:  {login.ssh_command}"]
    else:
        lines += [
            "",
            "No SSH key was chosen for this server, so it has no way to sign in yet.",
            f"Add your public key at {settings.SITE_URL}/accounts/ssh-keys/, then install it from the server's page."
            if get_backend().adds_keys
            else f"Add your public key at {settings.SITE_URL}/accounts/ssh-keys/ and open a support ticket: "
            "we will install it for you.",
        ]
    lines += [
        "",
        "We never send passwords or private keys by email, and never ask for them.",
        f"Details: {settings.SITE_URL}/servers/{server.pk}/",
    ]
    return "\n".join(lines) + "\n"


def server_active_mail_queue(server):
    """The "your server is ready" mail, once per server: call it in the transaction that activates it."""
    return mail_queue(
        f"server-active:{server.pk}",
        to=[server.user.email],
        subject=f"Your server {server.hostname} is ready",
        body=server_ready_text(server),
    )


def server_operation_mail_queue(operation, server):
    """The customer's mail once a staff suspension, an unsuspension, a resize or a termination
    not decided by run_billing (which sends its own reminders) has been carried out;
    once per operation. Call it in the transaction that records the outcome."""
    page = f"{settings.SITE_URL}/servers/{server.pk}/"
    if operation.purpose == "suspend" and server.suspension_reason == "staff":
        subject, body = (
            f"Your server {server} is suspended",
            (
                f"Our staff suspended your server {server}; it is stopped.\n"
                f"Please open a support ticket to find out why and how to restore it: {settings.SITE_URL}/support/new/\n"
            ),
        )
    elif operation.purpose == "unsuspend":
        subject, body = (
            f"Your server {server} is running again",
            f"The suspension is lifted and the server is started.\n{page}\n",
        )
    elif operation.purpose == "terminate" and operation.source != "run_billing":
        subject, body = (
            f"Your server {server} is terminated",
            (f"Your server {server} has been deleted with its data. Its history stays at {page}\n"),
        )
    elif operation.purpose == "plan":
        plan = operation.plan
        subject, body = (
            f"Your server {server} now runs {plan}",
            f"Its machine is resized to {plan} ({plan.vcpu} vCPU, {plan.ram_gb} GB RAM, {plan.disk_gb} GB SSD).\n{page}\n",
        )
    else:
        return None
    return mail_queue(f"server-operation:{operation.pk}", to=[server.user.email], subject=subject, body=body)
