"""Referrals, the commissions they earn, and the payouts that settle them.

Money is integer paise. A commission is written once, in the transaction that
marks its order paid, and then only moves along Commission.TRANSITIONS (or is
reduced while pending), each change leaving a CommissionEvent.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import User
from core.templatetags.money import rupees


class Referral(models.Model):
    """Who brought a customer, written once when they signed up: the first referral stands."""

    referred = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral")
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made")
    code = models.CharField(max_length=16)  # the referrer's code as it was used
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(referred=F("referrer")), name="referral_not_self")]

    def __str__(self):
        return f"{self.referred_id} referred by {self.referrer_id}"


class CommissionStatus(models.TextChoices):
    PENDING = "pending", "Pending (in the hold period)"
    APPROVED = "approved", "Approved (to be paid)"
    PAID = "paid", "Paid"
    REVERSED = "reversed", "Reversed (order refunded)"


class Payout(models.Model):
    """Money staff sent an affiliate (bank transfer, UPI...), settling approved commissions oldest first."""

    affiliate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="affiliate_payouts")
    # Integer paise: exactly the sum of the commissions it settled.
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")
    reference = models.CharField(max_length=100, help_text="The transfer's reference (UTR, transaction id)")
    paid_on = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_from = models.GenericIPAddressField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        permissions = [("pay_commission", "Can record a payout that marks approved commissions paid")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_paise__gt=0), name="payout_amount_positive"),
            models.UniqueConstraint(fields=["affiliate", "reference"], name="payout_reference_unique"),
        ]

    def __str__(self):
        return f"Payout {self.pk} to {self.affiliate_id}: {rupees(self.amount_paise)}"


class Commission(models.Model):
    Status = CommissionStatus

    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REVERSED},
        # Approved while a refund asked before it was pending (only before issue 23's
        # fix, or staff's data): that refund, processed, still reverses it.
        Status.APPROVED: {Status.PAID, Status.REVERSED},
        Status.PAID: set(),
        Status.REVERSED: set(),
    }

    # One commission per order, guaranteed by the database (the payment funnel's
    # insert is ON CONFLICT DO NOTHING on this column).
    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="commission")
    affiliate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commissions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The terms as they stood when the order was paid; later setting changes leave them alone.
    subtotal_paise = models.PositiveBigIntegerField(verbose_name="Subtotal (paise)")  # the order's, GST excluded
    percent = models.DecimalField(max_digits=5, decimal_places=2, verbose_name="Commission rate (%)")
    original_amount_paise = models.PositiveBigIntegerField(
        verbose_name="Original amount (paise)"
    )  # percent of subtotal, half-up
    amount_paise = models.PositiveBigIntegerField(verbose_name="Amount (paise)")  # less reductions for partial refunds
    hold_until = models.DateTimeField()  # approved by run_billing from then on
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, null=True, blank=True, related_name="commissions")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "hold_until"], name="commission_status_hold"),
            models.Index(fields=["affiliate", "status", "approved_at"], name="commission_affiliate_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CommissionStatus.values), name="commission_status_valid"),
            models.CheckConstraint(
                condition=Q(amount_paise__lte=F("original_amount_paise")), name="commission_never_grows"
            ),
            models.CheckConstraint(
                condition=Q(status=CommissionStatus.PAID, payout__isnull=False)
                | (~Q(status=CommissionStatus.PAID) & Q(payout__isnull=True)),
                name="commission_paid_by_a_payout",
            ),
        ]

    def __str__(self):
        return f"Commission on order {self.order_id}: {rupees(self.amount_paise)} ({self.status})"

    def can_transition_to(self, new_status):
        return new_status in self.TRANSITIONS[self.Status(self.status)]


class CommissionEvent(models.Model):
    """History of a commission after it was written: approval, payout, reversal, reduction."""

    commission = models.ForeignKey(Commission, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20)  # "approved", "paid", "reversed", "reduced"
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    amount_before_paise = models.PositiveBigIntegerField(verbose_name="Amount before (paise)")
    amount_after_paise = models.PositiveBigIntegerField(verbose_name="Amount after (paise)")
    source = models.CharField(max_length=40)  # "run_billing", "admin", "refund", ...
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.commission_id} {self.kind}"


class Affiliate(User):
    """A customer seen as an affiliate, for the admin's list of balances and payouts."""

    class Meta:
        proxy = True
        verbose_name = "affiliate"
