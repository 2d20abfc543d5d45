"""Benchmark: run_billing's autopay step over 10,000 servers due at once (issue 24).

A fresh PostgreSQL database (portal_bench_autopay) with 10,000 active servers, each
with an active mandate (its token confirmed at the fake Razorpay) and an unpaid
renewal due within AUTOPAY_CHARGE_DAYS. The test suite's fake Razorpay answers over
HTTP through the real SDK with 50 ms of latency on every call. One runner runs the
autopay step (`billing_run(steps=[autopay_debits_step])`); a second runner starts
when half the debits have been asked. Reported: the wall time until every debit is
asked (target: within 10 minutes; one call after another would take 17), Razorpay
calls per debit (target: exactly 2), orders asked twice (target: none), the SQL
statements per slice of the first runner, and what each runner asked.

    .venv/bin/python bench/autopay_bench.py            # prints the figures
    .venv/bin/python bench/autopay_bench.py --write    # also updates docs/benchmarks.md
"""

import argparse
import collections
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.payments_world import docs_section_replace, start  # noqa: E402

DB_NAME = "portal_bench_autopay"
BROKER_DB = 14
COMMAND = ".venv/bin/python bench/autopay_bench.py --servers 10000 --write"
HEADING = "## Autopay debits (issue 24)"
LATENCY = 0.05


