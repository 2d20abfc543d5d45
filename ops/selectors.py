"""What needs a human (or the recovery service): each list is one query.

Orphaned orders use the Order(status, paid_at) index and an anti-join on the
server's unique order_id; stuck servers come from servers.selectors, which uses
Server(status, waiting_since) and Server(status, status_changed_at).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.timesince import timesince
from django_celery_beat.models import PeriodicTask

from billing.models import Order, WebhookEvent
from core.models import PeriodicJob
from core.periodic import schedule_intervals
from lifecycle.autopay.selectors import debits_failed_this_week
from servers.models import Server
from servers.selectors import failed_operations, operations_overdue
from servers.selectors import stuck_servers as servers_stuck


def orphaned_orders():
    """Paid `new` orders with no server (CONTRACT: Statuses), oldest payment first;
    a renewal extends a server and never has one of its own.
    NOT EXISTS, not a LEFT JOIN ... IS NULL: PostgreSQL plans it as an anti-join."""
    return (
        Order.objects.filter(status=Order.Status.PAID, kind=Order.Kind.NEW)
        .filter(~Exists(Server.objects.filter(order_id=OuterRef("pk"))))
        .select_related("user")
        .order_by("paid_at", "id")
    )


def orphaned_orders_first(limit):
    """(how many orphaned orders, the oldest `limit` of them with payments), in three
    queries whatever the table size. The anti-join runs once without ORDER BY/LIMIT,
    which PostgreSQL would otherwise serve by probing every paid order in turn."""
    keys = sorted(orphaned_orders().select_related(None).values_list("paid_at", "pk"), key=sort_key)
    first = [pk for _, pk in keys[:limit]]
    rows = Order.objects.filter(pk__in=first).select_related("user").prefetch_related("payments")
    return len(keys), sorted(rows, key=lambda order: sort_key((order.paid_at, order.pk)))


def sort_key(paid_at_and_pk):
    paid_at, pk = paid_at_and_pk
    return (paid_at is None, paid_at, pk)


def stuck_servers(now=None):
    """Servers pending/provisioning for more than STUCK_SERVER_MINUTES, or failed,
    oldest first, with order and customer (servers.selectors owns the definition)."""
    return servers_stuck(now=now)


def amount_mismatch_orders():
    """Orders flagged for staff (a captured payment that cannot pay them) and not yet handled."""
    return (
        Order.objects.filter(needs_attention=True, handled_at__isnull=True)
        .select_related("user")
        .order_by("updated_at", "id")
    )


def overdue_operations(now=None):
    """Server operations running past their expected time (servers.selectors owns the definition)."""
    return operations_overdue(now)


def failed_webhook_events():
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).order_by("received_at", "id")


def ops_counts(now=None, *, orphaned=None) -> dict:
    """The counts shown on the admin index and the dashboard: one COUNT query
    each (three when the caller already counted the orphaned orders)."""
    return {
        "orphaned_orders": orphaned_orders().count() if orphaned is None else orphaned,
        "stuck_servers": servers_stuck(now=now).count(),
        "amount_mismatches": amount_mismatch_orders().count(),
        "failed_webhooks": failed_webhook_events().count(),
        "failed_operations": failed_operations().count(),
        "autopay_failed_week": debits_failed_this_week(now),
    }


def periodic_job_problems(now) -> list[tuple[str, str, str]]:
    """(job name, title, what is wrong) for each periodic job that needs a human: its
    last run failed; a run still renewing its lease PERIODIC_JOB_RUN_ALERT_SECONDS after
    it started (hung: the lease guard keeps every later copy out); or no run started for
    two intervals and ten minutes (no beat sends it, or no worker takes its queue).
    Entries staff paused under Admin → Periodic tasks, and rows of entries no longer in
    the schedule, are left out. One query for the jobs, one for the paused entries."""
    intervals = schedule_intervals()
    paused = set(PeriodicTask.objects.filter(enabled=False).values_list("name", flat=True))
    run_alert = timedelta(seconds=settings.PERIODIC_JOB_RUN_ALERT_SECONDS)
    problems = []
    for job in PeriodicJob.objects.filter(name__in=set(intervals) - paused):
        interval = timedelta(seconds=intervals[job.name])
        started = job.last_started_at
        if job.lease_until and job.lease_until >= now and started and started <= now - run_alert:
            problems.append(
                (
                    job.name,
                    f"Periodic job {job.name} has been running for {timesince(started, now)}",
                    f"Started {timezone.localtime(started):%Y-%m-%d %H:%M %Z} by {job.holder}, and its worker still renews the lease, "
                    f"so every later copy is skipped. Is it stuck on a slow call? Restarting that worker frees it "
                    f"one lease later.",
                )
            )
        elif started and started < now - (2 * interval + timedelta(minutes=10)):
            problems.append(
                (
                    job.name,
                    f"Periodic job {job.name} has not run for {timesince(started, now)}",
                    f"It should run every {timesince(now - interval, now)}. Is a beat running, and a worker "
                    f"on its queue? Last started {timezone.localtime(started):%Y-%m-%d %H:%M %Z} by {job.holder}.",
                )
            )
        elif job.last_outcome == PeriodicJob.Outcome.FAILED:
            problems.append(
                (
                    job.name,
                    f"Periodic job {job.name} failed",
                    f"Its last run, started {timezone.localtime(started):%Y-%m-%d %H:%M %Z} by {job.holder}, failed: {job.last_error}",
                )
            )
    return problems
