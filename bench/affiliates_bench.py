"""Benchmark: what affiliates cost the payment (issue 15).

The payments benchmark's world (fresh PostgreSQL, Redis broker, the fake
Razorpay, gunicorn) with two groups of customers in the same run: one nobody
referred, and one where every other customer was referred (so half the fresh
verifies write a commission). Fresh verifies at concurrency 8, the two groups'
requests interleaved in each load run (A B A B ...) so a change in the shared
machine's speed falls on both alike; the target is the referred group's p95
within 10 % of the other's.
No Celery worker: the web tier alone, provisioning tasks wait in Redis.

    .venv/bin/python bench/affiliates_bench.py [--per-round 200] [--rounds 4] [--write]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.payments_bench import (  # noqa: E402 - needs the repo on the path
    BASE,
    percentile,
    run_load,
    web_start,
    web_wait,
)
from bench.payments_world import docs_section_replace, paid_orders, start  # noqa: E402

DB_NAME = "portal_bench_affiliates"
CUSTOMERS_PER_GROUP = 100


def customers(prefix, *, referred_by=None):
    """[(user, auth header)]; with `referred_by`, every other one was referred by that user."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from affiliates.models import Referral

    made = []
    for number in range(CUSTOMERS_PER_GROUP):
        user = get_user_model().objects.create(email=f"{prefix}{number}@example.com")
        if referred_by is not None and number % 2 == 0:
            Referral.objects.create(referred=user, referrer=referred_by, code=referred_by.referral_code)
        made.append((user, {"Authorization": f"Token {Token.objects.create(user=user).key}"}))
    return made


def verify_specs(paid):
    return [
        {
            "method": "POST",
            "url": f"{BASE}/api/v1/payments/verify/",
            "body": json.dumps(body),
            "headers": {**auth, "Content-Type": "application/json"},
        }
        for body, auth in paid
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-round", type=int, default=200, help="fresh verifies per group and round")
    parser.add_argument("--rounds", type=int, default=4, help="load runs, each with both groups interleaved")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--write", action="store_true", help="replace the Affiliates section of docs/benchmarks.md")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    fake, env = start(DB_NAME, 13, ALLOWED_HOSTS="127.0.0.1,localhost", PROVISIONING_BACKEND="simulated")
    from django.contrib.auth import get_user_model

    from affiliates.models import Commission
    from billing.models import HostingPlan, Order

    plan = HostingPlan.objects.create(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    affiliate = get_user_model().objects.create(email="affiliate@example.com")
    groups = {"none referred": customers("plain"), "half referred": customers("referred", referred_by=affiliate)}
    latencies = {name: [] for name in groups}
    healthz = []
    web = web_start(env, args.workers)
    try:
        web_wait()
        warm = verify_specs(paid_orders(fake, plan, groups["none referred"], 50))
        run_load("warm-up", 8, warm, web.pid)
        names = list(groups)
        for _ in range(args.rounds):
            # The two groups' verifies interleaved in one load run (A B A B ...): both meet
            # the same machine at the same moments, whatever else it is doing.
            batches = [verify_specs(paid_orders(fake, plan, groups[name], args.per_round)) for name in names]
            mixed = [spec for pair in zip(*batches, strict=True) for spec in pair]
            result = run_load("fresh verify", 8, mixed, web.pid)
            assert set(result["statuses"]) == {"200"}, result["statuses"]
            for index, name in enumerate(names):
                latencies[name].extend(result["latencies_ms"][index :: len(names)])
            health = [{"method": "GET", "url": f"{BASE}/healthz", "headers": {}, "body": ""}] * 100
            healthz.extend(run_load("GET /healthz", 8, health, web.pid)["latencies_ms"])
        commissions = Commission.objects.count()
        referred_paid = Order.objects.filter(status="paid", referrer__isnull=False).count()
    finally:
        web.terminate()
        web.wait(10)
        fake.stop()

    plain, referred = (percentile(latencies[name], 95) for name in names)
    lines = [
        "| fresh verify, concurrency 8 | requests | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in names:
        values = sorted(latencies[name])
        lines.append(f"| {name} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} |")
    lines.append(
        f"| GET /healthz (same run) | {len(healthz)} | {percentile(healthz, 50):.1f} | {percentile(healthz, 95):.1f} |"
    )
    lines.append("")
    lines.append(
        f"p95 half referred / none referred: {referred / plain:.3f} (target ≤ 1.10). "
        f"Check: {commissions} commissions for {referred_paid} paid orders of referred customers (must be equal)."
    )
    lines.append(
        f"Load average (1 min) at start and end: {load_before:.1f}, {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(above the core count, other work shared the machine: absolute times are inflated, the ratio is what counts)."
    )
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section(table, args)


def write_section(table, args):
    heading = "## Affiliates (issue 15)"
    body = (
        f"{heading}\n\nCommand: `.venv/bin/python bench/affiliates_bench.py --per-round {args.per_round} "
        f"--rounds {args.rounds} --write` (gunicorn {args.workers} workers, PostgreSQL, Redis and the fake Razorpay on "
        "this machine, no Celery worker). Two groups of 100 customers in one run: nobody referred, and every other "
        "customer referred (a commission written in the payment's transaction). Each load run interleaves the "
        "two groups' requests (A B A B …), so a change in the shared machine's speed falls on both alike.\n\n"
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:\n\n{table}\n"
    )
    docs_section_replace(heading, body)


if __name__ == "__main__":
    main()
