from django.contrib import admin, messages
from django.template.response import TemplateResponse

from hostingportal.admin_inlines import ReadOnlyTabularInline

from .gateways import GatewayError
from .models import HostingPlan, InvoiceSequence, Order, OrderEvent, Payment, Refund, WebhookEvent
from .refunds import RefundRefused, order_refund, order_refund_plan
from .templatetags.money import rupees

MONEY_FIELDS = (
    "unit_price_paise",
    "discount_paise",
    "subtotal_paise",
    "gst_rate_percent",
    "tax_paise",
    "total_paise",
    "currency",
)
SNAPSHOT_FIELDS = (
    "plan_slug",
    "plan_name",
    "plan_vcpu",
    "plan_ram_gb",
    "plan_disk_gb",
    "plan_provider_size",
    "plan_provider_image",
)


@admin.register(HostingPlan)
class HostingPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "price", "vcpu", "ram_gb", "disk_gb", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Price / month excl. GST", ordering="price_paise")
    def price(self, plan):
        return rupees(plan.price_paise)

    def has_delete_permission(self, request, obj=None):
        # Sold plans are PROTECTed by the database; retire them with is_active.
        return obj is None or not obj.orders.exists()


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["at", "kind", "from_status", "to_status", "source", "actor", "message"]


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ["razorpay_payment_id", "status", "amount_paise", "currency", "method", "error_description", "captured_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "user",
        "plan_name",
        "billing_cycle_months",
        "total",
        "status",
        "needs_attention",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", "needs_attention", "billing_cycle_months", "plan_slug"]
    search_fields = ["number", "user__email", "razorpay_order_id", "payments__razorpay_payment_id", "invoice_number"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [PaymentInline, OrderEventInline]
    actions = ["refund_orders"]
    readonly_fields = [
        "number",
        "user",
        "plan",
        "status",
        "billing_cycle_months",
        *SNAPSHOT_FIELDS,
        *MONEY_FIELDS,
        "razorpay_order_id",
        "payment_metadata",
        "invoice_number",
        "invoice_date",
        "paid_at",
        "created_at",
        "updated_at",
        "handled_at",
        "handled_by",
    ]
    fields = [
        "number",
        "user",
        "plan",
        "status",
        "billing_cycle_months",
        *SNAPSHOT_FIELDS,
        *MONEY_FIELDS,
        "buyer_name",
        "buyer_address",
        "buyer_state",
        "buyer_gstin",
        "razorpay_order_id",
        "payment_metadata",
        "needs_attention",
        "attention_reason",
        "handled_at",
        "handled_by",
        "handled_reason",
        "invoice_number",
        "invoice_date",
        "paid_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="Total", ordering="total_paise")
    def total(self, order):
        return rupees(order.total_paise)

    def has_refund_permission(self, request):
        return request.user.has_perm("billing.refund_order")

    @admin.action(permissions=["refund"], description="Refund selected orders through Razorpay")
    def refund_orders(self, request, queryset):
        """A confirmation page first (what would be refunded, a required reason,
        an amount for a single order); only its POST with `apply` moves money,
        through the same service as `refund_order`."""
        orders = list(queryset.order_by("number"))
        amount = request.POST.get("amount_paise", "").strip()
        amount_paise = int(amount) if amount.isdigit() and len(orders) == 1 else None
        if request.POST.get("apply"):
            reason = request.POST.get("reason", "")
            for order in orders:
                try:
                    refund = order_refund(order.number, reason=reason, actor=request.user, amount_paise=amount_paise)
                except (RefundRefused, GatewayError) as exc:
                    self.message_user(request, f"{order.number}: refund not made: {exc}", messages.ERROR)
                else:
                    self.message_user(
                        request,
                        f"{order.number}: refund {refund.razorpay_refund_id} of {rupees(refund.amount_paise)} "
                        f"is {refund.status}.",
                        messages.SUCCESS,
                    )
            return None
        rows = []
        for order in orders:
            try:
                plan = order_refund_plan(order.number, amount_paise)
                rows.append({"order": order, "amount_paise": plan.amount_paise, "payment_id": plan.payment_id})
            except RefundRefused as exc:
                rows.append({"order": order, "refused": str(exc)})
        context = {
            **self.admin_site.each_context(request),
            "title": "Refund orders through Razorpay",
            "rows": rows,
            "single": len(orders) == 1,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/order/refund_confirm.html", context)

    def has_add_permission(self, request):
        # Orders come from checkout, where the one pricing function sets amounts.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != Order.Status.CREATED:
            fields += ["buyer_name", "buyer_address", "buyer_state", "buyer_gstin"]
        return fields


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["razorpay_payment_id", "order", "status", "amount_paise", "currency", "method", "created_at"]
    list_filter = ["status", "method"]
    search_fields = ["razorpay_payment_id", "order__number", "order__razorpay_order_id"]
    list_select_related = ["order"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(PaymentAdmin):
    inlines = []
    list_display = ["razorpay_refund_id", "payment", "amount_paise", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["razorpay_refund_id", "payment__razorpay_payment_id", "payment__order__number"]
    list_select_related = ["payment"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "status", "razorpay_order_id", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "razorpay_order_id", "razorpay_payment_id"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(WebhookEventAdmin):
    list_display = ["order", "at", "kind", "from_status", "to_status", "source", "actor"]
    list_filter = ["kind", "source"]
    search_fields = ["order__number", "message"]
    list_select_related = ["order", "actor"]


@admin.register(InvoiceSequence)
class InvoiceSequenceAdmin(WebhookEventAdmin):
    list_display = ["financial_year", "last_number"]
    list_filter = []
    search_fields = ["financial_year"]
