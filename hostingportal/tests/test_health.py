import pytest


@pytest.mark.django_db
def test_healthz_reports_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


@pytest.mark.django_db
def test_healthz_is_degraded_but_200_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_within_its_bound_when_the_orders_table_is_locked(client):
    """A database that takes connections but stalls mid-query (here: a migration's ACCESS EXCLUSIVE lock on
    the orders table, held by another connection) must not hold /healthz: the probe reads the table payments
    need, under its own statement timeout, and reports the database down. Before, `SELECT 1` touched no
    table and answered 200 "ok" while no payment could be written."""
    import time

    from django.db import connection

    from conftest import transaction_held_open

    def lock_orders():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE billing_order IN ACCESS EXCLUSIVE MODE")

    with transaction_held_open(lock_orders):
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.json()
    assert "statement timeout" in response.json()["checks"]["database"]["error"]
    assert elapsed < 3, elapsed  # the probe's own bound (1 s), plus the broker probe
    assert client.get("/healthz").json()["checks"]["database"]["ok"] is True  # and the connection still works
