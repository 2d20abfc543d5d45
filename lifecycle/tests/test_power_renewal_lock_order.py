"""A power action racing a renewal of the same server, on PostgreSQL with real row locks.

The power action locks the customer's row (its rate limit is per customer), then the server. A renewal
locks the server, then inserts an order referencing the customer, which takes a KEY SHARE lock on the
customer's row. Were the power action's lock FOR UPDATE, the two would wait on each other: deadlock
detected, one of them a 500. The interleaving is made deterministic: the renewal's transaction takes the
server first, waits until the power action is queued behind it (holding the customer's row), then issues
the renewal.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from billing.models import Order
from conftest import in_threads
from lifecycle.renewals import renewal_issue
from servers.models import ServerOperation
from servers.operations import server_locked
from servers.power import power_request

from .conftest import active_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def backends_waiting_on_a_lock():
    with connection.cursor() as cursor:
        # pg_stat_activity is read once per transaction unless the snapshot is dropped.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_a_power_action_and_a_renewal_racing_on_one_server_both_succeed(alice, plan, broker_down):
    server = active_server(alice, plan)
    power_waiting = threading.Event()
    renewal_holds_the_server = threading.Event()

    def power():
        # Starts only once the renewal holds the server, whichever thread the OS runs first.
        assert renewal_holds_the_server.wait(10), "the renewal never locked the server"
        return power_request(server.pk, action="reboot", user=alice, source="api")

    def renewal():
        with transaction.atomic():
            server_locked(server.pk)  # the renewal's first lock, taken before the power action's second
            renewal_holds_the_server.set()
            deadline = time.monotonic() + 10
            while not backends_waiting_on_a_lock():  # the power action holds alice and waits for the server
                assert time.monotonic() < deadline, "the power action never queued behind the renewal"
                time.sleep(0.02)
            power_waiting.set()
            return renewal_issue(server.pk, source="api", actor=alice)

    results, errors = in_threads([power, renewal])
    assert power_waiting.is_set()
    assert not errors, errors  # before: psycopg.errors.DeadlockDetected in one of the two
    assert ServerOperation.objects.filter(server=server, action="reboot").count() == 1
    assert Order.objects.filter(renews_server=server, status=Order.Status.CREATED).count() == 1
