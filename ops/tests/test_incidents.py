"""Detectors and the periodic task: one alert per problem, one when it is gone."""

import pytest
from django.core import mail

from alerts.models import Incident
from billing.factories import OrderFactory, WebhookEventFactory
from conftest import periodic_job_interval_passes
from ops.incidents import incidents_sync
from ops.recovery import recover
from ops.tasks import watch_and_recover
from servers.models import Server

from .conftest import stuck_server


@pytest.fixture(autouse=True)
def alert_recipients(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.SITE_URL = "https://portal.example.com"


def alerts_about(text):
    """Alerts to staff only: a recovered order's customer also hears from us, with the first provisioning attempt."""
    return [m for m in mail.outbox if m.to == ["ops@example.com"] and text in m.subject + m.body]


@pytest.mark.django_db
def test_an_orphaned_order_is_alerted_once_however_often_the_detector_runs(orphan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incidents_sync()
        incidents_sync()
    sent = alerts_about(orphan.number)
    assert len(sent) == 1
    body = sent[0].body
    assert "alice@example.com" in body and "₹2,643.20" in body and "2\xa0hours" in body
    assert "https://portal.example.com/admin/orphaned-orders/" in body
    assert Incident.objects.filter(key=f"orphaned-order:{orphan.number}", resolved_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_a_recovered_order_resolves_its_incident_and_says_so(orphan, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incidents_sync()
        recover(source="admin", actor=staff)
        result = incidents_sync()
    assert result["resolved"] == [f"orphaned-order:{orphan.number}"]
    incident = Incident.objects.get(key=f"orphaned-order:{orphan.number}")
    assert incident.resolved_at is not None
    sent = alerts_about(orphan.number)
    assert len(sent) == 2
    server = Server.objects.get(order=orphan)
    assert f"Recovered: order {orphan.number} now has server #{server.pk}" in sent[1].body
    assert "recovered by admin" in sent[1].body


@pytest.mark.django_db
def test_every_kind_of_problem_gets_its_own_incident(orphan, bob):
    failed = stuck_server(status="failed")
    mismatch = OrderFactory(user=bob, needs_attention=True, attention_reason="captured 100 paise")
    event = WebhookEventFactory(status="failed", error="boom")
    handled = OrderFactory(user=bob, needs_attention=True, attention_reason="old")
    handled.handled_at = handled.created_at
    handled.save()
    result = incidents_sync()
    assert result["open"] == sorted(
        [
            f"orphaned-order:{orphan.number}",
            f"stuck-server:{failed.pk}",
            f"amount-mismatch:{mismatch.number}",
            f"webhook-failed:{event.event_id}",
        ]
    )


@pytest.mark.django_db
def test_incidents_of_other_kinds_are_left_alone(orphan):
    from alerts.factories import IncidentFactory

    other = IncidentFactory(key="disk-full:db1")
    incidents_sync()
    other.refresh_from_db()
    assert other.resolved_at is None


@pytest.mark.django_db
def test_the_periodic_task_alerts_repairs_and_resolves(orphan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = watch_and_recover()
    server = Server.objects.get(order=orphan)
    assert result["created"] == [{"order": orphan.number, "server": server.pk}]
    assert Incident.objects.get(key=f"orphaned-order:{orphan.number}").resolved_at is not None
    sent = alerts_about(orphan.number)
    assert len(sent) == 2 and "recovered by periodic" in sent[1].body

    periodic_job_interval_passes("ops-watch-and-recover")  # five minutes later
    with django_capture_on_commit_callbacks(execute=True):
        again = watch_and_recover()
    assert "skipped" not in again and again["created"] == []
    assert Server.objects.filter(order=orphan).count() == 1
    assert len(alerts_about(orphan.number)) == 2


@pytest.mark.django_db
def test_the_periodic_task_alerts_on_a_failed_server_but_leaves_it_to_a_human():
    server = stuck_server(status="failed")
    watch_and_recover()
    server.refresh_from_db()
    assert server.status == "failed"
    assert Incident.objects.filter(key=f"stuck-server:{server.pk}", resolved_at__isnull=True).exists()
