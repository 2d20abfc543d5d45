"""`/healthz`: is the database reachable and answering in time, is the broker reachable.

503 only when the database is down (the portal cannot take payments); a broker
outage is "degraded" but still 200, since payments keep working and the
sweeper queues provisioning once the broker is back.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ProbeTimeout

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing.models import Order
from hostingportal.celery import app as celery_app

DATABASE_PROBE_TIMEOUT_MS = 1000
BROKER_TIMEOUT_SECONDS = 1.0
# The whole broker probe, whatever the broker does (refuses, accepts and stays
# silent, trickles bytes): /healthz answers within 2 s.
BROKER_DEADLINE_SECONDS = 1.5
# Probes run here so the request can stop waiting; a probe stuck on a silent broker
# ends at its own socket timeout. Two threads: probes arriving while both are stuck
# wait in line and are answered "no answer" at their deadline.
broker_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz-broker")
PROBE_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "retry_on_timeout": False,
    "read_timeout": BROKER_TIMEOUT_SECONDS,
    "write_timeout": BROKER_TIMEOUT_SECONDS,
}


def check_database():
    """Read the orders table, as a payment must, within DATABASE_PROBE_TIMEOUT_MS: a database that takes
    connections but stalls mid-query (a table locked by a migration, a frozen disk) is down to /healthz
    rather than holding it (the connect timeout bounds only the connection)."""
    started = time.monotonic()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL statement_timeout = {DATABASE_PROBE_TIMEOUT_MS}")
            cursor.execute(f"SELECT 1 FROM {Order._meta.db_table} LIMIT 1")
    except DatabaseError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def broker_probe(url):
    with celery_app.connection_for_write(url=url, transport_options=PROBE_TRANSPORT_OPTIONS) as conn:
        conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)


def check_broker():
    started = time.monotonic()
    probe = broker_probes.submit(broker_probe, settings.CELERY_BROKER_URL)
    try:
        probe.result(timeout=BROKER_DEADLINE_SECONDS)
    except ProbeTimeout:
        return {"ok": False, "error": f"no answer within {BROKER_DEADLINE_SECONDS} s"}
    except Exception as exc:  # noqa: BLE001 - whatever the broker or its client raises is reported as degraded, never a 500
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    status_code = 200 if checks["database"]["ok"] else 503
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=status_code)
