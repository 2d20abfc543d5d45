from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Server


def servers_for_user(user):
    return Server.objects.filter(user=user).select_related("order").order_by("-created_at")


def stuck_servers(now=None):
    """Servers that need a human or a requeue (CONTRACT: pending or provisioning
    for more than STUCK_SERVER_MINUTES, or failed), oldest first, in one query
    with their order and customer. Waiting is counted from `waiting_since`, so a
    server whose retries keep flipping it between the two is still found."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.STUCK_SERVER_MINUTES)
    return (
        Server.objects.filter(Q(status__in=Server.WAITING, waiting_since__lt=cutoff) | Q(status=Server.Status.FAILED))
        .select_related("order__user", "user")
        .order_by("status_changed_at", "pk")
    )