def world(fake, count, now):
    """`count` active servers due in two days, each with an unpaid renewal and an active
    mandate whose token the fake Razorpay holds confirmed."""
    from django.contrib.auth import get_user_model

    from billing.models import HostingPlan, Order, new_order_number
    from billing.pricing import quote
    from lifecycle.autopay.models import AutopayMandate
    from servers.models import Server

    plan = HostingPlan.objects.create(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(email=f"customer{i}@example.com", password="!") for i in range(1000)]
    )
    q = quote(plan, 1)

    def order(user, **fields):
        return Order(
            number=new_order_number(), user_id=user.pk, plan=plan, plan_slug=plan.slug, plan_name=plan.name,
            plan_vcpu=plan.vcpu, plan_ram_gb=plan.ram_gb, plan_disk_gb=plan.disk_gb,
            unit_price_paise=q.unit_price_paise, subtotal_paise=q.subtotal_paise, gst_rate_percent=q.gst_rate_percent,
            tax_paise=q.tax_paise, total_paise=q.total_paise, **fields,
        )  # fmt: skip

    for user in users:
        fake.customers[f"cust_B{user.pk:010d}"] = {"id": f"cust_B{user.pk:010d}", "email": user.email}
    for begin in range(0, count, 2000):
        indexes = range(begin, min(begin + 2000, count))
        first = Order.objects.bulk_create(
            [order(users[i % len(users)], status="paid", paid_at=now - timedelta(days=28)) for i in indexes]
        )
        servers = Server.objects.bulk_create(
            [
                Server(
                    order_id=o.pk, user_id=o.user_id, name=f"g-8gb-{o.number[-6:].lower()}", status="active",
                    paid_until=now + timedelta(days=2), provider_node_id=f"sim-{o.pk}",
                )
                for o in first
            ]
        )  # fmt: skip
        Order.objects.bulk_create(
            [
                order(users[i % len(users)], kind="renewal", renews_server_id=s.pk)
                for i, s in zip(indexes, servers, strict=False)
            ]
        )
        mandates = []
        for o, s in zip(first, servers, strict=True):
            token_id, customer_id = f"token_B{s.pk:010d}", f"cust_B{o.user_id:010d}"
            fake.tokens[token_id] = {
                "id": token_id, "entity": "token", "customer_id": customer_id, "method": "card", "recurring": True,
                "recurring_details": {"status": "confirmed", "failure_reason": None}, "max_amount": 1_500_000,
            }  # fmt: skip
            mandates.append(
                AutopayMandate(
                    server_id=s.pk, user_id=o.user_id, registered_by_id=o.pk, razorpay_customer_id=customer_id,
                    razorpay_token_id=token_id, contact="9876543210", method="card", max_amount_paise=1_500_000,
                    status="active",
                )
            )  # fmt: skip
        AutopayMandate.objects.bulk_create(mandates)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def runner(now, results, name):
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    from lifecycle.autopay.debits import autopay_debits_step
    from lifecycle.billing_day import billing_run

    try:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            report = billing_run(now=now, steps=[autopay_debits_step])
            results[name] = {
                "seconds": time.perf_counter() - started,
                "statements": len(queries),
                "requested": len(report.autopay_requested),
                "slices": report.slices,
                "errors": report.errors,
            }
    finally:
        connections.close_all()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--write", action="store_true", help="also update docs/benchmarks.md")
    args = parser.parse_args()
    fake, _ = start(DB_NAME, BROKER_DB, LOG_LEVEL="ERROR")
    from django.utils import timezone

    from lifecycle.autopay.debits import WORKERS
    from lifecycle.autopay.models import AutopayDebit

    now = timezone.now()
    began = time.perf_counter()
    world(fake, args.servers, now)
    print(f"world of {args.servers:,} servers in {time.perf_counter() - began:.0f} s", flush=True)
    fake.delay_seconds = LATENCY
    fake.requests.clear()
    results = {}
    started = time.perf_counter()
    first = threading.Thread(target=runner, args=(now, results, "first"))
    first.start()
    while len(fake.recurring_requests()) < args.servers // 2 and first.is_alive():
        time.sleep(0.05)
    second_started = time.perf_counter() - started
    second = threading.Thread(target=runner, args=(now, results, "second"))
    second.start()
    first.join()
    second.join()
    wall = time.perf_counter() - started

    asked = collections.Counter(p["notes"]["order"] for p in fake.payments.values() if p.get("recurring"))
    calls = len(fake.requests)
    statuses = collections.Counter(AutopayDebit.objects.values_list("status", flat=True))
    assert not results["first"]["errors"] and not results["second"]["errors"]
    figures = {
        "debits asked": len(asked),
        "orders asked twice": sum(1 for n in asked.values() if n > 1),
        "Razorpay calls": calls,
        "calls per debit": calls / max(len(asked), 1),
        "wall time until all asked": wall,
        "second runner started at": second_started,
        "first runner asked": results["first"]["requested"],
        "second runner asked": results["second"]["requested"],
        "statements per slice (first runner)": results["first"]["statements"] / max(results["first"]["slices"], 1),
        "debit statuses": dict(statuses),
    }
    for key, value in figures.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    body = "\n".join(
        [
            HEADING,
            "",
            f"Command: `{COMMAND}` (fresh `{DB_NAME}`; the test suite's fake Razorpay over HTTP through the real",
            f"SDK, {LATENCY * 1000:.0f} ms on every call; {WORKERS} calls in flight per runner; a second runner is",
            "started when half the debits have been asked; both run only the autopay step).",
            "",
            "| servers due | debits asked | orders asked twice | Razorpay calls per debit | wall time | "
            "2nd runner started | asked by 1st / 2nd | statements per slice |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {args.servers:,} | {len(asked):,} | {figures['orders asked twice']} | {figures['calls per debit']:.2f} | "
            f"{wall:.0f} s | {second_started:.0f} s | {figures['first runner asked']:,} / "
            f"{figures['second runner asked']:,} | {figures['statements per slice (first runner)']:.1f} |",
            "",
            "Targets (issue 24): all debits asked within 10 minutes (20,000 calls one after another at 50 ms would",
            "take 17), exactly 2 Razorpay calls per debit (the order with the customer, then createRecurring), none",
            "asked twice with a second runner started halfway, a bounded number of statements per slice.",
            "",
        ]
    )
    print(body)
    if args.write:
        docs_section_replace(HEADING, body)
    fake.stop()


if __name__ == "__main__":
    main()
