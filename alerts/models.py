from django.db import models
from django.db.models import Q


class Incident(models.Model):
    """One operational problem, alerted once when it opens and once when it resolves.

    `key` names the problem ("orphaned-order:ORD-…"); the partial unique
    constraint allows one open incident per key, so a detector that runs every
    few minutes cannot start an alert storm.
    """

    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(resolved_at__isnull=True), name="one_open_incident_per_key"
            ),
        ]

    def __str__(self):
        return self.title
