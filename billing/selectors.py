from .models import HostingPlan, Order


def active_plans():
    return HostingPlan.objects.filter(is_active=True).order_by("sort_order", "price_paise")


def orders_for_user(user):
    return Order.objects.filter(user=user).select_related("server").order_by("-created_at")
