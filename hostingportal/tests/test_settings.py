"""Production refuses dev secrets; `check --deploy` is clean with production variables."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "a-real-secret-" + "x" * 50,
    "ALLOWED_HOSTS": "portal.example.com",
    "RAZORPAY_KEY_ID": "rzp_test_abc",
    "RAZORPAY_KEY_SECRET": "key-secret",
    "RAZORPAY_WEBHOOK_SECRET": "webhook-secret",
    "EMAIL_BACKEND": "anymail.backends.test.EmailBackend",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
}


def run_manage(*args, **env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and not k.startswith(("LIBCLOUD", "PROVISIONING"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_refuses_to_start_without_a_secret_key_in_production():
    env = {**PRODUCTION_ENV}
    del env["SECRET_KEY"]
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_simulated_payments_in_production():
    env = {k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("RAZORPAY")}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "simulated payments are for development only" in result.stderr


def test_deploy_check_is_clean_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_an_email_backend():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "EMAIL_BACKEND"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "EMAIL_BACKEND must be set" in result.stderr


def test_the_development_database_queues_concurrent_writers(sqlite_migrated):
    """On the embedded SQLite default, two writers (web and worker) must wait for each
    other, not fail: the second BEGIN IMMEDIATE waits while the first holds the lock."""
    script = (
        "import threading, time\n"
        "from django.db import connection, connections, transaction\n"
        "from alerts.models import Incident\n"
        "print(connection.settings_dict['OPTIONS']['transaction_mode'])\n"
        "with connection.cursor() as cursor:\n"
        "    print(cursor.execute('PRAGMA journal_mode').fetchone()[0])\n"
        "def hold():\n"
        "    with transaction.atomic():\n"
        "        Incident.objects.filter(pk=0).update(title='x')\n"
        "        time.sleep(1)\n"
        "    connections.close_all()\n"
        "holder = threading.Thread(target=hold); holder.start(); time.sleep(0.2)\n"
        "started = time.monotonic()\n"
        "with transaction.atomic():\n"
        "    Incident.objects.filter(pk=0).update(title='y')\n"
        "print('waited', time.monotonic() - started > 0.5)\n"
        "holder.join()\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{sqlite_migrated}"}
    result = run_manage("shell", "-c", script, **env)
    assert result.stdout.split()[-4:] == ["IMMEDIATE", "wal", "waited", "True"], result.stdout + result.stderr


REAL_CLOUD = {"PROVISIONING_BACKEND": "libcloud", "LIBCLOUD_PROVIDER": "digital_ocean"}


def test_a_debug_portal_with_simulated_payments_refuses_a_real_cloud_provider():
    """The finding: DEBUG=True, simulated payments (whose signing secret is public) and
    PROVISIONING_BACKEND=libcloud started, and handed out real servers for forged payments."""
    result = run_manage("check", DEBUG="True", **REAL_CLOUD)
    assert result.returncode != 0 and "give machines away" in result.stderr


def test_a_debug_portal_refuses_a_real_cloud_provider_even_with_real_payment_keys():
    result = run_manage("check", **{**PRODUCTION_ENV, "DEBUG": "True"}, **REAL_CLOUD)
    assert result.returncode != 0 and "give machines away" in result.stderr


def test_production_runs_a_real_cloud_provider():
    result = run_manage("check", **PRODUCTION_ENV, **REAL_CLOUD)
    assert result.returncode == 0, result.stderr


def test_development_may_use_libclouds_offline_dummy_provider():
    result = run_manage("check", DEBUG="True", PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="dummy")
    assert result.returncode == 0, result.stderr


def test_production_refuses_a_per_process_cache_for_the_lockout_counters():
    result = run_manage("check", **{**PRODUCTION_ENV, "CACHE_URL": "locmemcache://"})
    assert result.returncode != 0 and "CACHE_URL must name a shared cache" in result.stderr


def test_staff_need_a_second_factor_in_production_and_not_in_development():
    show = ["shell", "-c", "from django.conf import settings; print(settings.STAFF_2FA_REQUIRED)"]
    assert run_manage(*show, **PRODUCTION_ENV).stdout.split()[-1] == "True"
    assert run_manage(*show, DEBUG="True").stdout.split()[-1] == "False"


STATEMENT_PROBE = """
import time
{setup}
from django.db import connection, OperationalError
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0])
    started = time.monotonic()
    try:
        cursor.execute("SELECT pg_sleep(2)")
        print("slept")
    except OperationalError as exc:
        print(type(exc.__cause__).__name__, round(time.monotonic() - started, 1))
"""


@pytest.mark.postgres_only
def test_web_processes_give_up_on_a_statement_after_web_statement_timeout_ms_and_others_do_not():
    env = {**os.environ, "WEB_STATEMENT_TIMEOUT_MS": "300"}
    env.pop("PORTAL_PROCESS", None)
    web = subprocess.run(
        [sys.executable, "-c", STATEMENT_PROBE.format(setup="import hostingportal.wsgi")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    timeout, error, waited = web.stdout.split()
    assert (timeout, error) == ("300ms", "QueryCanceled"), web.stderr[-2000:]
    assert float(waited) < 1.5
    worker = subprocess.run(
        [sys.executable, "-c", STATEMENT_PROBE.format(setup="import django; django.setup()")],
        cwd=REPO, env={**env, "DJANGO_SETTINGS_MODULE": "hostingportal.settings"}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert worker.stdout.split() == ["0", "slept"], worker.stderr[-2000:]


LIBCLOUD_PROBE = """
import time
from servers.provisioning.libcloud_backend import driver_connect, provider_errors
driver = driver_connect()
started = time.monotonic()
try:
    with provider_errors("list_sizes"):
        driver.list_sizes()
except Exception as exc:
    print(type(exc).__name__, round(time.monotonic() - started, 1))
"""


def test_a_provider_api_that_never_answers_holds_a_worker_for_libcloud_timeout_seconds_only():
    from conftest import silent_server

    with silent_server() as port:
        result = run_manage(
            "shell", "-c", LIBCLOUD_PROBE,
            PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="cloudscale", LIBCLOUD_KEY="key",
            LIBCLOUD_OPTIONS=f'{{"host": "127.0.0.1", "port": {port}, "secure": false}}', LIBCLOUD_TIMEOUT_SECONDS="1",
            **{**PRODUCTION_ENV, "CACHE_URL": "redis://127.0.0.1:6379/7"},
        )  # fmt: skip
    error, waited = result.stdout.split()[-2:]
    assert error == "ProvisioningTransientError", result.stdout + result.stderr[-2000:]
    assert float(waited) < 5
