"""The mandate (a Razorpay token) per server and the debits asked from it."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class MandateStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the bank"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected by the bank"
    CANCELLED = "cancelled", "Cancelled"


class AutopayMandate(models.Model):
    """A server's e-mandate: the Razorpay token a paid autopay order registered.
    A server has at most one live mandate (pending or active; a partial unique
    index): registering another cancels this one. Statuses move only through
    mandates.mandate_transition, which writes a history row."""

    Status = MandateStatus
    LIVE = (MandateStatus.PENDING, MandateStatus.ACTIVE)
    TRANSITIONS = {
        MandateStatus.PENDING: {MandateStatus.ACTIVE, MandateStatus.REJECTED, MandateStatus.CANCELLED},
        MandateStatus.ACTIVE: {MandateStatus.CANCELLED},
        MandateStatus.REJECTED: set(),
        MandateStatus.CANCELLED: set(),
    }

    server = models.ForeignKey("servers.Server", on_delete=models.PROTECT, related_name="autopay_mandates")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The paid order whose payment registered the token.
    registered_by = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="+")
    razorpay_customer_id = models.CharField(max_length=64, verbose_name="Razorpay customer ID")
    razorpay_token_id = models.CharField(max_length=64, unique=True, verbose_name="Razorpay token ID")
    # Copied when registered: a debit is asked with these, a change of number later has no effect on them.
    contact = models.CharField(max_length=10)
    method = models.CharField(max_length=32, blank=True)
    # Integer paise: the token's max_amount; no debit above it is asked.
    max_amount_paise = models.PositiveBigIntegerField(verbose_name="Max amount (paise)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # When Razorpay confirmed the token was cancelled at our request (turned off or replaced);
    # null with status cancelled by us: the call is still owed (retried by run_billing).
    razorpay_cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name="Cancelled at Razorpay at")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=MandateStatus.values), name="autopay_mandate_status_valid"),
            models.UniqueConstraint(
                fields=["server"],
                condition=Q(status__in=["pending", "active"]),
                name="one_live_mandate_per_server",
            ),
        ]

    def __str__(self):
        return f"Autopay {self.razorpay_token_id} ({self.status}) for server #{self.server_id}"


class AutopayMandateChange(models.Model):
    """Status history of a mandate: who or what moved it, when, and why."""

    mandate = models.ForeignKey(AutopayMandate, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    source = models.CharField(max_length=32)  # checkout, webhook, token_fetch, customer, run_billing, ...
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.from_status or '(new)'} -> {self.to_status} by {self.source}"


class DebitStatus(models.TextChoices):
    # Written before Razorpay is asked for anything; its Razorpay order may be made again.
    ORDERING = "ordering", "Making the Razorpay order"
    # Written before the debit is asked: from here on it is never asked again;
    # a lost answer is looked up among the order's payments at Razorpay.
    ASKING = "asking", "Asking Razorpay for the debit"
    REQUESTED = "requested", "Debit requested (pre-debit notice sent)"
    CAPTURED = "captured", "Paid"
    FAILED = "failed", "Failed"
    # Not asked: the renewal is above the mandate's limit (the customer pays by hand).
    OVER_LIMIT = "over_limit", "Above the autopay limit"
    # Not asked: the mandate ended before the debit was asked.
    WITHDRAWN = "withdrawn", "Not asked (autopay ended)"


class AutopayDebit(models.Model):
    """The one debit attempt for a renewal order (OneToOne: never a second),
    written before Razorpay is asked. `lease_until` holds an attempt in flight
    (ordering, asking) for its runner; past it, another runner resolves it by
    looking the order's payments up at Razorpay."""

    Status = DebitStatus
    IN_FLIGHT = (DebitStatus.ORDERING, DebitStatus.ASKING)
    SETTLED = (DebitStatus.CAPTURED, DebitStatus.FAILED, DebitStatus.OVER_LIMIT, DebitStatus.WITHDRAWN)

    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="autopay_debit")
    mandate = models.ForeignKey(AutopayMandate, on_delete=models.PROTECT, related_name="debits")
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")  # integer paise: exactly the order's total
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ORDERING)
    razorpay_order_id = models.CharField(max_length=64, blank=True, verbose_name="Razorpay order ID")
    razorpay_payment_id = models.CharField(max_length=64, blank=True, verbose_name="Razorpay payment ID")
    lease_until = models.DateTimeField(null=True, blank=True)
    asked_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DebitStatus.values), name="autopay_debit_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["lease_until"], name="autopay_debit_in_flight", condition=Q(status__in=["ordering", "asking"])
            ),
            models.Index(fields=["status", "created_at"], name="autopay_debit_status_created"),
        ]

    def __str__(self):
        return f"Debit of order {self.order_id} ({self.status})"


class AutopayTokenReport(models.Model):
    """A token status Razorpay reported (token.* webhook) before the payment that
    registers its mandate was recorded: kept, and applied when the mandate is."""

    razorpay_token_id = models.CharField(max_length=64, db_index=True, verbose_name="Razorpay token ID")
    status = models.CharField(max_length=16)  # Razorpay's: confirmed, rejected, cancelled, paused
    event_id = models.CharField(max_length=100, unique=True, verbose_name="Event ID")
    reported_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["reported_at", "id"]

    def __str__(self):
        return f"{self.razorpay_token_id} {self.status}"
