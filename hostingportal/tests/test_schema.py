"""The schema is whole: every model loads, has its table, and refuses bad rows."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import IntegrityError, transaction

from billing.factories import OrderFactory, PaymentFactory, WebhookEventFactory
from billing.models import Order
from servers.factories import ServerFactory
from servers.models import Server
from support.factories import TicketAttachmentFactory

CONTRACT_MODELS = [
    "billing.HostingPlan",
    "billing.Order",
    "servers.Server",
    "support.Ticket",
    "support.TicketMessage",
    "support.TicketAttachment",
]


def test_every_contract_model_is_registered():
    for label in CONTRACT_MODELS:
        assert apps.get_model(label) is not None


def test_hosting_plans_use_the_contract_table_name():
    assert apps.get_model("billing.HostingPlan")._meta.db_table == "hosting_plans"


def test_server_status_column_is_called_status():
    assert Server._meta.get_field("status").column == "status"


def test_order_has_payment_metadata_column():
    assert Order._meta.get_field("payment_metadata").column == "payment_metadata"


@pytest.mark.django_db
def test_every_model_can_query_its_table():
    for model in apps.get_models():
        model.objects.exists()  # raises if a table or column is missing


@pytest.mark.django_db
def test_every_relation_resolves_to_a_real_model():
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.is_relation and field.related_model is not None:
                assert field.related_model in apps.get_models(include_auto_created=True)


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_a_working_attachment_is_stored_and_readable():
    attachment = TicketAttachmentFactory()
    attachment.refresh_from_db()
    with attachment.file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert attachment.message.ticket.messages.get().attachments.get() == attachment


@pytest.mark.django_db(transaction=True)
class TestDatabaseConstraints:
    def test_it_refuses_a_second_server_for_one_order(self):
        server = ServerFactory()
        with pytest.raises(IntegrityError):
            Server.objects.create(order=server.order, user=server.user, name="second")
        assert Server.objects.filter(order=server.order).count() == 1

    def test_it_refuses_a_negative_amount(self):
        order = OrderFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(subtotal_paise=-100, total_paise=order.tax_paise - 100)

    def test_it_refuses_a_total_that_does_not_add_up(self):
        order = OrderFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(total_paise=order.total_paise + 1)

    def test_it_refuses_an_unknown_order_status(self):
        order = OrderFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(status="shipped")

    def test_it_refuses_an_unknown_server_status(self):
        server = ServerFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Server.objects.filter(pk=server.pk).update(status="server_status")

    def test_it_refuses_a_duplicate_gateway_payment_id(self):
        payment = PaymentFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            PaymentFactory(razorpay_payment_id=payment.razorpay_payment_id)

    def test_it_refuses_a_duplicate_webhook_event_id(self):
        WebhookEventFactory(event_id="evt_dup")
        with pytest.raises(IntegrityError), transaction.atomic():
            WebhookEventFactory.create(event_id="evt_dup", event_type="order.paid")

    def test_it_refuses_a_malformed_order_number(self):
        order = OrderFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.filter(pk=order.pk).update(number="ORD-lower")

    def test_deleting_a_sold_plan_is_refused(self):
        from django.db.models import ProtectedError

        order = OrderFactory()
        with pytest.raises(ProtectedError):
            order.plan.delete()
        assert Order.objects.filter(pk=order.pk).exists()

    def test_an_order_keeps_what_was_sold_when_the_plan_changes(self):
        order = OrderFactory()
        sold_name, sold_total = order.plan_name, order.total_paise
        order.plan.name, order.plan.price_paise = "Renamed", 1
        order.plan.save()
        order.refresh_from_db()
        assert (order.plan_name, order.total_paise) == (sold_name, sold_total)
