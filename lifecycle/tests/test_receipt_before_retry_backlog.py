"""A renewal's receipt is sent only by the outbox
sweeper, "due at once, within a minute". The sweeper took SWEEP_BATCH (50) due mails,
oldest next_attempt_at first, so a backlog of retries due earlier (after a mail
server outage, say) goes before it: the receipt waits a sweep per 50 mails of backlog,
where before it had its own task and went at once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from lifecycle.renewals import renewal_issue
from outbox.models import OutboundMail
from outbox.services import SWEEP_BATCH, outbox_sweep

from .conftest import verify_payment

pytestmark = pytest.mark.django_db


def test_a_renewal_receipt_goes_out_with_the_next_sweep_despite_a_retry_backlog(
    api, server, fake_razorpay, django_capture_on_commit_callbacks
):
    earlier = timezone.now() - timedelta(minutes=2)
    OutboundMail.objects.bulk_create(
        OutboundMail(cause_key=f"retry:{n}", to=["x@example.com"], subject=f"retry {n}", body="b",
                     attempts=1, next_attempt_at=earlier)
        for n in range(SWEEP_BATCH)
    )  # fmt: skip
    renewal = renewal_issue(server.pk, source="test")
    with django_capture_on_commit_callbacks(execute=True):
        verify_payment(api, fake_razorpay, renewal)

    outbox_sweep(now=timezone.now())  # the next sweep, within a minute

    subject = f"Payment received for renewal {renewal.number}"
    assert [m.subject for m in mail.outbox if m.subject == subject] == [subject]
