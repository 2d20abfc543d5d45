"""A resize through the Libcloud backend: the driver's resize where it has one, a permanent
failure naming the provider where it has none (only the cloud driver is a stand-in)."""

import pytest
from django.core import mail
from django.db import transaction
from libcloud.common.types import LibcloudError

from billing.factories import HostingPlanFactory
from lifecycle.tests.conftest import active_server
from servers.models import PlanChange, Server
from servers.operations import operation_run, resize_decide, server_locked
from servers.services import server_spec

from .fake_cloud import FakeCloudDriver, fake_cloud_register, resizable_fake_cloud_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def g4(db):
    return HostingPlanFactory(slug="g-4gb", name="G.4GB", price_paise=112000, vcpu=2, ram_gb=4, disk_gb=80)


@pytest.fixture
def server(alice, g4):
    return active_server(alice, g4)


def on_provider(settings, server, provider, register):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = provider
    settings.LIBCLOUD_KEY = "test-key"
    driver = register()
    node = driver.add_node(server_spec(server).node_name)
    Server.objects.filter(pk=server.pk).update(provider_node_id=node.id)
    return driver


def resize_to(server, plan):
    """What a paid upgrade does: move the plan, queue the resize (under the server's lock)."""
    with transaction.atomic():
        locked = server_locked(server.pk)
        previous = locked.plan
        Server.objects.filter(pk=server.pk).update(plan=plan)
        locked.plan = plan
        return resize_decide(locked, to_plan=plan, from_plan=previous, source="test")


def test_a_driver_that_can_resize_is_asked_to_with_the_plans_size(settings, server, plan):
    on_provider(settings, server, "fake-cloud-resizable", resizable_fake_cloud_register)
    operation = operation_run(resize_to(server, plan).pk)
    assert operation.status == "succeeded"
    [call] = [c for c in FakeCloudDriver.action_calls if c[0] == "ex_resize_node"]
    assert call[2] == "4"  # the dummy provider's smallest size with 8 GB RAM
    server.refresh_from_db()
    assert (server.plan_id, server.status) == (plan.pk, "active")


def test_a_resize_the_provider_refuses_for_now_is_retried(settings, server, plan):
    on_provider(settings, server, "fake-cloud-resizable", resizable_fake_cloud_register)
    FakeCloudDriver.action_failures["ex_resize_node"] = [LibcloudError("503 busy")]
    operation = resize_to(server, plan)
    with pytest.raises(Exception, match="busy"):
        operation_run(operation.pk)
    operation.refresh_from_db()
    assert operation.status == "queued"
    assert operation_run(operation.pk).status == "succeeded"


def test_a_provider_without_resize_fails_for_good_names_the_provider_alerts_once_and_moves_the_plan_back(
    settings, server, plan, g4, alert_recipients, django_capture_on_commit_callbacks
):
    on_provider(settings, server, "fake-cloud", fake_cloud_register)
    operation = resize_to(server, plan)
    with django_capture_on_commit_callbacks(execute=True):
        operation = operation_run(operation.pk)
    assert operation.status == "failed"
    assert "'fake-cloud' provider" in operation.last_error
    server.refresh_from_db()
    assert (server.plan_id, server.status) == (g4.pk, "active")
    assert list(PlanChange.objects.filter(server=server).values_list("kind", flat=True)) == ["resize_failed"]
    alerts = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    assert len(alerts) == 1
    assert "fake-cloud" in alerts[0].body and "back on G.4GB" in alerts[0].body
