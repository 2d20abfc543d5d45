"""Celery tasks of the lifecycle. Thin: call a service."""

from celery import shared_task

from core.periodic import periodic_job

from .billing_day import billing_run
from .reminders import reminder_send, reminders_sweep


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_reminders(reminder_ids):
    for reminder_id in reminder_ids:
        reminder_send(reminder_id)


@shared_task
@periodic_job
def run_billing():
    """Hourly (beat): one pass of the billing day, as `manage.py run_billing`."""
    return billing_run().as_json()


@shared_task
@periodic_job
def sweep_reminders():
    """Every minute: reminders whose hand-off to the worker was lost (see reminders_sweep)."""
    return reminders_sweep()
