"""Property: for random sequences of payments, captures and partial refunds, in
random order and through every door (verify, webhook, reconcile, staff refunds,
refund webhooks), the ledger audit finds no problem and credit notes never
exceed the invoice. Real SDK against the fake Razorpay; each example runs in a
savepoint rolled back at its end."""

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from billing.models import CreditNote, Order, Refund, TaxInvoice
from ops.audit import ledger_audit
from payments.reconcile import payments_reconcile
from payments.refunds import RefundRefused, refund_apply, refund_payment
from payments.services import order_create

from .conftest import post_webhook

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("authorize")),
        st.tuples(st.just("pay_captured")),
        st.tuples(st.just("verify"), st.integers(0, 5)),
        st.tuples(st.just("webhook"), st.integers(0, 5)),
        st.tuples(st.just("reconcile")),
        st.tuples(st.just("refund"), st.integers(1, 100), st.sampled_from(["processed", "pending"])),
        st.tuples(st.just("refund_extra"), st.integers(0, 5)),
        st.tuples(st.just("settle"), st.sampled_from(["processed", "failed"])),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture(autouse=True)
def _instant_simulated_backend(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


class World:
    def __init__(self, fake, user, plan):
        self.fake, self.user = fake, user
        self.order = order_create(user=user, plan=plan, billing_cycle_months=1, source="api")
        self.payments = []
        self.api = APIClient()
        self.api.force_authenticate(user)

    def payment(self, index):
        return self.payments[index % len(self.payments)] if self.payments else None

    def run(self, action):
        kind, *args = action
        fake, order = self.fake, self.order
        if kind in ("authorize", "pay_captured"):
            status = "authorized" if kind == "authorize" else "captured"
            self.payments.append(fake.pay(order.razorpay_order_id, status=status))
        elif kind == "verify" and (payment := self.payment(args[0])):
            self.api.post("/api/v1/payments/verify/", fake.checkout_response(payment), format="json")
        elif kind == "webhook" and (payment := self.payment(args[0])):
            entity = fake.payments[payment["id"]]
            if entity["status"] == "captured":
                post_webhook(Client(), *fake.webhook("payment.captured", dict(entity)))
        elif kind == "reconcile":
            payments_reconcile()
        elif kind == "refund":
            order.refresh_from_db()
            paying = order.payment_metadata.get("captured_payment_id")
            if paying:
                fake.refund_status = args[1]
                left = order.total_paise - (
                    Refund.objects.filter(payment__razorpay_payment_id=paying)
                    .exclude(status="failed")
                    .aggregate(s=Sum("amount_paise"))["s"]
                    or 0
                )
                amount = max(1, left * args[0] // 100)
                try:
                    refund_payment(payment_id=paying, reason="property", amount_paise=amount)
                except RefundRefused:
                    pass
        elif kind == "refund_extra" and (payment := self.payment(args[0])):
            order.refresh_from_db()
            if payment["id"] in order.payment_metadata.get("flagged_payment_ids", []):
                fake.refund_status = "processed"
                try:
                    refund_payment(payment_id=payment["id"], reason="duplicate")
                except RefundRefused:
                    pass
        elif kind == "settle":
            pending = Refund.objects.filter(payment__order=order, status="pending").first()
            if pending:
                refund_apply(
                    refund_id=pending.razorpay_refund_id,
                    payment_id=pending.payment.razorpay_payment_id,
                    amount_paise=pending.amount_paise,
                    status=args[0],
                    source="webhook",
                )


@pytest.mark.slow
@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_random_payments_and_refunds_keep_the_ledger_sound(
    actions, alice, plan, fake_razorpay, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        world = World(fake_razorpay, alice, plan)
        for action in actions:
            with django_capture_on_commit_callbacks(execute=True):
                world.run(action)
        report = ledger_audit(alert=False)
        assert report.problems == [], (actions, report.problems)
        order = Order.objects.get(pk=world.order.pk)
        invoice = TaxInvoice.objects.filter(order=order).first()
        if invoice is not None:
            notes = CreditNote.objects.filter(order=order)
            for name in ("taxable_paise", "cgst_paise", "sgst_paise", "igst_paise", "amount_paise"):
                credited = sum(getattr(note, name) for note in notes)
                assert credited <= getattr(invoice, "total_paise" if name == "amount_paise" else name), name
        captured_at_razorpay = [
            p
            for p in fake_razorpay.payments.values()
            if p["order_id"] == order.razorpay_order_id and p["status"] == "captured"
        ]
        ours = [
            p
            for p in captured_at_razorpay
            if p["id"] in {q["id"] for q in world.payments if q["status"] == "authorized"}
        ]
        assert len(ours) <= 1, "we captured two authorizations of one order"
        transaction.set_rollback(True)
