"""A customer who ordered without an SSH key (or has a new computer) installs one of their keys on the
running server: POST /api/v1/servers/<id>/ssh-keys/ {"key": id} and the "Install this key" button on the
server page, carried out by the worker through the backend like a power action. Before, the only way was a
support ticket."""

import pytest
from django.utils import timezone

from billing.factories import OrderFactory
from servers.models import ServerEvent, ServerOperation, SimulatedNode
from sshkeys.selectors import order_ssh_keys
from sshkeys.services import ssh_key_add
from sshkeys.tests.conftest import keys  # noqa: F401 - the session fixture of real keys

from .conftest import server_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyless_server(alice, plan, django_capture_on_commit_callbacks):
    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(order)
    server.refresh_from_db()
    assert server.status == "active" and not order_ssh_keys(order).exists()
    return server


def install(api, server, key, capture):
    with capture(execute=True):  # the operation's task runs after commit (inline here)
        return api.post(f"/api/v1/servers/{server.pk}/ssh-keys/", {"key": key.pk}, format="json")


def test_a_key_is_installed_on_a_running_server_through_the_api(
    api,
    alice,
    keyless_server,
    keys,  # noqa: F811 - the session fixture imported above
    django_capture_on_commit_callbacks,
):
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    response = install(api, keyless_server, laptop, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    assert response.json() == {"key": laptop.pk, "fingerprint": laptop.fingerprint, "status": "queued"}
    operation = ServerOperation.objects.get(server=keyless_server, action="add_key")
    assert (operation.status, operation.purpose, operation.actor) == ("succeeded", "ssh_key", alice)
    node = SimulatedNode.objects.get(server_id=keyless_server.pk)
    assert node.ssh_keys == [laptop.public_key]  # the machine has it
    [installed] = order_ssh_keys(keyless_server.order_id)
    assert (installed.name, installed.fingerprint) == ("laptop", laptop.fingerprint)  # the sign-in details list it
    kinds = list(ServerEvent.objects.filter(server=keyless_server).values_list("kind", flat=True))
    assert "ssh_key_requested" in kinds and "ssh_key_added" in kinds


def test_the_same_key_twice_is_409_and_the_machine_keeps_one_copy(
    api,
    alice,
    keyless_server,
    keys,  # noqa: F811 - the session fixture imported above
    django_capture_on_commit_callbacks,
):
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    assert install(api, keyless_server, laptop, django_capture_on_commit_callbacks).status_code == 202
    again = install(api, keyless_server, laptop, django_capture_on_commit_callbacks)
    assert again.status_code == 409 and "already installed" in again.json()["detail"]
    desk = ssh_key_add(alice, name="desk", public_key=keys["ecdsa"])
    assert install(api, keyless_server, desk, django_capture_on_commit_callbacks).status_code == 202
    assert SimulatedNode.objects.get(server_id=keyless_server.pk).ssh_keys == [laptop.public_key, desk.public_key]


def test_another_customers_key_is_400_and_another_customers_server_404(
    api,
    bob,
    bob_api,
    alice,
    keyless_server,
    keys,  # noqa: F811 - the session fixture imported above
    django_capture_on_commit_callbacks,
):
    bobs = ssh_key_add(bob, name="bob's", public_key=keys["ecdsa"])
    refused = install(api, keyless_server, bobs, django_capture_on_commit_callbacks)
    assert refused.status_code == 400 and refused.json() == {"key": ["Not one of your SSH keys."]}
    assert install(bob_api, keyless_server, bobs, django_capture_on_commit_callbacks).status_code == 404
    assert not ServerOperation.objects.filter(action="add_key").exists()


def test_a_suspended_server_takes_no_key(api, alice, keyless_server, keys, django_capture_on_commit_callbacks):  # noqa: F811
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    type(keyless_server).objects.filter(pk=keyless_server.pk).update(status="suspended")
    refused = install(api, keyless_server, laptop, django_capture_on_commit_callbacks)
    assert refused.status_code == 409 and "suspended" in refused.json()["detail"]


def test_a_provider_that_cannot_add_keys_says_what_to_do_instead(
    api,
    alice,
    keyless_server,
    keys,  # noqa: F811 - the session fixture imported above
    settings,
    client,
    django_capture_on_commit_callbacks,
):
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    settings.PROVISIONING_BACKEND = "libcloud"
    refused = install(api, keyless_server, laptop, django_capture_on_commit_callbacks)
    assert refused.status_code == 409
    assert "cannot add a key to a running server" in refused.json()["detail"]
    assert "authorized_keys" in refused.json()["detail"]
    client.force_login(alice)
    page = client.get(f"/servers/{keyless_server.pk}/").content.decode()
    assert "cannot add a key to a running server" in page and "Install this key" not in page


def test_the_server_page_offers_each_key_not_yet_installed_and_installs_it(
    client,
    alice,
    keyless_server,
    keys,  # noqa: F811 - the session fixture imported above
    django_capture_on_commit_callbacks,
):
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    client.force_login(alice)
    page = client.get(f"/servers/{keyless_server.pk}/").content.decode()
    assert "No SSH key was chosen" in page and "Install this key" in page and laptop.fingerprint in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/servers/{keyless_server.pk}/ssh-keys/", {"key": laptop.pk})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Installing “laptop”" in page
    assert "Install this key" not in page and "SSH key installed" in page and "No SSH key was chosen" not in page
    assert SimulatedNode.objects.get(server_id=keyless_server.pk).ssh_keys == [laptop.public_key]
