from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from billing.forms import RupeesField
from billing.gst import is_intra_state, place_of_supply
from billing.invoices import tax_lines_of
from billing.models import CreditNote, HostingPlan, InvoiceSequence, Order, OrderEvent, Payment, Refund, WebhookEvent
from billing.pricing import tax_lines
from core.admin_inlines import ReadOnlyTabularInline
from core.display import customer_link, link, links, rupee_field, when
from core.templatetags.money import rupees
from security.staff_actions import StaffListActionsMixin, list_action

BUYER_FIELDS = ["buyer_name", "buyer_address", "buyer_state", "buyer_gstin"]
# Shown in rupees (the columns hold integer paise); the GST split is shown as the invoice prints it.
MONEY_FIELDS = ("unit_price", "discount", "subtotal", "gst", "total")
SNAPSHOT_FIELDS = (
    "plan_slug",
    "plan_name",
    "plan_vcpu",
    "plan_ram_gb",
    "plan_disk_gb",
    "plan_provider_size",
    "plan_provider_image",
)


class HostingPlanAdminForm(forms.ModelForm):
    """Staff type the price in rupees; it is stored exactly as integer paise."""

    price_rupees = RupeesField(label="Price / month excl. GST (₹)")

    class Meta:
        model = HostingPlan
        fields = [
            "name", "slug", "price_rupees", "vcpu", "ram_gb", "disk_gb",
            "discount_3m_percent", "discount_6m_percent", "discount_12m_percent",
            "provider_size", "provider_image", "is_active", "sort_order",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["price_rupees"].initial = self.instance.price_paise  # paise: the field shows rupees

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("price_rupees") is not None:
            self.instance.price_paise = cleaned["price_rupees"]  # RupeesField cleans to integer paise
        return cleaned


@admin.register(HostingPlan)
class HostingPlanAdmin(admin.ModelAdmin):
    form = HostingPlanAdminForm
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
    fields = ["payment", "status", "amount", "method", "error_description", "captured", "refunds"]
    amount = rupee_field("amount_paise", "amount")

    @admin.display(description="payment")
    def payment(self, payment):
        return link(payment, payment.razorpay_payment_id)

    @admin.display(description="captured")
    def captured(self, payment):
        return when(payment.captured_at)

    @admin.display(description="refunds")
    def refunds(self, payment):
        return links(payment.refunds.all(), lambda r: f"{r.razorpay_refund_id} {rupees(r.amount_paise)} {r.status}")


def staff_invoice_link(order, number):
    """The order's stored invoice as staff see it (backoffice), with its PDF."""
    url = reverse("backoffice:invoice", args=[order.number])
    return format_html('<a href="{}">{}</a> (<a href="{}?pdf=1">PDF</a>)', url, number, url)


def credit_note_text(note):
    return f"{note.number} of {when(note.issued_on)}, {rupees(note.amount_paise)}"


def staff_credit_note_link(note, text=None):
    """The stored credit note as staff see it (backoffice, by URL name), with its PDF."""
    url = reverse("backoffice:credit-note", args=[note.pk])
    return format_html('(<a href="{}">{}</a>, <a href="{}?pdf=1">PDF</a>)', url, text or note.number, url)


class NeedsStaffFilter(admin.SimpleListFilter):
    """Flagged orders still waiting for a human, apart from those already handled."""

    title = "flagged"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("waiting", "Flagged, not handled"), ("handled", "Flagged and handled"), ("no", "Not flagged")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(needs_attention=True, handled_at__isnull=True)
        if self.value() == "handled":
            return queryset.filter(needs_attention=True, handled_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(needs_attention=False)
        return queryset


@admin.register(Order)
class OrderAdmin(StaffListActionsMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "plan_name",
        "billing_cycle_months",
        "total",
        "status",
        "flagged",
        "created",
        "paid",
    ]
    list_filter = ["status", NeedsStaffFilter, "billing_cycle_months", "plan_slug", "paid_at"]
    search_fields = ["number", "user__email", "razorpay_order_id", "payments__razorpay_payment_id", "invoice_number"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    inlines = [PaymentInline, OrderEventInline]
    # The refund page is the back office's (security.staff_actions), reached by URL name.
    actions = [
        list_action(("order", "refund"), "refund_orders", description="Refund selected orders through Razorpay…")
    ]
    readonly_fields = [
        "number",
        "customer",
        "related",
        "plan",
        "status",
        "kind",
        "renews_server",
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
        # Only the audited "Mark handled" staff action changes these (ops.staff_actions), with handled_by.
        "needs_attention",
        "attention_reason",
        "handled_at",
        "handled_by",
        "handled_reason",
    ]
    # What staff look for first (who, what, how much, what came of it), the snapshot last.
    fieldsets = [
        (None, {"fields": ["number", "customer", "related", "status", "kind", "renews_server", "plan", "billing_cycle_months"]}),
        ("Money", {"fields": list(MONEY_FIELDS)}),
        ("Payment and invoice", {"fields": ["razorpay_order_id", "paid_at", "invoice_number", "invoice_date", "payment_metadata"]}),
        ("Staff attention", {"fields": ["needs_attention", "attention_reason", "handled_at", "handled_by", "handled_reason"]}),
        ("Billed to (as on the invoice)", {"fields": ["buyer_name", "buyer_address", "buyer_state", "buyer_gstin"]}),
        ("Plan as sold", {"fields": list(SNAPSHOT_FIELDS), "classes": ["collapse"]}),
        ("Dates", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]  # fmt: skip

    unit_price = rupee_field("unit_price_paise", "Price / month")
    discount = rupee_field("discount_paise", "Discount", sign="−")
    subtotal = rupee_field("subtotal_paise", "Subtotal (taxable)")
    total = rupee_field("total_paise", "Total")

    @admin.display(description="GST")
    def gst(self, order):
        document = getattr(order, "tax_invoice", None)
        if document is not None:  # as the stored invoice says, whatever the settings are now
            lines = tax_lines_of(document)
        else:
            intra_state = is_intra_state(place_of_supply(order.buyer_state, order.buyer_gstin))
            lines = tax_lines(order.tax_paise, order.gst_rate_percent, intra_state)
        return " + ".join(f"{line.label} {line.rate_text}% {rupees(line.amount_paise)}" for line in lines)

    @admin.display(description="Customer", ordering="user__email")
    def customer(self, order):
        return customer_link(order.user)

    @admin.display(description="Flagged", boolean=True, ordering="needs_attention")
    def flagged(self, order):
        """Flagged and not handled yet: what a human still has to look at."""
        return order.needs_attention and order.handled_at is None

    @admin.display(description="Ordered", ordering="created_at")
    def created(self, order):
        return when(order.created_at)

    @admin.display(description="Paid", ordering="paid_at")
    def paid(self, order):
        return when(order.paid_at)

    @admin.display(description="Server, invoice, credit notes, tickets")
    def related(self, order):
        server = getattr(order, "server", None)
        invoice = staff_invoice_link(order, order.invoice_number) if order.invoice_number else "no invoice (unpaid)"
        notes = list(order.credit_notes.all())
        credit_notes = (
            format_html_join(
                ", ",
                "{} {}",
                ((link(note, credit_note_text(note)), staff_credit_note_link(note, "document")) for note in notes),
            )
            if notes
            else "—"
        )
        tickets = links(server.tickets.all(), lambda t: f"#{t.pk} {t.subject}") if server else "—"
        return format_html(
            "Server: {} · Invoice: {} · Credit notes: {} · Tickets about the server: {}",
            link(server, server.name if server else None),
            invoice,
            credit_notes,
            tickets,
        )

    def has_add_permission(self, request):
        # Orders come from checkout, where the one pricing function sets amounts.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status != Order.Status.CREATED:
            fields += BUYER_FIELDS
        return fields

    def save_model(self, request, obj, form, change):
        """Write only what the form changed, decided under the order's lock: the form
        read the order without a lock, so a payment may have landed since. Saving every
        column would write its old status and paid_at back; buyer details changed after
        the order left `created` would no longer match its invoice, so they are refused."""
        if not change:
            return super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name in BUYER_FIELDS]
        if not changed:
            return None
        with transaction.atomic():
            current = Order.objects.select_for_update().get(pk=obj.pk)
            if current.status != Order.Status.CREATED:
                self.message_user(
                    request,
                    f"Order {obj.number} was {current.get_status_display().lower()} meanwhile: the billing details "
                    "are those on its invoice now, and your changes were not saved.",
                    messages.ERROR,
                )
                return None
            for name in changed:
                setattr(current, name, getattr(obj, name))
            current.save(update_fields=[*changed, "updated_at"])
        return None


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["razorpay_payment_id", "order_link", "customer", "status", "amount", "method", "created"]
    list_filter = ["status", "method", "created_at"]
    search_fields = ["razorpay_payment_id", "order__number", "order__razorpay_order_id", "order__user__email"]
    list_select_related = ["order__user"]
    amount = rupee_field("amount_paise", "Amount")

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, payment):
        return link(payment.order)

    @admin.display(description="Customer", ordering="order__user__email")
    def customer(self, payment):
        return customer_link(payment.order.user)

    @admin.display(description="Created", ordering="created_at")
    def created(self, payment):
        return when(payment.created_at)

    def get_fields(self, request, obj=None):
        # The record as stored, money in rupees instead of raw paise, with links to its order and customer.
        shown = [
            f"{f.name[: -len('_paise')]}" if f.name.endswith("_paise") else f.name for f in self.model._meta.fields
        ]
        return [name for name in shown if name not in ("id", "order")] + ["order_link", "customer"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(PaymentAdmin):
    inlines = []
    list_display = ["razorpay_refund_id", "payment_link", "order_link", "amount", "status", "created_by", "created"]
    list_filter = ["status", "created_at"]
    search_fields = ["razorpay_refund_id", "payment__razorpay_payment_id", "payment__order__number"]
    list_select_related = ["payment__order", "created_by"]

    @admin.display(description="Payment", ordering="payment__razorpay_payment_id")
    def payment_link(self, refund):
        return link(refund.payment)

    @admin.display(description="Order", ordering="payment__order__number")
    def order_link(self, refund):
        return link(refund.payment.order)

    @admin.display(description="Customer")
    def customer(self, refund):
        return customer_link(refund.payment.order.user)

    def get_fields(self, request, obj=None):
        return [f for f in super().get_fields(request, obj) if f != "payment"] + ["payment_link"]


@admin.register(CreditNote)
class CreditNoteAdmin(admin.ModelAdmin):
    """GST credit notes as issued for processed refunds: a stored document, so
    read-only here, amounts in rupees, linked to its order, invoice and refund."""

    list_display = ["number", "document", "issued", "order_link", "invoice_link", "customer", "amount"]
    list_filter = ["issued_on", "intra_state"]
    search_fields = ["number", "invoice_number", "order__number", "order__user__email", "refund__razorpay_refund_id"]
    list_select_related = ["order__user"]
    date_hierarchy = "issued_on"
    fieldsets = [
        (None, {"fields": ["number", "document", "issued", "order_link", "invoice_link", "refund_link", "customer", "reason"]}),
        ("Credited (as on the note)", {"fields": ["taxable", "gst_rate_percent", "cgst", "sgst", "igst", "tax", "amount"]}),
        ("Parties and place of supply (copied from the invoice)", {"fields": [
            "seller_name", "seller_address", "seller_state", "seller_gstin",
            "buyer_name", "buyer_address", "buyer_state", "buyer_gstin",
            "place_of_supply", "place_of_supply_code", "intra_state",
        ]}),
    ]  # fmt: skip
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]

    taxable = rupee_field("taxable_paise", "Taxable value")
    cgst = rupee_field("cgst_paise", "CGST")
    sgst = rupee_field("sgst_paise", "SGST")
    igst = rupee_field("igst_paise", "IGST")
    tax = rupee_field("tax_paise", "GST")
    amount = rupee_field("amount_paise", "Amount")

    @admin.display(description="Document")
    def document(self, note):
        return staff_credit_note_link(note, "View")

    @admin.display(description="Date", ordering="issued_on")
    def issued(self, note):
        return when(note.issued_on)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, note):
        return link(note.order)

    @admin.display(description="Original invoice", ordering="invoice_number")
    def invoice_link(self, note):
        return format_html("{} of {}", staff_invoice_link(note.order, note.invoice_number), when(note.invoice_date))

    @admin.display(description="Refund")
    def refund_link(self, note):
        return link(note.refund, note.refund.razorpay_refund_id)

    @admin.display(description="Customer", ordering="order__user__email")
    def customer(self, note):
        return customer_link(note.order.user)

    def has_add_permission(self, request):
        return False  # issued by billing.credit_notes when a refund is processed

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
