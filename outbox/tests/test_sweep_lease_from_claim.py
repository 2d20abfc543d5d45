"""A sweep used to stamp every claim's lease from the moment the sweep *started*.
A sweep of SWEEP_BATCH mails over a slow mail server (EMAIL_TIMEOUT 10 s each) runs for
minutes, so a mail it reaches late is claimed with a lease that has already expired, and
the next minute's sweep (beat starts one every 60 s) takes it over while it is on the
wire: the customer got it twice. The renewal receipt rides the
sweeper only, so it is the mail most exposed to this.

The second sweep is run from inside the first send by a mail backend (Django's own
EMAIL_BACKEND setting): the moment at which the later sweep reaches the mail."""

from datetime import timedelta

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from outbox.models import OutboundMail
from outbox.services import outbox_sweep

SENT = []


class SlowServerBackend(BaseEmailBackend):
    """Records each message; while the first is "on the wire", the next sweep runs."""

    def send_messages(self, messages):
        for message in messages:
            SENT.append(message.subject)
            if len(SENT) == 1:
                outbox_sweep(now=timezone.now())  # the sweep beat started a minute later
        return len(messages)


@pytest.mark.django_db
def test_a_mail_claimed_late_in_a_long_sweep_is_not_sent_twice(settings):
    settings.EMAIL_BACKEND = "outbox.tests.test_sweep_lease_from_claim.SlowServerBackend"
    SENT.clear()
    started = timezone.now() - timedelta(minutes=5)  # a long sweep, reaching this mail only now
    OutboundMail.objects.create(
        cause_key="payment-received:review", to=["alice@example.com"], subject="Payment received for renewal",
        body="b", next_attempt_at=started - timedelta(minutes=1),
    )  # fmt: skip

    outbox_sweep(now=started)

    assert SENT == ["Payment received for renewal"], SENT
