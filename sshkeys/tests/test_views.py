"""The account's SSH keys page, checkout's key choice, and installation at creation."""

import pytest
from django.utils import timezone

from sshkeys.models import OrderSSHKey, SSHKey
from sshkeys.services import ssh_key_add

pytestmark = pytest.mark.django_db


def test_the_keys_page_adds_a_key_and_shows_its_fingerprint(client, alice, keys):
    client.force_login(alice)
    response = client.post("/accounts/ssh-keys/", {"name": "laptop", "public_key": keys["ed25519"]}, follow=True)
    key = SSHKey.objects.get(user=alice)
    assert response.status_code == 200 and key.fingerprint in response.content.decode()


def test_the_keys_page_refuses_a_bad_key_with_the_reason(client, alice, keys):
    client.force_login(alice)
    response = client.post("/accounts/ssh-keys/", {"name": "old", "public_key": keys["rsa1024"]})
    assert response.status_code == 400 and "1024 bits" in response.content.decode()
    assert not SSHKey.objects.exists()


def test_another_customers_key_cannot_be_deleted_from_the_page(client, alice, bob, keys):
    bobs = ssh_key_add(bob, name="bob", public_key=keys["ecdsa"])
    client.force_login(alice)
    assert client.post(f"/accounts/ssh-keys/{bobs.pk}/delete/").status_code == 404
    assert SSHKey.objects.filter(pk=bobs.pk).exists()


def test_checkout_offers_the_customers_keys_and_the_order_keeps_the_chosen_one(
    client, alice, bob, plan, fake_razorpay, keys
):
    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    bobs = ssh_key_add(bob, name="bob-desktop", public_key=keys["ecdsa"])
    client.force_login(alice)
    page = client.get(f"/checkout/{plan.slug}/").content.decode()
    assert laptop.fingerprint in page and "bob-desktop" not in page
    form = {"billing_cycle_months": 1, "name": "Alice", "address": "1 MG Road", "state": "Karnataka", "gstin": ""}
    refused = client.post(f"/checkout/{plan.slug}/", {**form, "ssh_keys": [bobs.pk]})
    assert refused.status_code == 400 and not OrderSSHKey.objects.exists()
    response = client.post(f"/checkout/{plan.slug}/", {**form, "ssh_keys": [laptop.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(OrderSSHKey.objects.values_list("fingerprint", flat=True)) == [laptop.fingerprint]


def test_the_chosen_keys_are_installed_at_creation_by_the_simulated_provider(alice, plan, keys):
    from billing.factories import OrderFactory
    from servers.models import SimulatedNode
    from servers.services import server_provision
    from servers.tests.conftest import server_for
    from sshkeys.services import order_ssh_keys_attach

    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    order_ssh_keys_attach(order, [ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])])
    server = server_for(order)
    server_provision(server.pk)
    node = SimulatedNode.objects.get(server_id=server.pk)
    assert node.ssh_keys == [keys["ed25519"]]


def test_the_chosen_keys_are_given_to_libcloud_as_a_node_auth_ssh_key(settings, alice, plan, keys):
    from libcloud.compute.base import NodeAuthSSHKey

    from billing.factories import OrderFactory
    from servers.services import server_provision
    from servers.tests.conftest import server_for
    from servers.tests.fake_cloud import fake_cloud_register
    from sshkeys.services import order_ssh_keys_attach

    settings.PROVISIONING_BACKEND, settings.LIBCLOUD_PROVIDER = "libcloud", "fake-cloud"
    settings.LIBCLOUD_KEY, settings.LIBCLOUD_IMAGE = "test-key", "Ubuntu 9.10"
    fake = fake_cloud_register()
    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    chosen = [ssh_key_add(alice, name=n, public_key=keys[n]) for n in ("ed25519", "rsa2048")]
    order_ssh_keys_attach(order, chosen)
    server_provision(server_for(order).pk)
    [kwargs] = fake.create_kwargs
    assert isinstance(kwargs["auth"], NodeAuthSSHKey)
    assert kwargs["auth"].pubkey.splitlines() == [keys["ed25519"], keys["rsa2048"]]


def test_checkout_ticks_the_customers_only_key_and_asks_before_ordering_with_none(
    client, alice, plan, fake_razorpay, keys
):
    from billing.models import Order

    laptop = ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    client.force_login(alice)
    page = client.get(f"/checkout/{plan.slug}/").content.decode()
    box = page[page.index(f'value="{laptop.pk}"') - 200 : page.index(f'value="{laptop.pk}"') + 200]
    assert "checked" in box
    form = {"billing_cycle_months": 1, "name": "Alice", "address": "1 MG Road", "state": "Karnataka", "gstin": ""}
    warned = client.post(f"/checkout/{plan.slug}/", form)
    assert warned.status_code == 400 and not Order.objects.filter(user=alice).exists()
    assert "you cannot sign in to the new server" in warned.content.decode()
    assert "Order without an SSH key" in warned.content.decode()
    response = client.post(f"/checkout/{plan.slug}/", {**form, "without_ssh_key": "on"})
    assert response.status_code == 302 and Order.objects.filter(user=alice).count() == 1
    assert not OrderSSHKey.objects.exists()


def test_with_two_keys_none_is_ticked_for_the_customer(client, alice, plan, keys):
    ssh_key_add(alice, name="laptop", public_key=keys["ed25519"])
    ssh_key_add(alice, name="desktop", public_key=keys["ecdsa"])
    client.force_login(alice)
    page = client.get(f"/checkout/{plan.slug}/").content.decode()
    assert page[page.index('id="ssh-keys"') :].split("</fieldset>")[0].count("checked") == 0
