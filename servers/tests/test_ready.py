"""The "your server is ready" mail and page: how to sign in, and nothing secret."""

import pytest
from django.core import mail
from django.utils import timezone

from billing.factories import OrderFactory
from sshkeys.services import order_ssh_keys_attach, ssh_key_add
from sshkeys.tests.conftest import keys  # noqa: F401 - the session fixture of real keys

from .conftest import server_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_server(alice, plan, keys, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.SERVER_LOGIN_USER = "root"
    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    order_ssh_keys_attach(order, [laptop])
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(order)
    server.refresh_from_db()
    assert server.status == "active"
    return server, laptop


def ready_mails():
    return [m for m in mail.outbox if "is ready" in m.subject]


def test_the_ready_mail_says_how_to_sign_in_with_the_installed_key(ready_server, keys):  # noqa: F811
    server, laptop = ready_server
    [message] = ready_mails()
    assert message.to == ["alice@example.com"] and message.subject == f"Your server {server.hostname} is ready"
    for fact in (server.hostname, server.ip_address, "User name:  root", "laptop", laptop.fingerprint):
        assert fact in message.body
    assert f"ssh root@{server.ip_address}" in message.body
    # Nothing secret: no key material at all, let alone a private key or a password.
    assert keys["ed25519"].split()[1] not in message.body and "password:" not in message.body.lower()


def test_the_server_page_says_how_to_sign_in(client, alice, ready_server):
    server, laptop = ready_server
    client.force_login(alice)
    page = client.get(f"/servers/{server.pk}/").content.decode()
    assert "How to sign in" in page and laptop.fingerprint in page and f"ssh root@{server.ip_address}" in page


def test_the_login_user_is_the_one_written_at_activation(settings, client, alice, ready_server):
    server, _ = ready_server
    settings.SERVER_LOGIN_USER = "ubuntu"  # a later image's user does not rewrite what this machine has
    client.force_login(alice)
    assert f"ssh root@{server.ip_address}" in client.get(f"/servers/{server.pk}/").content.decode()


def test_a_server_without_a_key_says_so_and_how_to_get_one(alice, plan, client, django_capture_on_commit_callbacks):
    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(order)
    [message] = ready_mails()
    assert "No SSH key was chosen" in message.body and "/accounts/ssh-keys/" in message.body
    client.force_login(alice)
    assert "No SSH key was chosen" in client.get(f"/servers/{server.pk}/").content.decode()
