import factory

from accounts.factories import UserFactory

from . import pricing
from .models import HostingPlan, Order, Payment, Refund, WebhookEvent


class HostingPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HostingPlan
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    price_paise = 112000
    vcpu = 2
    ram_gb = 4
    disk_gb = 80


class OrderFactory(factory.django.DjangoModelFactory):
    """An order priced by the real pricing function, as checkout would create it."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(HostingPlanFactory)
    billing_cycle_months = 1
    plan_slug = factory.SelfAttribute("plan.slug")
    plan_name = factory.SelfAttribute("plan.name")
    plan_vcpu = factory.SelfAttribute("plan.vcpu")
    plan_ram_gb = factory.SelfAttribute("plan.ram_gb")
    plan_disk_gb = factory.SelfAttribute("plan.disk_gb")
    razorpay_order_id = factory.Sequence(lambda n: f"order_T{n:012d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        q = pricing.quote(kwargs["plan"], kwargs["billing_cycle_months"])
        amounts = dict(
            unit_price_paise=q.unit_price_paise,
            discount_paise=q.discount_paise,
            subtotal_paise=q.subtotal_paise,
            gst_rate_percent=q.gst_rate_percent,
            tax_paise=q.tax_paise,
            total_paise=q.total_paise,
        )
        for key, value in amounts.items():
            kwargs.setdefault(key, value)
        order = super()._create(model_class, *args, **kwargs)
        if order.status in ("paid", "refunded") and order.invoice_number:
            # As the payment funnel does: a paid order's invoice is a stored document.
            from .invoices import invoice_document

            order.invoice_date = order.invoice_date or (order.paid_at or order.created_at).date()
            invoice_document(order).save()
        return order


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    razorpay_payment_id = factory.Sequence(lambda n: f"pay_T{n:012d}")
    status = Payment.Status.CAPTURED
    amount_paise = factory.SelfAttribute("order.total_paise")
    currency = "INR"
    method = "card"


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    payment = factory.SubFactory(PaymentFactory)
    razorpay_refund_id = factory.Sequence(lambda n: f"rfnd_T{n:012d}")
    amount_paise = factory.SelfAttribute("payment.amount_paise")
    status = "processed"


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    event_id = factory.Sequence(lambda n: f"evt_T{n:012d}")
    event_type = "payment.captured"
    raw_body = "{}"
    signature = "0" * 64


def credit_note_issued(order, amount_paise, *, reason="Goodwill", when=None):
    """A processed refund of `amount_paise` on a paid, invoiced order (OrderFactory
    with status "paid" and an invoice_number) and the credit note the real
    credit-note service issues for it."""
    from .credit_notes import credit_note_issue

    payment = order.payments.first() or PaymentFactory(order=order)
    refund = RefundFactory(payment=payment, amount_paise=amount_paise, reason=reason)
    return credit_note_issue(order, refund, when=when)
