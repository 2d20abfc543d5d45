"""Two writers, one order: the database keeps it to one server (PostgreSQL, real concurrent transactions)."""

import time

import pytest
from django.db import transaction

from billing.models import Order
from conftest import transaction_held_open
from servers.models import Server, ServerStatusChange
from servers.services import server_create_for_paid_order


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_losing_insert_returns_the_winners_server_and_leaves_the_callers_transaction_usable(paid_order):
    """Neither writer locks the order here (the funnel does; this is the last guard)."""

    def insert_first():
        return server_create_for_paid_order(Order.objects.get(pk=paid_order.pk), source="webhook")

    with transaction_held_open(insert_first) as winner:
        # Our insert waits on the winner's uncommitted row, then hits the unique constraint.
        winner.commit(after=0.5)
        started = time.monotonic()
        with transaction.atomic():
            server = server_create_for_paid_order(Order.objects.get(pk=paid_order.pk), source="verify")
            assert Order.objects.filter(pk=paid_order.pk).exists()  # the transaction is still usable
    assert time.monotonic() - started >= 0.4, "the second insert did not wait for the first"
    assert server.pk == winner.result.pk
    assert Server.objects.filter(order=paid_order).count() == 1
    created = ServerStatusChange.objects.filter(server=server, from_status="")
    assert list(created.values_list("source", flat=True)) == ["webhook"]
