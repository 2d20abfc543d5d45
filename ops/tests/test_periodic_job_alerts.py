"""A periodic job that fails, hangs or stops running opens an incident.

The lease guard (core.periodic) keeps every copy of a job out while one run holds
its lease, so a hung run, a job that fails every time, or no beat at all would
otherwise pass unseen: the admin listing shows it only to someone who looks."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alerts.models import Incident
from core.models import PeriodicJob
from core.periodic import periodic_job_finish, periodic_job_start
from ops.incidents import incidents_sync

SWEEP = "outbox-sweep"  # every 60 s in hostingportal/schedule.py
BILLING = "lifecycle-run-billing"  # every hour


@pytest.fixture(autouse=True)
def alert_recipients(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.SITE_URL = "https://portal.example.com"


def job(name, *, started, outcome=PeriodicJob.Outcome.SUCCEEDED, lease_until=None, error=""):
    return PeriodicJob.objects.create(
        name=name,
        last_started_at=started,
        last_finished_at=None if outcome == PeriodicJob.Outcome.RUNNING else started + timedelta(seconds=1),
        last_outcome=outcome,
        lease_until=lease_until,
        holder="node1 pid 42",
        runs=3,
        last_error=error,
    )


def open_keys():
    return sorted(Incident.objects.filter(resolved_at__isnull=True).values_list("key", flat=True))


@pytest.mark.django_db
def test_jobs_running_on_time_open_nothing():
    now = timezone.now()
    job(SWEEP, started=now - timedelta(seconds=50))
    job(BILLING, started=now - timedelta(minutes=20), outcome=PeriodicJob.Outcome.RUNNING, lease_until=now)
    assert incidents_sync(now=now)["open"] == []


@pytest.mark.django_db
def test_a_failed_run_is_alerted_with_its_error_and_resolved_by_the_next_good_run(django_capture_on_commit_callbacks):
    now = timezone.now()
    run = periodic_job_start(BILLING, gap_seconds=1800, lease_seconds=90, holder="node1 pid 42", now=now)
    periodic_job_finish(BILLING, run, PeriodicJob.Outcome.FAILED, error="OperationalError: the database went away")
    with django_capture_on_commit_callbacks(execute=True):
        assert incidents_sync(now=now)["open"] == [f"periodic-job:{BILLING}"]
    alert = [m for m in mail.outbox if m.to == ["ops@example.com"]][-1]
    assert f"Periodic job {BILLING} failed" in alert.subject
    assert "OperationalError: the database went away" in alert.body

    later = now + timedelta(hours=1)
    run = periodic_job_start(BILLING, gap_seconds=1800, lease_seconds=90, holder="node2 pid 7", now=later)
    periodic_job_finish(BILLING, run, PeriodicJob.Outcome.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        assert incidents_sync(now=later)["resolved"] == [f"periodic-job:{BILLING}"]
    resolved = [m for m in mail.outbox if m.to == ["ops@example.com"]][-1]
    assert "succeeded" in resolved.body


@pytest.mark.django_db
def test_a_run_still_renewing_its_lease_after_half_an_hour_is_alerted_as_hung():
    now = timezone.now()
    job(
        BILLING,
        started=now - timedelta(minutes=31),
        outcome=PeriodicJob.Outcome.RUNNING,
        lease_until=now + timedelta(seconds=60),
    )
    assert incidents_sync(now=now)["open"] == [f"periodic-job:{BILLING}"]
    incident = Incident.objects.get(key=f"periodic-job:{BILLING}")
    assert "has been running for 31" in incident.title
    assert "node1 pid 42" in incident.detail


@pytest.mark.django_db
def test_a_job_nobody_ran_for_two_intervals_and_ten_minutes_is_alerted():
    """No beat sending it, or no worker on its queue: nothing else would notice."""
    now = timezone.now()
    job(SWEEP, started=now - timedelta(minutes=13))  # every minute: 2 min + 10 min have passed
    job(BILLING, started=now - timedelta(hours=2, minutes=5))  # hourly: inside 2 h + 10 min
    assert incidents_sync(now=now)["open"] == [f"periodic-job:{SWEEP}"]
    assert "has not run for 13" in Incident.objects.get(key=f"periodic-job:{SWEEP}").title


@pytest.mark.django_db
def test_an_entry_staff_paused_is_not_alerted():
    now = timezone.now()
    job(SWEEP, started=now - timedelta(hours=3))
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name=SWEEP, defaults={"task": "outbox.tasks.sweep_outbox", "interval": every_minute, "enabled": False}
    )
    assert incidents_sync(now=now)["open"] == []
    assert open_keys() == []
