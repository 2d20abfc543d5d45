from django.conf import settings
from django.db import models
from django.utils import timezone


class StaffAction(models.Model):
    """One dangerous staff action as it happened: who, when, from which address, what
    (the permission it needed and the object it touched) and why. Written in the same
    transaction as the action itself, so a rolled-back action leaves no record and a
    committed one always has its record. Never edited; the admin shows it read-only."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # SET_NULL keeps the record when an account is deleted; actor_email keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff_actions"
    )
    actor_email = models.CharField(max_length=254, blank=True, help_text="Empty for an ops command run without a user.")
    ip_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="The client address, per TRUSTED_PROXY_COUNT.", verbose_name="IP address"
    )
    via = models.CharField(max_length=20, help_text="admin, dashboard, command, api")
    action = models.CharField(
        max_length=100, db_index=True, help_text="The permission it needed, as billing.refund_order."
    )
    # Empty for an action on no single object (a "recover all" run: its details list them).
    target_type = models.CharField(max_length=100, blank=True, help_text="app_label.model of the object acted on.")
    target_id = models.CharField(max_length=64, blank=True, verbose_name="Target ID")
    target_label = models.CharField(
        max_length=200, blank=True, help_text="The object as staff know it (an order number)."
    )
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "staff_actions"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="staff_action_target")]

    def __str__(self):
        # The portal's time zone, as every admin page shows times (this is the change page's header).
        return f"{timezone.localtime(self.created_at):%d %b %Y %H:%M} {self.actor_email or 'ops'}: {self.label} {self.target_label}"

    @property
    def label(self) -> str:
        """What was done ("Unsuspend"), from the action's definition (security.staff_actions)."""
        from .staff_actions import label_of  # staff_actions records through audit, which imports this module

        return label_of(self)


class SignInAttemptCount(models.Model):
    """The sign-in attempts one (email, client address) pair has taken within its cool-off,
    counted here only while the shared cache (Redis) is unavailable (security.lockout).
    An attempt is taken before its password is checked, by one upsert on the pair's row,
    so guesses in flight together cannot all be checked. A row past `expires_at` counts
    nothing: the pair's next attempt starts it again at 1."""

    key = models.CharField(max_length=100, primary_key=True, help_text="axes' cache key of the pair (axes-<sha256>).")
    # Both as sign-in read them (no email: empty), so axes_reset_username and _ip find the row.
    username = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name="IP address")
    attempts = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "sign_in_attempt_counts"

    def __str__(self):
        return f"{self.username} from {self.ip_address}: {self.attempts}"
