"""Issue 23 item 15: reminders are swept like mail. A reminder whose hand-off to the worker
was lost (the broker down at commit) waited for the next hourly run_billing, and then ten
minutes more; failed on the code before (there was no per-minute reminder sweep)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hostingportal.schedule import BEAT_SCHEDULE
from lifecycle.models import Reminder
from lifecycle.reminders import reminders_record, reminders_sweep
from outbox.models import OutboundMail

pytestmark = pytest.mark.django_db


def test_a_reminder_whose_hand_off_was_lost_is_handed_to_the_outbox_by_the_next_minute_sweep(
    server, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [reminder_id] = reminders_record([server], Reminder.Kind.SUSPENDED)  # its publish fails
    assert Reminder.objects.get(pk=reminder_id).sent_at is None

    assert reminders_sweep(now=timezone.now()) == 0  # its task may still run: not yet
    assert reminders_sweep(now=timezone.now() + timedelta(minutes=3)) == 1
    assert Reminder.objects.get(pk=reminder_id).sent_at is not None
    assert OutboundMail.objects.filter(cause_key=f"reminder:{reminder_id}").count() == 1
    assert reminders_sweep(now=timezone.now() + timedelta(minutes=4)) == 0


def test_the_reminder_sweep_runs_every_minute():
    entry = BEAT_SCHEDULE["lifecycle-sweep-reminders"]
    assert (entry["task"], entry["schedule"]) == ("lifecycle.tasks.sweep_reminders", 60.0)
