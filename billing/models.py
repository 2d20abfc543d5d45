"""Plans, orders, gateway payments and webhook deliveries.

Money is integer paise everywhere (never float); amounts on an order are
written once, by billing.pricing.quote, when the order is created.
"""

import secrets
import string

from django.conf import settings
from django.db import models
from django.db.models import F, Q

CURRENCY = "INR"
BILLING_CYCLES = (1, 3, 6, 12)
ORDER_NUMBER_ALPHABET = string.ascii_uppercase + string.digits


def new_order_number():
    return "ORD-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(10))


class HostingPlan(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # Integer paise per month, GST excluded.
    price_paise = models.PositiveBigIntegerField(verbose_name="Price (paise)")
    vcpu = models.PositiveSmallIntegerField(verbose_name="vCPUs")
    ram_gb = models.PositiveSmallIntegerField(verbose_name="RAM (GB)")
    disk_gb = models.PositiveIntegerField(verbose_name="Disk (GB)")
    # Whole-percent discount on the subtotal for longer billing cycles.
    discount_3m_percent = models.PositiveSmallIntegerField(default=0, verbose_name="Discount for 3 months (%)")
    discount_6m_percent = models.PositiveSmallIntegerField(default=0, verbose_name="Discount for 6 months (%)")
    discount_12m_percent = models.PositiveSmallIntegerField(default=0, verbose_name="Discount for 12 months (%)")
    # Provider mapping for the libcloud backend; blank uses the provider's defaults.
    provider_size = models.CharField(max_length=100, blank=True)
    provider_image = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hosting_plans"
        ordering = ["sort_order", "price_paise"]
        constraints = [
            models.CheckConstraint(condition=Q(price_paise__gte=0), name="plan_price_non_negative"),
            models.CheckConstraint(
                condition=Q(discount_3m_percent__lte=90)
                & Q(discount_6m_percent__lte=90)
                & Q(discount_12m_percent__lte=90),
                name="plan_discount_at_most_90_percent",
            ),
        ]

    def __str__(self):
        return self.name

    def discount_percent_for(self, months):
        return {1: 0, 3: self.discount_3m_percent, 6: self.discount_6m_percent, 12: self.discount_12m_percent}[months]


class OrderStatus(models.TextChoices):
    CREATED = "created", "Awaiting payment"
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


class OrderKind(models.TextChoices):
    NEW = "new", "New server"
    RENEWAL = "renewal", "Renewal"
    UPGRADE = "upgrade", "Upgrade"


class Order(models.Model):
    Status = OrderStatus
    Kind = OrderKind

    # Allowed transitions; services check against this before changing status.
    TRANSITIONS = {
        Status.CREATED: {Status.PAID, Status.CANCELLED},
        Status.PAID: {Status.REFUNDED},
        Status.REFUNDED: set(),
        # A late capture of a cancelled order is still money received: it is paid.
        Status.CANCELLED: {Status.PAID},
    }

    number = models.CharField(max_length=14, unique=True, default=new_order_number, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(HostingPlan, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    # A `new` order buys a server (Server.order); a `renewal` extends `renews_server`.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NEW)
    renews_server = models.ForeignKey(
        "servers.Server", on_delete=models.PROTECT, null=True, blank=True, related_name="renewal_orders"
    )
    # An `upgrade` moves `upgrades_server` from `previous_plan` to `plan` for the rest of
    # its period (CONTRACT: Plan changes), priced by pricing.upgrade_quote.
    upgrades_server = models.ForeignKey(
        "servers.Server", on_delete=models.PROTECT, null=True, blank=True, related_name="upgrade_orders"
    )
    billing_cycle_months = models.PositiveSmallIntegerField(default=1)

    # Snapshot of what was sold: later plan edits change nothing here, and
    # recovery builds servers from these columns without looking the plan up.
    plan_slug = models.SlugField(max_length=50)
    plan_name = models.CharField(max_length=100)
    plan_vcpu = models.PositiveSmallIntegerField(verbose_name="Plan vCPUs")
    plan_ram_gb = models.PositiveSmallIntegerField(verbose_name="Plan RAM (GB)")
    plan_disk_gb = models.PositiveIntegerField(verbose_name="Plan disk (GB)")
    plan_provider_size = models.CharField(max_length=100, blank=True)
    plan_provider_image = models.CharField(max_length=100, blank=True)
    # An upgrade's other plan and the days it pays for, as priced (the invoice's line):
    # from `service_from` to `service_until` (the server's paid_until then, local dates),
    # `days_left` of the period's `period_days`.
    previous_plan = models.ForeignKey(HostingPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    previous_plan_name = models.CharField(max_length=100, blank=True)
    service_from = models.DateField(null=True, blank=True)
    service_until = models.DateField(null=True, blank=True)
    days_left = models.PositiveSmallIntegerField(null=True, blank=True)
    period_days = models.PositiveSmallIntegerField(null=True, blank=True)

    # Integer paise, from billing.pricing.quote and nothing else.
    unit_price_paise = models.PositiveBigIntegerField(verbose_name="Unit price (paise)")
    discount_paise = models.PositiveBigIntegerField(default=0, verbose_name="Discount (paise)")
    subtotal_paise = models.PositiveBigIntegerField(verbose_name="Subtotal (paise)")
    gst_rate_percent = models.PositiveSmallIntegerField(verbose_name="GST rate (%)")
    tax_paise = models.PositiveBigIntegerField(verbose_name="Tax (paise)")
    total_paise = models.PositiveBigIntegerField(verbose_name="Total (paise)")
    currency = models.CharField(max_length=3, default=CURRENCY)

    # Buyer details as they stood at purchase, for the tax invoice.
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_address = models.TextField(blank=True)
    buyer_state = models.CharField(max_length=100, blank=True)
    buyer_gstin = models.CharField(max_length=15, blank=True, verbose_name="Buyer GSTIN")

    # The buyer's affiliate, copied from their referral when the order is created (a
    # referral never changes), so the payment funnel knows without another query
    # whether paying this order earns a commission. Null: nobody referred the buyer.
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    razorpay_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True, verbose_name="Razorpay order ID")
    # Gateway facts worth keeping that have no column of their own (last payment
    # id, failure reasons, captured method); never used to compute amounts.
    payment_metadata = models.JSONField(default=dict, blank=True)

    # Staff attention: set when something needs a human (amount mismatch, ...).
    needs_attention = models.BooleanField(default=False)
    attention_reason = models.TextField(blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_reason = models.TextField(blank=True)

    # The one payment this order may capture, claimed under the order's row lock
    # before the capture call (verify or reconcile), with a lease: no second
    # payment is captured while the claim holds. An expired claim is taken over
    # only by a caller that saw at Razorpay that nothing was captured.
    capture_payment_id = models.CharField(max_length=64, blank=True, verbose_name="Payment holding the capture claim (ID)")
    capture_claimed_until = models.DateTimeField(null=True, blank=True)
    # The reconciler's budget: when it next asks Razorpay about this unpaid order
    # (null: its first look, RECONCILE_OFFSETS[0] after creation) and how often it has.
    reconcile_next_at = models.DateTimeField(null=True, blank=True)
    reconcile_checks = models.PositiveSmallIntegerField(default=0)
    # When the customer last set out to pay: the Razorpay order made after the
    # order was placed (a renewal issued days ahead, a retry after Razorpay was
    # down) or Checkout reopened. Null: since the order was placed. Razorpay's
    # capture window and the reconciler's looks run from it (payable_since).
    payable_from = models.DateTimeField(null=True, blank=True)

    invoice_number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    invoice_date = models.DateField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("refund_order", "Can refund an order through Razorpay"),
            ("mark_order_handled", "Can mark a flagged order handled"),
        ]
        indexes = [
            models.Index(fields=["status", "paid_at"], name="order_status_paid_at"),
            models.Index(fields=["user", "-created_at"], name="order_user_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(billing_cycle_months__in=BILLING_CYCLES), name="order_cycle_valid"),
            models.CheckConstraint(
                condition=Q(subtotal_paise__gte=0) & Q(tax_paise__gte=0) & Q(total_paise__gte=0),
                name="order_money_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_paise=F("subtotal_paise") + F("tax_paise")), name="order_total_adds_up"
            ),
            models.CheckConstraint(condition=Q(number__regex=r"^ORD-[A-Z0-9]{10}$"), name="order_number_format"),
            models.CheckConstraint(condition=Q(currency="INR"), name="order_currency_inr"),
            models.CheckConstraint(condition=Q(kind__in=OrderKind.values), name="order_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=OrderKind.NEW, renews_server__isnull=True, upgrades_server__isnull=True)
                | Q(kind=OrderKind.RENEWAL, renews_server__isnull=False, upgrades_server__isnull=True)
                | Q(kind=OrderKind.UPGRADE, renews_server__isnull=True, upgrades_server__isnull=False),
                name="order_renewal_has_server",
            ),
            # At most one unpaid upgrade per server: a second request replaces the first.
            models.UniqueConstraint(
                fields=["upgrades_server"],
                condition=Q(status=OrderStatus.CREATED),
                name="one_unpaid_upgrade_per_server",
            ),
            # At most one unpaid renewal per server: run_billing, the renew API and
            # the server page can never issue a second one, however they race.
            models.UniqueConstraint(
                fields=["renews_server"],
                condition=Q(status=OrderStatus.CREATED),
                name="one_unpaid_renewal_per_server",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def payable_since(self):
        """When Razorpay's capture window for this order started: see `payable_from`."""
        return self.payable_from or self.created_at

    def can_transition_to(self, new_status):
        return new_status in self.TRANSITIONS[self.Status(self.status)]


class OrderEvent(models.Model):
    """History of an order: what happened, when, and who or what did it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    # "verify", "webhook", "reconcile", "admin", "recover_servers", "system", ...
    source = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order_id} {self.kind}"


class PaymentStatus(models.TextChoices):
    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"


class Payment(models.Model):
    """One Razorpay payment attempt against an order."""

    Status = PaymentStatus

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    razorpay_payment_id = models.CharField(max_length=64, unique=True, verbose_name="Razorpay payment ID")
    status = models.CharField(max_length=16, choices=Status.choices)
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_description = models.TextField(blank=True)
    gateway_data = models.JSONField(default=dict, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
        ]

    def __str__(self):
        return self.razorpay_payment_id


class RefundStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class Refund(models.Model):
    """A refund at Razorpay, recorded as Razorpay reports it: only a `processed`
    refund counts as money returned (credit note, refunded order)."""

    Status = RefundStatus
    # Razorpay settles a pending refund one way or the other; settled is final.
    TRANSITIONS = {Status.PENDING: {Status.PROCESSED, Status.FAILED}, Status.PROCESSED: set(), Status.FAILED: set()}

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    razorpay_refund_id = models.CharField(max_length=64, unique=True, verbose_name="Razorpay refund ID")
    # Integer paise, at most what is left of the payment when it was asked for.
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_valid"),
        ]

    def __str__(self):
        return self.razorpay_refund_id


class WebhookEventStatus(models.TextChoices):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"
    # About a payment we have not recorded yet (a refund before its capture):
    # kept and applied once the payment is recorded, never dropped.
    WAITING = "waiting"


class WebhookEvent(models.Model):
    """Every signed Razorpay delivery, stored before it is acted on."""

    Status = WebhookEventStatus

    event_id = models.CharField(max_length=100, unique=True, verbose_name="Event ID")
    event_type = models.CharField(max_length=60)
    raw_body = models.TextField()
    signature = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    razorpay_order_id = models.CharField(max_length=64, blank=True, db_index=True, verbose_name="Razorpay order ID")
    razorpay_payment_id = models.CharField(max_length=64, blank=True, verbose_name="Razorpay payment ID")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=WebhookEventStatus.values), name="webhook_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_status_received"),
            models.Index(fields=["razorpay_payment_id"], name="webhook_waiting_payment", condition=Q(status="waiting")),
        ]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class GstDocument(models.Model):
    """What a tax invoice and a credit note both print, copied in when the
    document is written: the parties as they stood, the place of supply, the
    tax regime and split. Integer paise; tax = CGST + SGST + IGST."""

    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(blank=True)
    seller_state = models.CharField(max_length=100)
    seller_gstin = models.CharField(max_length=15, blank=True, verbose_name="Seller GSTIN")
    buyer_name = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_state = models.CharField(max_length=100, blank=True)
    buyer_gstin = models.CharField(max_length=15, blank=True, verbose_name="Buyer GSTIN")
    # Place of supply: the state of the buyer's GSTIN, else the state they chose,
    # else (an unregistered buyer who named none) the seller's.
    place_of_supply = models.CharField(max_length=100)
    place_of_supply_code = models.CharField(max_length=2, blank=True)
    intra_state = models.BooleanField()
    taxable_paise = models.PositiveBigIntegerField(verbose_name="Taxable (paise)")
    gst_rate_percent = models.PositiveSmallIntegerField(verbose_name="GST rate (%)")
    # CGST = tax // 2 and SGST = the rest (an odd paisa goes to SGST); IGST = tax.
    cgst_paise = models.PositiveBigIntegerField(default=0, verbose_name="CGST (paise)")
    sgst_paise = models.PositiveBigIntegerField(default=0, verbose_name="SGST (paise)")
    igst_paise = models.PositiveBigIntegerField(default=0, verbose_name="IGST (paise)")
    tax_paise = models.PositiveBigIntegerField(verbose_name="Tax (paise)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class TaxInvoice(GstDocument):
    """The GST tax invoice of a paid order, written once in the payment's
    transaction with everything it says copied in. Pages and the PDF render this
    row only; later settings or profile changes never rewrite it."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="tax_invoice")
    number = models.CharField(max_length=16, unique=True)
    issued_on = models.DateField()  # Asia/Kolkata date of the payment
    # [{"description", "sac", "quantity", "unit_price_paise", "gross_paise", "discount_paise", "taxable_paise"}]
    lines = models.JSONField()
    total_paise = models.PositiveBigIntegerField(verbose_name="Total (paise)")

    class Meta:
        permissions = [
            ("view_gst_return", "Can see and download the GSTR-1 return"),
            ("view_business_reports", "Can see the business reports (revenue, renewals, GST)"),
        ]
        # The GSTR-1 return and the reports read a month's documents by date.
        indexes = [models.Index(fields=["issued_on"], name="invoice_issued_on")]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_paise=F("cgst_paise") + F("sgst_paise") + F("igst_paise")), name="invoice_tax_adds_up"
            ),
            models.CheckConstraint(
                condition=Q(total_paise=F("taxable_paise") + F("tax_paise")), name="invoice_total_adds_up"
            ),
        ]

    def __str__(self):
        return self.number


class CreditNote(GstDocument):
    """A GST credit note (CGST Rule 53) for a processed refund of the payment an
    invoice was paid with: written once, with the invoice's parties, place of
    supply and tax regime copied in, and rendered from what was written."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="credit_note")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(TaxInvoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=16, unique=True)  # its own series: CN/26-27/000001
    issued_on = models.DateField()  # Asia/Kolkata date the refund was processed
    invoice_number = models.CharField(max_length=16)
    invoice_date = models.DateField()
    reason = models.TextField()
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")  # = taxable + tax

    class Meta:
        ordering = ["issued_on", "id"]
        indexes = [models.Index(fields=["issued_on"], name="credit_note_issued_on")]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_paise=F("cgst_paise") + F("sgst_paise") + F("igst_paise")),
                name="credit_note_tax_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(amount_paise=F("taxable_paise") + F("tax_paise")), name="credit_note_amount_adds_up"
            ),
        ]

    def __str__(self):
        return self.number


class CreditNoteSequence(models.Model):
    """Gap-free credit-note counter per financial year, apart from invoice numbers."""

    financial_year = models.CharField(max_length=7, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.financial_year}: {self.last_number}"


class LedgerAudit(models.Model):
    """One run of `audit_ledger` (the daily beat or by hand): kept so the staff
    dashboard shows the latest result and when it ran."""

    ran_at = models.DateTimeField(auto_now_add=True)
    orders_checked = models.PositiveIntegerField()
    problems = models.JSONField(default=list)  # [{"order", "problem"}]

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self):
        return f"{self.ran_at:%Y-%m-%d %H:%M}: {len(self.problems)} problem(s)"


class InvoiceSequence(models.Model):
    """Gap-free invoice counter per Indian financial year (April–March), e.g. "2026-27"."""

    financial_year = models.CharField(max_length=7, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.financial_year}: {self.last_number}"


class RazorpayCustomer(models.Model):
    """A customer's Razorpay customer (recurring payments need one), made once and
    kept, with the mobile number Razorpay requires for them: asked once at the first
    autopay checkout and remembered for the next."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="razorpay_customer")
    # Ten digits, Indian mobile number without the +91.
    contact = models.CharField(max_length=10)
    # Empty until Razorpay has answered (the number may be saved before Razorpay is reached).
    razorpay_customer_id = models.CharField(max_length=64, blank=True, verbose_name="Razorpay customer ID")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(contact__regex=r"^[0-9]{10}$"), name="razorpay_customer_contact_digits"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.razorpay_customer_id or '(not yet at Razorpay)'}"
