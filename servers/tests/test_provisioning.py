"""Provisioning through the real task and backends; only the cloud driver is a stand-in."""

import pytest
from django.core import mail
from libcloud.common.exceptions import RateLimitReachedError
from libcloud.common.types import InvalidCredsError, ServiceUnavailableError

from alerts.models import Incident
from core.claims import PROVISIONING_RETRIES
from servers.models import ProvisioningAttempt, Server
from servers.provisioning.simulated import simulated_ip
from servers.tasks import MAX_RETRIES, retry_countdown

from .conftest import server_for
from .fake_cloud import fake_cloud_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_cloud(settings):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "fake-cloud"
    settings.LIBCLOUD_KEY = "test-key"
    settings.LIBCLOUD_IMAGE = "Ubuntu 9.10"
    return fake_cloud_register()


def provisioned(order, capture):
    with capture(execute=True):
        server = server_for(order)
    server.refresh_from_db()
    return server


def outcomes(server):
    return list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome"))


def alerts():
    return [m for m in mail.outbox if m.to == ["ops@example.com"]]


def test_simulated_addresses_are_documentation_addresses_and_stable_per_server():
    assert simulated_ip(1) == "192.0.2.2"
    assert simulated_ip(254) == "198.51.100.1"
    assert simulated_ip(600) == "203.0.113.93"
    assert simulated_ip(1) == simulated_ip(1) != simulated_ip(2)


def test_the_libcloud_dummy_provider_builds_a_server(settings, paid_order, django_capture_on_commit_callbacks):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "dummy"
    settings.LIBCLOUD_IMAGE = "1"
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "active"
    # Libcloud's dummy names its third node "dummy-3" at 127.0.0.3, whatever we ask.
    assert (server.hostname, server.ip_address, server.provider_node_id) == ("dummy-3", "127.0.0.3", "3")
    assert outcomes(server) == [(1, "succeeded")]


def test_the_node_is_named_after_the_server_and_its_order_and_sized_from_the_order_snapshot(
    fake_cloud, paid_order, django_capture_on_commit_callbacks
):
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "active"
    [node] = fake_cloud.nodes
    assert node.name == f"srv-{server.pk}-{paid_order.number.lower()}"
    assert node.size.ram == 8192  # the smallest dummy size holding the plan's 8 GB
    assert node.image.name == "Ubuntu 9.10"
    assert (server.provider_node_id, server.ip_address) == (node.id, node.public_ips[0])
    assert ProvisioningAttempt.objects.get(server=server).backend == "libcloud"


def test_an_explicit_provider_size_on_the_order_wins(fake_cloud, paid_order, django_capture_on_commit_callbacks):
    paid_order.plan_provider_size = "Small"
    paid_order.save()
    provisioned(paid_order, django_capture_on_commit_callbacks)
    assert fake_cloud.nodes[0].size.name == "Small"


def test_a_retry_after_the_answer_was_lost_adopts_the_node_instead_of_buying_another(
    fake_cloud, paid_order, django_capture_on_commit_callbacks
):
    fake_cloud.failures.append(("after", ConnectionResetError("connection reset by peer")))
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "active"
    assert len(fake_cloud.nodes) == 1 and fake_cloud.create_calls == 1
    assert server.provider_node_id == fake_cloud.nodes[0].id
    assert outcomes(server) == [(1, "transient_error"), (2, "succeeded")]


def test_transient_provider_errors_are_retried_until_the_server_is_active(
    fake_cloud, paid_order, alert_recipients, django_capture_on_commit_callbacks
):
    fake_cloud.failures.extend([ServiceUnavailableError(), RateLimitReachedError()])
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "active" and server.last_error == ""
    assert outcomes(server) == [(1, "transient_error"), (2, "transient_error"), (3, "succeeded")]
    statuses = list(server.status_changes.values_list("to_status", flat=True))
    assert statuses == ["pending", "provisioning", "pending", "provisioning", "pending", "provisioning", "active"]
    assert "Rate limit" in ProvisioningAttempt.objects.get(server=server, number=2).error
    assert alerts() == []
    # The payment email goes out with the first attempt only, not with each retry.
    assert [m.subject for m in mail.outbox].count(f"Payment received for order {paid_order.number}") == 1


def test_a_permanent_provider_error_fails_the_server_and_alerts_once(
    fake_cloud, paid_order, alert_recipients, django_capture_on_commit_callbacks
):
    fake_cloud.failures.append(InvalidCredsError("bad API token"))
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "failed"
    assert "InvalidCredsError" in server.last_error and "bad API token" in server.last_error
    assert outcomes(server) == [(1, "permanent_error")]
    assert ProvisioningAttempt.objects.get(server=server).error == server.last_error
    [alert] = alerts()
    assert paid_order.number in alert.subject
    for fact in (paid_order.number, "alice@example.com", "₹2,643.20", "bad API token", "/admin/orphaned-orders/"):
        assert fact in alert.body
    incident = Incident.objects.get(key=f"stuck-server:{server.pk}")
    assert incident.notified_at is not None and incident.notify_error == ""
    assert not [m for m in mail.outbox if "is ready" in m.subject]


def test_a_missing_image_is_a_permanent_error(fake_cloud, settings, paid_order, django_capture_on_commit_callbacks):
    settings.LIBCLOUD_IMAGE = "no-such-image"
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "failed" and "no image 'no-such-image'" in server.last_error
    assert fake_cloud.create_calls == 0


def test_a_provider_that_never_recovers_fails_the_server_when_the_retry_budget_is_spent(
    fake_cloud, paid_order, alert_recipients, django_capture_on_commit_callbacks
):
    fake_cloud.failures.extend([ServiceUnavailableError()] * (MAX_RETRIES + 5))
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "failed"
    assert server.last_error.startswith(f"Gave up after {MAX_RETRIES + 1} attempt(s)")
    assert [outcome for _, outcome in outcomes(server)] == ["transient_error"] * (MAX_RETRIES + 1)
    assert fake_cloud.create_calls == MAX_RETRIES + 1
    assert len(alerts()) == 1


def test_the_retry_budget_backs_off_with_jitter_to_about_an_hour():
    waits = [retry_countdown(n) for n in range(MAX_RETRIES)]
    assert waits[0] >= 15 and waits[1] >= 30
    assert all(wait <= PROVISIONING_RETRIES.cap_seconds * 1.25 for wait in waits)
    assert 40 * 60 <= sum(waits) <= 60 * 60


def test_an_unknown_provider_fails_the_server_with_the_reason(settings, paid_order, django_capture_on_commit_callbacks):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "no-such-cloud"
    server = provisioned(paid_order, django_capture_on_commit_callbacks)
    assert server.status == "failed" and "Unknown LIBCLOUD_PROVIDER 'no-such-cloud'" in server.last_error
    assert Server.objects.filter(order=paid_order).count() == 1
