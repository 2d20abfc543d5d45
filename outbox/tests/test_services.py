"""The outbox: a mail is a row written with its cause, sent once per cause, never lost."""

import socket
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from alerts.models import Incident
from core.claims import MAIL_RETRIES
from outbox.models import OutboundMail
from outbox.services import mail_deliver, mail_queue, outbox_sweep

MAX_ATTEMPTS = MAIL_RETRIES.max_attempts

pytestmark = pytest.mark.django_db


def queue(cause="test:1", **kwargs):
    return mail_queue(cause, to=["alice@example.com"], subject="Hello", body="Body", **kwargs)


@pytest.fixture
def smtp_refusing(settings):
    """A real SMTP backend pointed at a port where nothing listens: every send fails."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1


@pytest.fixture
def smtp_silent(settings):
    """A mail server that accepts the connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", listener.getsockname()[1]
    settings.EMAIL_TIMEOUT = 1
    yield
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_cause_queued_twice_sends_one_mail(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue()
        second = queue()
    assert first is not None and second is None
    [row] = OutboundMail.objects.all()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and message.subject == "Hello"


def test_a_rolled_back_cause_leaves_no_mail(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            queue()
            raise RuntimeError("the cause failed")
    assert callbacks == [] and mail.outbox == []
    assert not OutboundMail.objects.exists()


def test_a_mail_whose_task_never_reached_the_broker_is_sent_once_by_the_sweeper(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queue()
    row = OutboundMail.objects.get()
    assert row.status == "queued" and mail.outbox == []
    # Not yet: its task may still be on its way.
    assert outbox_sweep(now=timezone.now()) == {}
    later = timezone.now() + timedelta(minutes=2)
    assert outbox_sweep(now=later) == {"sent": 1}
    assert outbox_sweep(now=later + timedelta(minutes=5)) == {}
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1


def test_a_refused_delivery_is_retried_with_backoff_until_it_is_sent(smtp_refusing, settings):
    queue()
    row = OutboundMail.objects.get()
    assert mail_deliver(row.pk, first_attempt=True) == "retry"
    row.refresh_from_db()
    assert row.status == "queued" and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert outbox_sweep(now=row.next_attempt_at - timedelta(seconds=1)) == {}, "retried before its backoff"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the mail server is back
    assert outbox_sweep(now=row.next_attempt_at) == {"sent": 1}
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2 and row.last_error == ""
    assert len(mail.outbox) == 1


def test_a_mail_server_that_never_answers_holds_the_sender_for_email_timeout_only(smtp_silent):
    queue()
    row = OutboundMail.objects.get()
    started = timezone.now()
    assert mail_deliver(row.pk, first_attempt=True) == "retry"
    assert timezone.now() - started < timedelta(seconds=5)
    row.refresh_from_db()
    assert "timed out" in row.last_error.lower() or "Timeout" in row.last_error


def test_out_of_attempts_the_mail_is_failed_staff_are_alerted_and_staff_can_queue_it_again(
    smtp_refusing, settings, staff
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    queue()
    row = OutboundMail.objects.get()
    now = timezone.now()
    outcomes = [mail_deliver(row.pk, first_attempt=True, now=now)]
    for attempt in range(1, MAX_ATTEMPTS):
        now += timedelta(seconds=MAIL_RETRIES.delay_seconds(attempt))
        outcomes.append(mail_deliver(row.pk, now=now))
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    incident = Incident.objects.get(key=f"mail-failed:{row.pk}")
    assert "alice@example.com" in incident.title
    # The alert's own mail is in the outbox (and fails here too, without alerting about itself).
    alert = OutboundMail.objects.get(cause_key=f"incident:{incident.pk}:opened")
    assert alert.to == ["ops@example.com"]

    client = Client()
    client.force_login(staff)
    page = client.get("/admin/outbox/outboundmail/?status=failed")
    assert page.status_code == 200 and b"test:1" in page.content
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(
        "/admin/outbox/outboundmail/", {"action": "retry_failed", "_selected_action": [row.pk]}, follow=True
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == "queued" and row.attempts == 0
    assert outbox_sweep(now=timezone.now() + timedelta(seconds=1)).get("sent") >= 1
    assert [m.subject for m in mail.outbox if m.to == ["alice@example.com"]] == ["Hello"]


def test_a_sender_that_died_mid_send_is_taken_over_only_after_its_lease(django_capture_on_commit_callbacks):
    queue()
    row = OutboundMail.objects.get()
    now = timezone.now()
    # A sender claimed it and died (the row says sending, with a lease).
    OutboundMail.objects.filter(pk=row.pk).update(status="sending", attempts=1, lease_until=now + timedelta(minutes=2))
    assert mail_deliver(row.pk, first_attempt=True) == "skipped"
    assert outbox_sweep(now=now + timedelta(minutes=1)) == {}
    assert outbox_sweep(now=now + timedelta(minutes=3)) == {"sent": 1}
    assert len(mail.outbox) == 1


def test_a_mail_with_no_recipient_is_not_written():
    assert mail_queue("test:nobody", to=["", None], subject="s", body="b") is None
    assert not OutboundMail.objects.exists()
