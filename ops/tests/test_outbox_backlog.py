"""Issue 23 item 14: a big outbox backlog is an incident (one, resolved once drained).
Failed on the code before: no detector looked at the outbox."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Incident
from ops.incidents import OUTBOX_BACKLOG_KEY, incidents_sync
from outbox.models import OutboundMail
from outbox.services import outbox_sweep

pytestmark = pytest.mark.django_db


def test_a_big_backlog_of_due_mail_is_one_incident_until_the_sweep_has_drained_it(settings):
    settings.OUTBOX_BACKLOG_ALERT_COUNT = 20
    settings.ALERT_EMAILS = ["ops@example.com"]
    now = timezone.now()
    OutboundMail.objects.bulk_create(
        [
            OutboundMail(cause_key=f"backlog:{n}", to=["c@example.com"], subject="s", body="b", attempts=1,
                         next_attempt_at=now - timedelta(minutes=20))
            for n in range(25)
        ]
    )  # fmt: skip
    assert OUTBOX_BACKLOG_KEY in incidents_sync(now)["open"]
    incidents_sync(now)
    [incident] = Incident.objects.filter(key=OUTBOX_BACKLOG_KEY)
    assert "25 outgoing mails are due" in incident.detail and "20\xa0minutes" in incident.detail

    outbox_sweep(now=now)
    assert OUTBOX_BACKLOG_KEY in incidents_sync(now)["resolved"]
    incident.refresh_from_db()
    assert incident.resolved_at is not None


def test_a_few_due_mails_are_no_incident(settings):
    settings.OUTBOX_BACKLOG_ALERT_COUNT = 20
    OutboundMail.objects.create(cause_key="one", to=["c@example.com"], subject="s", body="b")
    assert OUTBOX_BACKLOG_KEY not in incidents_sync(timezone.now() + timedelta(minutes=5))["open"]
