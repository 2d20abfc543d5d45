"""Incidents: one alert when a problem opens, one when it resolves, and every failure to tell someone is kept."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from alerts.models import Incident
from alerts.services import alert_webhook_send, incident_open, incident_resolve

pytestmark = pytest.mark.django_db


class WebhookReceiver:
    """A local Slack/Discord-style incoming webhook that records what it is sent."""

    def __init__(self, status=200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Content-Type"], json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        # Polled every 20 ms for shutdown(), which waits for the next poll (0.5 s by default).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def channels(settings):
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    settings.ALERT_WEBHOOK_URL = ""


def test_an_incident_opened_twice_alerts_once(channels, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = incident_open("orphaned-order:ORD-AAAAAAAAAA", "Paid order has no server", "Order: ORD-AAAAAAAAAA")
        second = incident_open("orphaned-order:ORD-AAAAAAAAAA", "Paid order has no server", "Order: ORD-AAAAAAAAAA")
    assert first is not None and second is None
    assert Incident.objects.filter(key="orphaned-order:ORD-AAAAAAAAAA").count() == 1
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "oncall@example.com"]
    assert message.subject == "[ALERT] Paid order has no server"
    first.refresh_from_db()
    assert first.notified_at is not None and first.notify_error == ""


def test_the_link_is_added_to_the_alert_once(channels, django_capture_on_commit_callbacks):
    link = "https://portal.example.com/admin/orphaned-orders/"
    with django_capture_on_commit_callbacks(execute=True):
        incident_open("a", "A", "detail", link=link)
        incident_open("b", "B", f"detail\nDashboard: {link}", link=link)
    assert [m.body.count(link) for m in mail.outbox] == [1, 1]


def test_resolving_sends_one_resolved_message_and_a_recurrence_alerts_again(
    channels, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident_open("stuck-server:7", "Server #7 stuck", "detail")
        resolved = incident_resolve("stuck-server:7", "Server #7 is now active.")
        assert incident_resolve("stuck-server:7", "again") is None
    assert resolved.resolved_at is not None
    assert [m.subject for m in mail.outbox] == ["[ALERT] Server #7 stuck", "[RESOLVED] Server #7 stuck"]
    assert "Server #7 is now active." in mail.outbox[1].body

    with django_capture_on_commit_callbacks(execute=True):
        assert incident_open("stuck-server:7", "Server #7 stuck", "detail") is not None
    assert len(mail.outbox) == 3
    assert Incident.objects.filter(key="stuck-server:7").count() == 2


def test_the_webhook_channel_posts_slack_and_discord_compatible_json(settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = []
    with WebhookReceiver() as hook:
        settings.ALERT_WEBHOOK_URL = hook.url
        with django_capture_on_commit_callbacks(execute=True):
            incident = incident_open("webhook-failed:evt_1", "Webhook evt_1 failed", "Error: boom")
    [(content_type, payload)] = hook.received
    assert content_type == "application/json"
    assert payload["text"] == payload["content"]
    assert "Webhook evt_1 failed" in payload["text"] and "Error: boom" in payload["text"]
    incident.refresh_from_db()
    assert incident.notified_at is not None


def test_a_failing_channel_is_recorded_on_the_incident_and_the_others_still_deliver(
    settings, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    with WebhookReceiver(status=500) as hook:
        settings.ALERT_WEBHOOK_URL = hook.url
        with django_capture_on_commit_callbacks(execute=True):
            incident = incident_open("disk-full:db1", "Disk full", "db1 at 99%")
    assert len(hook.received) == 1 and len(mail.outbox) == 1
    incident.refresh_from_db()
    assert incident.notified_at is None
    assert "webhook: HTTPError" in incident.notify_error and "500" in incident.notify_error


def test_an_unreachable_webhook_does_not_break_the_caller(settings):
    settings.ALERT_EMAILS = []
    with WebhookReceiver() as hook:
        url = hook.url
    settings.ALERT_WEBHOOK_URL = url  # the receiver is gone: connection refused
    errors = alert_webhook_send("subject", "body")
    assert len(errors) == 1 and errors[0].startswith("webhook: ConnectionError")


def test_with_no_channel_configured_the_failure_is_recorded_not_dropped(settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = []
    settings.ALERT_WEBHOOK_URL = ""
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_open("k", "Title", "detail")
    incident.refresh_from_db()
    assert "no alert channel configured" in incident.notify_error


def test_alerts_still_go_out_when_the_broker_is_down(channels, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident_open("broker:down", "Broker unreachable", "detail")
    assert [m.subject for m in mail.outbox] == ["[ALERT] Broker unreachable"]


def test_nothing_is_sent_when_the_callers_transaction_rolls_back(channels, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            incident_open("x", "X", "detail")
            raise RuntimeError("caller failed")
    assert callbacks == [] and mail.outbox == []
    assert not Incident.objects.filter(key="x").exists()
