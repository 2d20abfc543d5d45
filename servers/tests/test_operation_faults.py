"""Reproductions from issue 23 (items 7 and "a fresh retry budget at each takeover"),
each failing on the code before its fix."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from libcloud.common.types import InvalidCredsError

from alerts.models import Incident
from core.claims import OPERATION_RETRIES, PROVISIONING_RETRIES
from lifecycle.billing_day import billing_run
from lifecycle.tests.conftest import active_server
from ops.recovery import stuck_server_requeue
from servers.models import ProvisioningAttempt, Server, ServerOperation
from servers.operations import operation_claim, operation_retry
from servers.provisioning import get_backend
from servers.services import provisioning_claim, server_spec

from .conftest import server_for
from .fake_cloud import fake_cloud_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(alice, plan):
    return active_server(alice, plan)


@pytest.fixture
def cloud(settings, server):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "fake-cloud"
    settings.LIBCLOUD_KEY = "test-key"
    driver = fake_cloud_register()
    node = driver.add_node(server_spec(server).node_name)
    server.provider_node_id = node.id
    server.save(update_fields=["provider_node_id"])
    return driver


def operation_incidents():
    return Incident.objects.filter(key__startswith="server-operation:")


def test_a_destroy_that_failed_for_good_waits_for_staffs_retry_with_one_incident(
    cloud, server, staff, alert_recipients, settings, django_capture_on_commit_callbacks
):
    # Reproduction (item 7): every hourly run_billing decided the destroy again, with a new incident.
    overdue = timezone.now() - timedelta(days=settings.TERMINATE_AFTER_DAYS + 1)
    Server.objects.filter(pk=server.pk).update(paid_until=overdue)
    cloud.action_failures["destroy_node"] = [InvalidCredsError("bad key") for _ in range(10)]
    with django_capture_on_commit_callbacks(execute=True):
        first = billing_run()
    assert first.terminated == [server.pk]
    [failed] = ServerOperation.objects.filter(server=server, purpose="terminate")
    assert failed.status == "failed"

    for hours in (1, 2, 3):
        with django_capture_on_commit_callbacks(execute=True):
            report = billing_run(now=timezone.now() + timedelta(hours=hours))
        assert report.terminated == [], f"decided again {hours} hour(s) later"
    assert ServerOperation.objects.filter(server=server, purpose="terminate").count() == 1
    assert operation_incidents().count() == 1
    alert_subjects = [m.subject for m in mail.outbox if m.to == ["ops@example.com"]]
    assert len(alert_subjects) == 1

    # Staff retry once the provider's key is fixed: the machine goes, the incident is resolved.
    cloud.action_failures.clear()
    with django_capture_on_commit_callbacks(execute=True):
        retried = operation_retry(failed.pk, actor=staff)
    retried.refresh_from_db()
    server.refresh_from_db()
    assert (retried.status, server.status) == ("succeeded", "terminated")
    [incident] = operation_incidents()
    assert incident.resolved_at is not None


def test_an_operation_whose_worker_keeps_dying_fails_once_its_attempts_are_spent(server, alert_recipients):
    # Reproduction ("a fresh retry budget at each takeover"): each takeover was one more try, for ever.
    operation = ServerOperation.objects.create(server=server, action="stop", purpose="suspend", source="test")
    now = timezone.now()
    for number in range(1, OPERATION_RETRIES.max_attempts + 1):
        claimed = operation_claim(operation.pk, now=now)
        assert claimed is not None and claimed.attempts == number
        now = claimed.lease_until + timedelta(seconds=1)  # its worker died: the lease ran out
    assert operation_claim(operation.pk, now=now) is None
    operation.refresh_from_db()
    assert operation.status == "failed" and "worker was lost" in operation.last_error
    assert operation.attempts == OPERATION_RETRIES.max_attempts
    assert operation_incidents().count() == 1


def test_a_server_whose_worker_keeps_dying_fails_once_its_attempts_are_spent_and_a_requeue_starts_afresh(
    paid_order, alert_recipients
):
    server = server_for(paid_order)
    backend = get_backend()
    now = timezone.now()
    for number in range(1, PROVISIONING_RETRIES.max_attempts + 1):
        claimed, attempt = provisioning_claim(server.pk, backend, now=now)
        assert attempt is not None and attempt.number == number
        now = attempt.lease_until + timedelta(seconds=1)  # its worker died: the lease ran out
    assert provisioning_claim(server.pk, backend, now=now) == (None, None)
    server.refresh_from_db()
    assert server.status == "failed" and "worker was lost" in server.last_error
    outcomes = set(ProvisioningAttempt.objects.filter(server=server).values_list("outcome", flat=True))
    assert outcomes == {"lease_expired"}
    assert Incident.objects.filter(key=f"stuck-server:{server.pk}").count() == 1

    # Staff (or recovery) requeue the failed server: a fresh budget.
    assert stuck_server_requeue(server.pk, source="admin", now=now)
    claimed, attempt = provisioning_claim(server.pk, backend, now=now)
    assert attempt is not None and attempt.number == PROVISIONING_RETRIES.max_attempts + 1
