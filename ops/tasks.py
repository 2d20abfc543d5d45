"""Periodic safety nets (scheduled by ops.schedule.BEAT_SCHEDULE). Thin: each calls one service,
once per gap however many beats send it (core.periodic)."""

import logging

from celery import shared_task
from django.utils import timezone

from core.periodic import periodic_job
from ops.audit import ledger_audit, month_just_closed
from payments.reconcile import PERIODIC_SINCE_HOURS, payments_reconcile
from payments.webhooks import webhook_events_retry

from .incidents import incidents_sync
from .recovery import recover

logger = logging.getLogger("ops.tasks")


@shared_task
@periodic_job
def retry_webhook_events():
    """Every minute: reprocess stored webhook deliveries that failed or were never processed."""
    return webhook_events_retry()


@shared_task
@periodic_job
def watch_and_recover():
    """Every 5 minutes: alert on every problem, repair orphaned orders, then
    resolve what the repair fixed. Stuck servers are alerted, not retried here:
    a server that keeps failing needs a human, not a loop."""
    incidents_sync()
    report = recover(source="periodic", include_stuck=False)
    if report.created:
        incidents_sync()
    return report.as_json()


@shared_task
@periodic_job
def reconcile_recent_payments():
    """Every 15 minutes: ask Razorpay about the orders still awaiting payment
    within the capture window whose next look is due (payments.reconcile's
    budget), and once more about those just past it."""
    return payments_reconcile(since_hours=PERIODIC_SINCE_HOURS, budget=True).as_json()


@shared_task
@periodic_job
def audit_ledger_daily():
    """Once a day: the ledger audit over every paid or refunded order; each
    problem opens an incident (alert), each one gone resolves it; with the monthly
    pass over the month just closed (its GSTR-1 against its documents)."""
    return ledger_audit(monthly_for=month_just_closed(timezone.localdate())).as_json()
