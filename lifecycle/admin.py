"""Staff views of autopay: mandates with their history and debits (read-only: only the
services write them), and the mandate on the server's admin page."""

from django.contrib import admin

from core.admin_inlines import ReadOnlyModelAdmin, ReadOnlyTabularInline
from core.display import rupee_field
from servers.models import Server

from .models import AutopayDebit, AutopayMandate, AutopayMandateChange


class MandateChangeInline(ReadOnlyTabularInline):
    model = AutopayMandateChange
    fields = ("created_at", "from_status", "to_status", "source", "actor", "note")


class DebitInline(ReadOnlyTabularInline):
    model = AutopayDebit
    fields = ("order", "amount", "status", "razorpay_payment_id", "asked_at", "error")
    amount = rupee_field("amount_paise", "amount")



@admin.register(AutopayMandate)
class AutopayMandateAdmin(ReadOnlyModelAdmin):
    list_display = ("razorpay_token_id", "server", "user", "status", "method", "max_amount", "created_at")
    max_amount = rupee_field("max_amount_paise", "limit")
    exclude = ("max_amount_paise",)  # shown in rupees on the change page too
    readonly_fields = ("max_amount",)
    list_filter = ("status", "method")
    search_fields = ("razorpay_token_id", "razorpay_customer_id", "user__email")
    inlines = [MandateChangeInline, DebitInline]


@admin.register(AutopayDebit)
class AutopayDebitAdmin(ReadOnlyModelAdmin):
    list_display = ("order", "mandate", "amount", "status", "asked_at", "updated_at")
    amount = rupee_field("amount_paise", "amount")
    exclude = ("amount_paise",)  # shown in rupees on the change page too
    readonly_fields = ("amount",)
    list_filter = ("status",)
    search_fields = ("order__number", "razorpay_payment_id", "razorpay_order_id")


class ServerMandateInline(ReadOnlyTabularInline):
    model = AutopayMandate
    fields = ("razorpay_token_id", "status", "method", "max_amount", "created_at", "razorpay_cancelled_at")
    max_amount = rupee_field("max_amount_paise", "limit")
    verbose_name_plural = "Autopay mandates"


# The subscription layer adds its mandates to the server's page (servers does not know them).
if (server_admin := admin.site._registry.get(Server)) is not None:
    server_admin.inlines = [*server_admin.inlines, ServerMandateInline]
