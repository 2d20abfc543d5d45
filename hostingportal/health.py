"""`/healthz`: is the database reachable, is the broker reachable.

503 only when the database is down (the portal cannot take payments); a broker
outage is "degraded" but still 200, since payments keep working and the
sweeper queues provisioning once the broker is back.
"""

import time

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import OperationalError as BrokerError

from hostingportal.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 1.0


def check_database():
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker():
    started = time.monotonic()
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except (BrokerError, OSError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    status_code = 200 if checks["database"]["ok"] else 503
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=status_code)
