"""What the billing day has told customers: each reminder once."""

from django.db import models
from django.db.models import Q


class ReminderKind(models.TextChoices):
    RENEWAL_ISSUED = "renewal_issued", "Renewal issued"
    DUE_TOMORROW = "due_tomorrow", "Due tomorrow"
    SUSPENDED = "suspended", "Suspended for non-payment"
    TERMINATED = "terminated", "Terminated"


class Reminder(models.Model):
    """One reminder of one kind for one paid period of a server, or for one renewal
    order ("renewal issued") (CONTRACT: reminders each once). The unique
    constraints are the guarantee: a second
    run_billing, or two at once, cannot send it twice. Written in the
    transaction that decides it; the email goes after commit."""

    Kind = ReminderKind

    server = models.ForeignKey("servers.Server", on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The due date the reminder is about: a renewed server gets a fresh set.
    paid_until = models.DateTimeField()
    order = models.ForeignKey("billing.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # When its mail was handed to the outbox (which delivers and retries it).
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # "Renewal issued" belongs to its renewal order: a renewal re-issued for the
            # same due date (a withdrawn cancellation, a refund moving paid_until back)
            # is a new order and gets its own mail (issue 23).
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind=ReminderKind.RENEWAL_ISSUED), name="one_renewal_issued_per_order"
            ),
            models.UniqueConstraint(
                fields=["server", "kind", "paid_until"],
                condition=~Q(kind=ReminderKind.RENEWAL_ISSUED),
                name="one_reminder_per_kind_and_period",
            ),
            models.CheckConstraint(condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"),
        ]

    def __str__(self):
        return f"{self.server_id} {self.kind} {self.paid_until:%Y-%m-%d}"


# Autopay's models live with their domain (lifecycle/autopay/); imported here so
# Django registers them under the lifecycle app.
from .autopay.models import (  # noqa: E402, F401
    AutopayDebit,
    AutopayMandate,
    AutopayMandateChange,
    AutopayTokenReport,
)
