from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_inlines import ReadOnlyTabularInline
from core.display import rupee_field
from core.templatetags.money import rupees

from . import selectors, services
from .forms import PayoutForm
from .models import Affiliate, Commission, CommissionEvent, Payout, Referral


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the services; staff read them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Affiliate)
class AffiliateAdmin(ReadOnlyAdmin):
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
        return format_html(
            '<a href="{}">Record payout</a>', reverse("admin:affiliates_affiliate_payout", args=[user.pk])
        )

    def get_urls(self):
        payout = self.admin_site.admin_view(self.payout_view)
        return [path("<int:user_id>/payout/", payout, name="affiliates_affiliate_payout"), *super().get_urls()]

    def payout_view(self, request, user_id):
        """Record a payout: amount, reference and date, settling approved commissions oldest first."""
        if not request.user.has_perm("affiliates.pay_commission"):
            raise PermissionDenied
        affiliate = get_object_or_404(self.get_queryset(request), pk=user_id)
        form = PayoutForm(
            request.POST or None,
            initial={"amount": affiliate.approved_paise},  # paise: the field shows rupees
        )
        if request.method == "POST" and form.is_valid():
            try:
                payout = services.payout_record(
                    affiliate=affiliate,
                    amount_paise=form.amount_paise,
                    reference=form.cleaned_data["reference"],
                    paid_on=form.cleaned_data["paid_on"],
                    note=form.cleaned_data["note"],
                    recorded_by=request.user,
                    request=request,
                )
            except services.PayoutError as exc:
                form.add_error(None, str(exc))
            else:
                count = payout.commissions.count()
                messages.success(
                    request, f"Payout of {rupees(payout.amount_paise)} recorded; {count} commission(s) marked paid."
                )
                return redirect("admin:affiliates_affiliate_changelist")
        approved = Commission.objects.filter(affiliate=affiliate, status=Commission.Status.APPROVED).order_by(
            "approved_at", "pk"
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record a payout to {affiliate.email}",
            "affiliate": affiliate,
            "form": form,
            "approved": approved.select_related("order"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/affiliates/payout.html", context)


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
class CommissionAdmin(ReadOnlyAdmin):
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
class PayoutAdmin(ReadOnlyAdmin):
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
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["referred", "referrer", "code", "created_at"]
    search_fields = ["referred__email", "referrer__email", "code"]
    list_select_related = ["referred", "referrer"]
