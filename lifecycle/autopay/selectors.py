"""Reads about autopay for pages, the API and other services."""

from datetime import timedelta

from django.utils import timezone

from .models import AutopayDebit, AutopayMandate


def debit_pending(order) -> bool:
    """Is an autopay debit of this renewal order asked or about to be (its outcome unknown)?"""
    return AutopayDebit.objects.filter(
        order_id=order.pk, status__in=[*AutopayDebit.IN_FLIGHT, AutopayDebit.Status.REQUESTED]
    ).exists()


def mandate_current(server_id) -> AutopayMandate | None:
    """The server's latest mandate (any status), or None."""
    return AutopayMandate.objects.filter(server_id=server_id).first()


def debits_failed_this_week(now=None) -> int:
    """For the staff dashboard: debits that failed in the last 7 days."""
    since = (now or timezone.now()) - timedelta(days=7)
    return AutopayDebit.objects.filter(status=AutopayDebit.Status.FAILED, updated_at__gte=since).count()
