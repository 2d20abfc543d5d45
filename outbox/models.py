from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboundMail(models.Model):
    """One email to customers or staff, written in the transaction of what caused it.

    `cause_key` names that cause ("server-active:42"); it is unique, so a cause
    can queue its mail as often as it likes and one mail exists. The row is the
    promise; the worker's task is the fast path and the sweeper the safety net.
    A sender claims a row by compare-and-set (queued -> sending, with a lease);
    only an expired lease is taken over.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    cause_key = models.CharField(max_length=200, unique=True)
    to = models.JSONField(help_text="List of recipient addresses.")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # When the sweeper may try a queued mail: a minute after it was queued (its task
    # has had its chance), then after each failure's backoff.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outbound mail"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status__in=["queued", "sending"]), name="outbox_mail_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed"]), name="outbox_mail_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.subject} ({self.status})"
