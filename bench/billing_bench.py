"""Benchmark: one run_billing pass over 100,000 active servers (issue 12).

Creates a fresh PostgreSQL database (portal_bench_billing), migrates it and
bulk-inserts paid orders with active servers: 10 % due for renewal within the
notice period, 1 % overdue past their suspension day, the rest paid well ahead.
Then runs `lifecycle.billing_day.billing_run` in this process and reports the
wall time of the whole pass, the SQL statements it sent and the slices (batches)
it locked, at 10,000 and at 100,000 servers: statements grow with the number
of slices, not of servers. A second pass (nothing left to do) is timed too.
Tasks go to an in-memory broker (nothing runs them): the pass is measured alone.

    .venv/bin/python bench/billing_bench.py            # prints a markdown table
    .venv/bin/python bench/billing_bench.py --write    # also updates docs/benchmarks.md
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.fresh_db import database_recreate, django_setup  # noqa: E402

DB_NAME = "portal_bench_billing"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
ENV = {**os.environ, "DATABASE_URL": DATABASE_URL, "CELERY_BROKER_URL": "memory://", "DEBUG": "True"}
COMMAND = ".venv/bin/python bench/billing_bench.py --write"
HEADING = "## Billing day (issue 12)"


def grow_to(total, now):
    """Add paid orders with active servers until there are `total`: every 10th due
    within the notice period, every 100th (of the others) past its suspension day."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from billing.factories import HostingPlanFactory
    from billing.models import Order, new_order_number
    from billing.pricing import quote
    from servers.models import Server

    plan = HostingPlanFactory(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    User = get_user_model()
    if not User.objects.exists():
        User.objects.bulk_create([User(email=f"customer{i}@example.com", password="!") for i in range(1000)])
    users = list(User.objects.values_list("pk", flat=True))
    q = quote(plan, 1)
    existing = Server.objects.count()

    def due_date(i):
        if i % 10 == 0:
            return now + timedelta(days=1 + i % (settings.RENEWAL_NOTICE_DAYS - 1))  # due for renewal
        if i % 100 == 1:
            return now - timedelta(days=settings.SUSPEND_AFTER_DAYS + 1 + i % 5)  # overdue: to suspend
        return now + timedelta(days=settings.RENEWAL_NOTICE_DAYS + 1 + i % 20)  # paid ahead

    for start in range(existing, total, 5000):
        indexes = range(start, min(start + 5000, total))
        orders = Order.objects.bulk_create(
            [
                Order(
                    number=new_order_number(), user_id=users[i % len(users)], plan=plan, status="paid",
                    plan_slug=plan.slug, plan_name=plan.name, plan_vcpu=plan.vcpu, plan_ram_gb=plan.ram_gb,
                    plan_disk_gb=plan.disk_gb, unit_price_paise=q.unit_price_paise, subtotal_paise=q.subtotal_paise,
                    gst_rate_percent=q.gst_rate_percent, tax_paise=q.tax_paise, total_paise=q.total_paise,
                    paid_at=now - timedelta(days=25),
                )
                for i in indexes
            ]
        )  # fmt: skip
        Server.objects.bulk_create(
            [
                Server(
                    order_id=order.pk, user_id=order.user_id, plan_id=order.plan_id, name=f"g-8gb-{order.number[-6:].lower()}",
                    status="active", paid_until=due_date(i), provider_node_id=f"sim-{order.pk}",
                )
                for i, order in zip(indexes, orders, strict=True)
            ]
        )  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(now):
    """One pass: (seconds, statements, report); then the second pass's seconds and statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lifecycle.billing_day import billing_run

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = billing_run(now=now)
        elapsed = time.perf_counter() - started
    with CaptureQueriesContext(connection) as again:
        started = time.perf_counter()
        second = billing_run(now=now)
        elapsed_again = time.perf_counter() - started
    assert not report.errors, report.errors[:3]
    assert not (second.renewals_created or second.suspended or second.terminated), "the second pass did work"
    return elapsed, len(queries), report, elapsed_again, len(again)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="also update docs/benchmarks.md")
    parser.add_argument("--sizes", default="10000,100000", help="server counts to measure, ascending")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows = []
    for size in sizes:
        database_recreate(DB_NAME, ENV)
        django_setup(ENV)
        from django.db import connection
        from django.utils import timezone

        from lifecycle.billing_day import BATCH_SIZE

        now = timezone.now()
        started = time.perf_counter()
        grow_to(size, now)
        setup = time.perf_counter() - started
        elapsed, statements, report, elapsed_again, statements_again = measure(now)
        renewals, suspended = len(report.renewals_created), len(report.suspended)
        slices = report.slices
        rows.append(
            f"| {size:,} | {renewals:,} | {suspended:,} | {report.reminders_sent:,} | {elapsed:.1f} s | "
            f"{statements:,} | {slices} | {statements / max(slices, 1):.1f} | {elapsed_again:.2f} s / {statements_again} |"
        )
        print(rows[-1], f"(setup {setup:.0f} s)", flush=True)
        connection.close()
    table = "\n".join(
        [
            f"Command: `{COMMAND}` (creates and migrates `{DB_NAME}` for each size; tasks go to an in-memory broker).",
            "One `run_billing` pass in-process on PostgreSQL; slices of "
            f"{BATCH_SIZE} servers (SELECT ... FOR UPDATE SKIP LOCKED); statements include SAVEPOINTs.",
            "",
            "| servers | renewals issued | suspended | reminders | whole pass | SQL statements | slices with work "
            "| statements per slice | second pass (time / statements) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    if args.write:
        doc = REPO / "docs" / "benchmarks.md"
        text = doc.read_text()
        section = f"{HEADING}\n\n{table}\n"
        if HEADING in text:
            before, _, rest = text.partition(HEADING)
            after = rest.split("\n## ", 1)
            text = before + section + ("\n## " + after[1] if len(after) > 1 else "")
        else:
            text = text.rstrip() + "\n\n" + section
        doc.write_text(text)


if __name__ == "__main__":
    main()
