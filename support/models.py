import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import formats, timezone

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def attachment_storage_name(instance, filename):
    # Random names: the customer's file name is kept only as data, never as a path.
    return f"attachments/{secrets.token_hex(2)}/{secrets.token_hex(16)}"


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    AWAITING_CUSTOMER = "awaiting_customer", "Awaiting customer"
    AWAITING_STAFF = "awaiting_staff", "Awaiting staff"
    CLOSED = "closed", "Closed"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Ticket(models.Model):
    Status = TicketStatus

    Priority = TicketPriority

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets")
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    server = models.ForeignKey(
        "servers.Server", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        # Staff work tickets in the admin with view_ticket and change_ticket, plus these
        # (checked by support.services, whatever the door): writing to the customer, and
        # reading or writing internal notes (their attachments included).
        permissions = [
            ("reply_ticket", "Can reply to a customer's ticket"),
            ("internal_note_ticket", "Can read and write internal notes on tickets"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TicketStatus.values), name="ticket_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=TicketPriority.values), name="ticket_priority_valid"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.subject}"


class TicketEventKind(models.TextChoices):
    STATUS = "status", "Status"
    ASSIGNEE = "assignee", "Assignee"
    PRIORITY = "priority", "Priority"


class TicketEvent(models.Model):
    """Who changed a ticket's status, assignee or priority, and when. Values are kept
    as text (the assignee's email, say), so the history reads the same after the
    people in it are gone."""

    Kind = TicketEventKind

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_value = models.CharField(max_length=254, blank=True)
    to_value = models.CharField(max_length=254, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TicketEventKind.values), name="ticket_event_kind_valid"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.from_value or '∅'} → {self.to_value or '∅'}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    is_staff_reply = models.BooleanField(default=False)
    # Staff-only notes: never shown to the customer by page, API or email.
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_internal=False) | Q(is_staff_reply=True), name="internal_note_is_staff"
            ),
        ]

    def __str__(self):
        # Read where the admin names a message (lists, breadcrumbs, the audit trail).
        when = formats.date_format(timezone.localtime(self.created_at), "DATETIME_FORMAT") if self.created_at else "unsent"
        return f"{self.kind_label} on ticket #{self.ticket_id}, {when}"

    @property
    def kind_label(self):
        return "Internal note" if self.is_internal else "Staff reply" if self.is_staff_reply else "Customer message"


class TicketAttachment(models.Model):
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_storage_name, max_length=200)
    original_name = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64, verbose_name="SHA-256")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(size__gt=0) & Q(size__lte=MAX_ATTACHMENT_BYTES), name="attachment_size_in_limits"
            ),
        ]

    def __str__(self):
        return self.original_name
