from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from .models import HostingPlan, Order, Refund


def active_plans():
    return HostingPlan.objects.filter(is_active=True).order_by("sort_order", "price_paise")


def orders_for_user(user):
    """The customer's orders, newest first, each with the server it bought or renews."""
    return Order.objects.filter(user=user).select_related("server", "renews_server").order_by("-created_at")


def invoices_for_user(user):
    """The customer's tax invoices (paid or refunded orders), newest first."""
    return (
        Order.objects.filter(
            user=user, status__in=(Order.Status.PAID, Order.Status.REFUNDED), invoice_number__isnull=False
        )
        .select_related("server")
        .order_by("-paid_at", "-pk")
    )


def invoices_with_credit_notes_for_user(user):
    """The customer's invoices as `invoices_for_user`, each with its credit notes
    (oldest first, `order.credit_notes.all()`): one more statement for a whole page."""
    return invoices_for_user(user).prefetch_related("credit_notes")


def orders_with_documents_for_user(user):
    """The customer's orders, newest first, with what the API shows of each:
    server, stored invoice, credit notes and `refunded_paise` (processed refunds
    of any of its payments), in a fixed number of statements."""
    processed = Q(payments__refunds__status=Refund.Status.PROCESSED)
    return (
        Order.objects.filter(user=user)
        .select_related("server", "tax_invoice")
        .prefetch_related("credit_notes")
        .annotate(refunded_paise=Coalesce(Sum("payments__refunds__amount_paise", filter=processed), 0))
        .order_by("-created_at")
    )


def order_refunded_paise(order) -> int:
    """Processed refunds of any of the order's payments, in paise."""
    if hasattr(order, "refunded_paise"):
        return order.refunded_paise
    total = Refund.objects.filter(payment__order=order, status=Refund.Status.PROCESSED).aggregate(s=Sum("amount_paise"))
    return total["s"] or 0
