"""Where a payment confirmation spends its time, in process (issue 3).

The load benchmark (payments_bench.py) varies by up to 20% between runs on a
shared VM. This one is steadier: it sends requests through Django's test client
in this process, on PostgreSQL with the fake Razorpay server, and reports the
web tier's own CPU time per request (this thread only: the fake's threads are
not counted) and the SQL statements each request runs.

    .venv/bin/python bench/payments_profile.py             # figures and the statements
    .venv/bin/python bench/payments_profile.py --cprofile  # plus a profile of fresh verifies
    .venv/bin/python bench/payments_profile.py --cprofile renewal  # ... of renewal verifies
"""

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.payments_world import paid_orders, plan_and_customers, start  # noqa: E402 - needs the repo on the path

DB_NAME = "portal_bench_profile"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--cprofile", nargs="?", const="fresh", choices=["fresh", "renewal"], help="profile fresh (or renewal) verifies"
    )
    args = parser.parse_args()

    fake, _ = start(DB_NAME, 15, ALLOWED_HOSTS="testserver")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from lifecycle.renewals import renewal_issue
    from payments.services import order_create, order_gateway_ensure
    from servers.models import Server

    plan, tokens = plan_and_customers()
    customers = [(user, Client(HTTP_AUTHORIZATION=f"Token {key}")) for user, key in tokens]

    def new_paid_orders(count):
        return paid_orders(fake, plan, customers, count)

    def verify(paid):
        body, client = paid
        answer = client.post("/api/v1/payments/verify/", json.dumps(body), content_type="application/json")
        assert answer.status_code == 200, answer.content

    def webhook(order):
        body, headers = fake.webhook("payment.captured", fake.pay(order.razorpay_order_id))
        answer = Client().post("/webhooks/razorpay/", body, content_type="application/json", **headers)
        assert answer.status_code == 200, answer.content

    def measure(name, function, items):
        for item in items[:20]:  # warm up: imports, prepared statements, connections
            function(item)
        with CaptureQueriesContext(connection) as one:
            function(items[20])
        statements = [query["sql"] for query in one.captured_queries]  # now: each request resets the log
        started = time.thread_time()
        for item in items[21:]:
            function(item)
        cpu_ms = (time.thread_time() - started) * 1000 / len(items[21:])
        return name, cpu_ms, statements

    count = args.requests + 21
    fresh = new_paid_orders(count)
    results = [measure("verify (fresh)", verify, fresh), measure("verify (repeat)", verify, fresh)]
    results.append(
        measure(
            "webhook payment.captured",
            webhook,
            [order_create(user=customers[0][0], plan=plan, billing_cycle_months=1) for _ in range(count)],
        )
    )
    # Renewals of the servers the fresh verifies bought: a renewal verify and a renewal
    # webhook (issue 12's "payment path with renewals in the mix").
    bought = list(Server.objects.filter(order__razorpay_order_id__in=[b["razorpay_order_id"] for b, _ in fresh]))
    client_of = {user.pk: client for user, client in customers}
    renewals = [order_gateway_ensure(renewal_issue(server.pk, source="checkout")) for server in bought]
    paid_renewals = [
        (fake.checkout_response(fake.pay(order.razorpay_order_id)), client_of[order.user_id]) for order in renewals
    ]
    results.append(measure("verify (renewal)", verify, paid_renewals))
    renewals = [order_gateway_ensure(renewal_issue(server.pk, source="checkout")) for server in bought]
    results.append(measure("webhook payment.captured (renewal)", webhook, renewals))
    print("| request | web CPU ms (this thread) | SQL statements |\n| --- | ---: | ---: |")
    for name, cpu_ms, statements in results:
        print(f"| {name} | {cpu_ms:.2f} | {len(statements)} |")
    for name, _, statements in results:
        print(f"\n{name}:")
        for sql in statements:
            print(f"  {sql[:160]}")
    if args.cprofile:
        # Timed by this thread's CPU clock, so waiting on PostgreSQL or the fake is not counted.
        profile = cProfile.Profile(timer=time.thread_time)
        profiled = new_paid_orders(args.requests)
        if args.cprofile == "renewal":
            profiled = [
                (
                    fake.checkout_response(
                        fake.pay(order_gateway_ensure(renewal_issue(s.pk, source="checkout")).razorpay_order_id)
                    ),
                    client_of[s.user_id],
                )
                for s in bought[: args.requests]
            ]
        for paid in profiled:
            profile.enable()
            verify(paid)
            profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(35)
    fake.stop()


if __name__ == "__main__":
    main()
