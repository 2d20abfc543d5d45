"""select_row and update_row: the cached forms of .get() and .save(update_fields=...)
that the payment path uses. They must read and write what the ORM would, and
select_row must really lock on PostgreSQL."""

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models.query_utils import DeferredAttribute

from billing.models import Order
from conftest import transaction_held_open
from core.sql import row_exists, select_row, update_row
from payments.services import order_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(alice, plan):
    order = order_create(user=alice, plan=plan, billing_cycle_months=3)
    Order.objects.filter(pk=order.pk).update(payment_metadata={"note": {"nested": [1, 2]}})
    return Order.objects.get(pk=order.pk)


def test_the_same_values_as_the_orm(order):
    row = select_row(Order, razorpay_order_id=order.razorpay_order_id)

    assert isinstance(row, Order) and row.pk == order.pk
    for field in Order._meta.concrete_fields:
        assert getattr(row, field.attname) == getattr(order, field.attname), field.name
    assert row.payment_metadata == {"note": {"nested": [1, 2]}}  # decoded JSON, not its text
    assert row.created_at.tzinfo is not None
    assert row._state.adding is False and row._state.db == "default"
    assert row.user == order.user  # relations load as usual


def test_only_the_fields_asked_for_are_loaded(order):
    # Asked for out of the model's order: each value must still land on its own field.
    fields = ("currency", "total_paise", "razorpay_order_id", "status", "number")
    row = select_row(Order, fields=fields, user_id=order.user_id, razorpay_order_id=order.razorpay_order_id)

    assert [getattr(row, name) for name in ("pk", *fields)] == [getattr(order, name) for name in ("pk", *fields)]
    assert row.get_deferred_fields() >= {"payment_metadata", "billing_cycle_months", "user_id"}
    assert isinstance(Order.__dict__["payment_metadata"], DeferredAttribute)
    assert row.payment_metadata == order.payment_metadata  # loaded on first use, as with .only()


def test_no_match_is_none(order, bob):
    assert select_row(Order, razorpay_order_id="order_nobody") is None
    assert select_row(Order, user_id=bob.pk, razorpay_order_id=order.razorpay_order_id) is None
    assert select_row(Order, razorpay_order_id=None) is None  # = NULL matches nothing; never "any unpaid order"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_for_update_holds_the_row_lock_until_commit(order):
    def lock_the_order():
        return select_row(Order, for_update=True, razorpay_order_id=order.razorpay_order_id)

    with transaction_held_open(lock_the_order):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                select_row(Order, for_update=True, razorpay_order_id=order.razorpay_order_id)
        # A plain read does not wait for the lock.
        assert select_row(Order, razorpay_order_id=order.razorpay_order_id).pk == order.pk
    with transaction.atomic():
        assert select_row(Order, for_update=True, razorpay_order_id=order.razorpay_order_id).pk == order.pk


def test_update_row_writes_only_the_fields_named_and_stamps_auto_now(order):
    before = order.updated_at
    order.status, order.payment_metadata, order.total_paise = "cancelled", {"why": ["customer", 1]}, 1

    update_row(order, ("status", "payment_metadata", "updated_at"))

    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.payment_metadata) == ("cancelled", {"why": ["customer", 1]})
    assert stored.total_paise != 1  # not named, not written
    assert stored.updated_at == order.updated_at > before


def test_update_row_on_a_deleted_row_raises_like_save(order):
    gone = Order.objects.get(pk=order.pk)
    Order.objects.filter(pk=order.pk).delete()

    with pytest.raises(DatabaseError, match="affected 0 rows"):
        update_row(gone, ("status",))


@pytest.mark.parametrize(
    "where",
    [
        {},
        {"status": "created"},
        {"status": "paid"},
        {"status__in": ("paid", "created")},
        {"status__in": ("paid", "cancelled")},
        {"status__in": ()},
        {"billing_cycle_months__in": [3], "status": "created"},
    ],
)
def test_row_exists_says_what_the_orm_says(order, bob, where):
    for user in (order.user, bob):
        expected = Order.objects.filter(user_id=user.pk, **where).exists()
        assert row_exists(Order, user_id=user.pk, **where) is expected, (user, where)


def test_row_exists_refuses_none_rather_than_match_nothing(order):
    with pytest.raises(ValueError, match="IS NULL"):
        row_exists(Order, renews_server_id=None)
