"""Razorpay calls the periodic reconcile makes about one abandoned order over its
5-day capture window, with the budget (per-order backoff) and without it (every
run asks, as before issue 13). Beat runs it every 15 minutes; time is moved by
the `now` argument, so the five days take seconds.

    python bench/reconcile_budget.py
"""

import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.payments_world import start  # noqa: E402


def main():
    fake, _ = start("bench_reconcile_budget", broker_db=14)
    from django.contrib.auth import get_user_model

    from billing.models import HostingPlan
    from payments.reconcile import PERIODIC_SINCE_HOURS, payments_reconcile
    from payments.services import order_create

    user = get_user_model().objects.create_user(email="abandoned@example.com", password="x" * 12)
    plan = HostingPlan.objects.create(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    for budget in (True, False):
        order = order_create(user=user, plan=plan, billing_cycle_months=1)
        fake.requests.clear()
        runs = int(timedelta(days=5, hours=1).total_seconds() // 900) + 1
        for step in range(runs):
            now = order.created_at + timedelta(minutes=15 * step)
            payments_reconcile(since_hours=PERIODIC_SINCE_HOURS, now=now, budget=budget)
            if not budget and now > order.created_at + timedelta(days=5):
                break
        calls = [r for r in fake.requests if order.razorpay_order_id in r[1]]
        order.refresh_from_db()
        label = "with budget" if budget else "every run (before)"
        print(f"{label}: {len(calls)} Razorpay calls over {runs} runs; order ended {order.status}")
        if not budget:
            break
    fake.stop()


if __name__ == "__main__":
    main()
