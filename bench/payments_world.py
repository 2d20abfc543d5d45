"""The world both payment benchmarks run in: a fresh PostgreSQL database, an
empty Redis database as broker, the test suite's fake Razorpay server, Django
set up against them, one plan and customers with API tokens."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CUSTOMERS = 100


def start(db_name, broker_db, **extra_env):
    """Start the fake Razorpay, recreate and migrate `db_name`, empty Redis
    database `broker_db`, set the environment and run django.setup().
    Returns (fake, env); env is what gunicorn and Celery subprocesses need."""
    from payments.tests.fake_razorpay import FakeRazorpay

    fake = FakeRazorpay().start()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
        # Production refuses a per-process cache with DEBUG off (lockouts and throttles
        # must be shared by the web workers); the broker's database is emptied first anyway.
        "CACHE_URL": f"redis://127.0.0.1:6379/{broker_db}",
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "False",
        "RAZORPAY_KEY_ID": fake.key_id,
        "RAZORPAY_KEY_SECRET": fake.key_secret,
        "RAZORPAY_WEBHOOK_SECRET": fake.webhook_secret,
        "RAZORPAY_API_BASE": fake.base_url,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "DJANGO_SETTINGS_MODULE": "hostingportal.settings",
        **extra_env,
    }
    drop_and_create = ["-c", f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)', "-c", f'CREATE DATABASE "{db_name}"']
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", *drop_and_create], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    subprocess.run(["redis-cli", "-n", str(broker_db), "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
    os.environ.update(env)
    import django

    django.setup()
    return fake, env


def plan_and_customers():
    """(plan, [(user, token key)]). Many customers, each confirming their own payments
    under the production throttle rates: a single customer would need the throttle
    turned off, and its throttle history would grow far beyond any real customer's."""
    from django.contrib.auth import get_user_model

    from accounts.factories import api_key_for
    from billing.models import HostingPlan

    plan = HostingPlan.objects.create(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)
    customers = []
    for number in range(CUSTOMERS):
        user = get_user_model().objects.create(email=f"customer{number}@example.com")
        customers.append((user, api_key_for(user)))
    return plan, customers


def paid_orders(fake, plan, customers, count):
    """[(Checkout's answer, customer)] for `count` new orders paid at the fake,
    `customers` ([(user, anything)]) taking turns; the second item is handed back
    as given (an auth header, a test client)."""
    from payments.services import order_create

    paid = []
    for index in range(count):
        user, extra = customers[index % len(customers)]
        order = order_create(user=user, plan=plan, billing_cycle_months=1)
        paid.append((fake.checkout_response(fake.pay(order.razorpay_order_id)), extra))
    return paid


def docs_section_replace(heading, body):
    """Put `body` (which starts with `heading`) in docs/benchmarks.md, replacing
    that section if it is there, else at the end."""
    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nMachine: 2 cores, 24 GiB (the CI machine).\n"
    if heading in text:
        begin = text.index(heading)
        end = text.find("\n## ", begin + 1)
        text = text[:begin] + body + ("" if end == -1 else text[end:])
    else:
        text = text.rstrip() + "\n\n" + body
    path.write_text(text)
