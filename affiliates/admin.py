from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin_inlines import ReadOnlyModelAdmin, ReadOnlyTabularInline
from core.display import rupee_field
from core.templatetags.money import rupees

from . import selectors
from .models import Affiliate, Commission, CommissionEvent, Payout, Referral


@admin.register(Affiliate)
class AffiliateAdmin(ReadOnlyModelAdmin):
    """Customers who referred someone, with what they are owed and a payout action."""

    list_display = ["email", "referral_code", "referrals", "pending", "approved", "paid", "payout_link"]
    search_fields = ["email", "referral_code"]
    fields = ["email", "referral_code", "referrals", "pending", "approved", "paid", "payout_link"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Who is owed the most first.
        return selectors.affiliates_with_balances(super().get_queryset(request)).order_by("-approved_paise", "email")

    @admin.display(description="Referrals", ordering="referral_count")
    def referrals(self, user):
        return user.referral_count

    @admin.display(description="Pending", ordering="pending_paise")
    def pending(self, user):
        return rupees(user.pending_paise)

    @admin.display(description="Approved (to pay)", ordering="approved_paise")
    def approved(self, user):
        return rupees(user.approved_paise)

    @admin.display(description="Paid", ordering="paid_paise")
    def paid(self, user):
        return rupees(user.paid_paise)

    @admin.display(description="Payout")
    def payout_link(self, user):
        if not user.approved_paise:
            return "—"
        return format_html('<a href="{}">Record payout</a>', reverse("backoffice:payout", args=[user.pk]))


class CommissionEventInline(ReadOnlyTabularInline):
    model = CommissionEvent
    fields = [
        "at",
        "kind",
        "from_status",
        "to_status",
        "amount_before",
        "amount_after",
        "source",
        "actor",
        "note",
    ]
    amount_before = rupee_field("amount_before_paise", "amount before")
    amount_after = rupee_field("amount_after_paise", "amount after")


@admin.register(Commission)
class CommissionAdmin(ReadOnlyModelAdmin):
    list_display = ["order", "affiliate", "amount", "status", "created_at", "hold_until", "approved_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["order__number", "affiliate__email", "order__user__email"]
    list_select_related = ["order", "affiliate"]
    date_hierarchy = "created_at"
    inlines = [CommissionEventInline]
    fields = [
        "order",
        "affiliate",
        "status",
        "subtotal",
        "percent",
        "original_amount",
        "amount",
        "created_at",
        "hold_until",
        "approved_at",
        "paid_at",
        "reversed_at",
        "payout",
    ]
    readonly_fields = fields
    subtotal = rupee_field("subtotal_paise", "Order subtotal (excl. GST)")
    original_amount = rupee_field("original_amount_paise", "Amount first earned")
    amount = rupee_field("amount_paise", "Amount")


class PayoutCommissionInline(ReadOnlyTabularInline):
    model = Commission
    fields = ["order", "amount", "approved_at", "paid_at"]
    amount = rupee_field("amount_paise", "amount")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyModelAdmin):
    list_display = ["affiliate", "amount", "reference", "paid_on", "recorded_by", "recorded_at"]
    search_fields = ["affiliate__email", "reference"]
    list_select_related = ["affiliate", "recorded_by"]
    date_hierarchy = "paid_on"
    inlines = [PayoutCommissionInline]
    fields = [
        "affiliate",
        "amount",
        "reference",
        "paid_on",
        "note",
        "recorded_by",
        "recorded_from",
        "recorded_at",
    ]
    readonly_fields = fields
    amount = rupee_field("amount_paise", "Amount")


@admin.register(Referral)
class ReferralAdmin(ReadOnlyModelAdmin):
    list_display = ["referred", "referrer", "code", "created_at"]
    search_fields = ["referred__email", "referrer__email", "code"]
    list_select_related = ["referred", "referrer"]
