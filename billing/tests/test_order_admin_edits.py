"""Issue 23 item 5: the order form. `needs_attention` and `handled_reason` were
editable, so billing.change_order alone cleared a flag with no audit row and no
handled_by; and the form saved every column, so a staff edit of buyer details
racing the payment wrote status and paid_at back (reproduced on PostgreSQL)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.factories import UserFactory
from billing.factories import OrderFactory
from billing.models import Order
from conftest import in_threads
from payments.admin import OrderAdmin
from security.models import StaffAction


def change_form_data(client, order):
    """What the order's change form posts as the page shows it: its editable fields and the inlines' counts."""
    page = client.get(f"/admin/billing/order/{order.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{name}": management[name].value() for name in management.fields})
    return data


def clerk_client(*codenames):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames, content_type__app_label="billing"))
    client = Client()
    client.force_login(clerk)
    return client


@pytest.mark.django_db
def test_the_attention_flag_is_read_only_in_the_order_form(alice, plan):
    order = OrderFactory(
        user=alice, plan=plan, needs_attention=True, attention_reason="second captured payment; refund it"
    )
    client = clerk_client("view_order", "change_order")
    data = change_form_data(client, order)
    assert "needs_attention" not in data and "handled_reason" not in data and "attention_reason" not in data
    data.update({"needs_attention": "", "handled_reason": "nothing to see"})  # as if the box were unticked
    client.post(f"/admin/billing/order/{order.pk}/change/", data)
    order.refresh_from_db()
    assert order.needs_attention and order.handled_at is None and order.handled_reason == ""
    assert not StaffAction.objects.exists()


@pytest.mark.django_db
def test_the_order_form_still_saves_the_buyer_details_of_an_unpaid_order(alice, plan):
    order = OrderFactory(user=alice, plan=plan, status="created", buyer_name="Asha")
    client = clerk_client("view_order", "change_order")
    data = change_form_data(client, order)
    data["buyer_name"] = "Asha Rao"
    assert client.post(f"/admin/billing/order/{order.pk}/change/", data).status_code == 302
    order.refresh_from_db()
    assert order.buyer_name == "Asha Rao" and order.status == "created"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_staff_edit_of_buyer_details_racing_the_payment_never_writes_status_back(
    alice, plan, fake_razorpay, monkeypatch
):
    api = APIClient()
    api.force_authenticate(alice)
    number = api.post("/api/v1/orders/", {"plan": plan.slug}, format="json").json()["number"]
    order = Order.objects.get(number=number)
    checkout = fake_razorpay.checkout_response(fake_razorpay.pay(order.razorpay_order_id))

    def verify():
        customer = APIClient()
        customer.force_authenticate(alice)
        return customer.post("/api/v1/payments/verify/", checkout, format="json").status_code

    save_model = OrderAdmin.save_model

    def payment_lands_meanwhile(self, request, obj, form, change):
        # The admin read the order (unlocked) at the start of its POST; the payment commits now, before it writes.
        results, errors = in_threads([verify])
        assert (results, errors) == ([200], [])
        return save_model(self, request, obj, form, change)

    monkeypatch.setattr(OrderAdmin, "save_model", payment_lands_meanwhile)
    client = clerk_client("view_order", "change_order")
    data = change_form_data(client, order)
    data["buyer_name"] = "Typo fixed by staff"
    client.post(f"/admin/billing/order/{order.pk}/change/", data)

    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None, "the staff edit wrote the unpaid state back"
    assert order.invoice_number and order.tax_invoice.buyer_name == order.buyer_name
