"""Issue 23 item 14: after a mail outage the sweep drains what is due until done (bounded
by time, not by one batch), never-tried mail first. Failed on the code before: one sweep
sent SWEEP_BATCH (50) mails a minute, so 4,000 failed mails took 80 minutes."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from outbox.models import OutboundMail
from outbox.services import SWEEP_BATCH, outbox_sweep

pytestmark = pytest.mark.django_db


def retry_backlog(count, now):
    """Mails that failed once during the outage and are due again."""
    OutboundMail.objects.bulk_create(
        [
            OutboundMail(
                cause_key=f"backlog:{n}", to=["customer@example.com"], subject=f"Backlog {n}", body="b",
                attempts=1, next_attempt_at=now - timedelta(minutes=30) + timedelta(seconds=n),
            )
            for n in range(count)
        ]
    )  # fmt: skip


def test_one_sweep_drains_a_backlog_of_several_batches_and_sends_the_never_tried_receipt_first():
    now = timezone.now()
    backlog = SWEEP_BATCH * 3 + 7
    retry_backlog(backlog, now)
    OutboundMail.objects.create(
        cause_key="receipt:1", to=["payer@example.com"], subject="Payment received", body="b", next_attempt_at=now
    )
    assert outbox_sweep(now=now) == {"sent": backlog + 1}
    assert mail.outbox[0].subject == "Payment received"
    assert not OutboundMail.objects.exclude(status="sent").exists()
    assert outbox_sweep(now=now) == {}


def test_a_sweep_stops_at_its_time_budget_and_leaves_the_rest_due():
    now = timezone.now()
    retry_backlog(SWEEP_BATCH + 5, now)
    assert outbox_sweep(now=now, seconds=0) == {}
    assert OutboundMail.objects.filter(status="queued").count() == SWEEP_BATCH + 5
