from .models import HostingPlan, Order


def active_plans():
    return HostingPlan.objects.filter(is_active=True).order_by("sort_order", "price_paise")


def orders_for_user(user):
    return Order.objects.filter(user=user).select_related("server").order_by("-created_at")


def invoices_for_user(user):
    """The customer's tax invoices (paid or refunded orders), newest first."""
    return (
        Order.objects.filter(
            user=user, status__in=(Order.Status.PAID, Order.Status.REFUNDED), invoice_number__isnull=False
        )
        .select_related("server")
        .order_by("-paid_at", "-pk")
    )
