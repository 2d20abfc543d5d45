from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ServerStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


class Server(models.Model):
    Status = ServerStatus

    TRANSITIONS = {
        Status.PENDING: {Status.PROVISIONING, Status.FAILED, Status.TERMINATED},
        # provisioning -> pending: a retry after a transient error or a requeue.
        Status.PROVISIONING: {Status.ACTIVE, Status.FAILED, Status.PENDING},
        Status.ACTIVE: {Status.SUSPENDED, Status.TERMINATED},
        Status.FAILED: {Status.PENDING, Status.TERMINATED},
        Status.SUSPENDED: {Status.ACTIVE, Status.TERMINATED},
        Status.TERMINATED: set(),
    }
    WAITING = (Status.PENDING, Status.PROVISIONING)  # the customer has paid and waits for the machine

    # OneToOne: the database itself refuses a second server for an order.
    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="server")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="servers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    name = models.CharField(max_length=100)
    hostname = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    provider_node_id = models.CharField(max_length=255, blank=True)
    provisioning_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When a provisioning task was last handed to the broker (for a new server:
    # written with the row, for the publish right after commit; cleared if that
    # publish fails). The sweeper requeues pending servers whose task never started.
    queued_at = models.DateTimeField(null=True, blank=True)
    # The running provisioning attempt's lease (null unless provisioning): until
    # then its worker owns the server; only after it may another worker or a
    # requeue take the server over (a compare-and-set on this column), because
    # the worker may have died. Written at claim, longer than the backend's own wait.
    lease_until = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    # When the server last entered pending/provisioning from outside them: how long
    # its customer has been waiting. Retries (provisioning -> pending) keep it, so a
    # server retrying for 40 minutes is stuck (CONTRACT: in pending or provisioning
    # for more than 15 minutes), however recently its status flipped.
    waiting_since = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="server_status_changed"),
            models.Index(fields=["status", "waiting_since"], name="server_status_waiting"),
            models.Index(fields=["status", "lease_until"], name="server_status_lease"),
            models.Index(fields=["user", "-created_at"], name="server_user_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ServerStatus.values), name="server_status_valid"),
        ]

    def __str__(self):
        return self.hostname or self.name

    @property
    def problem_since(self):
        """Since when a stuck server has been a problem: waiting since it entered
        pending/provisioning, failed since it failed."""
        return self.waiting_since if self.status in self.WAITING else self.status_changed_at

    def can_transition_to(self, new_status):
        return new_status in self.TRANSITIONS[self.Status(self.status)]


class ServerStatusChange(models.Model):
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status}"


class ProvisioningOutcome(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    TRANSIENT_ERROR = "transient_error"
    PERMANENT_ERROR = "permanent_error"
    # Its worker vanished (killed, lost) before the lease ran out; a later attempt took over.
    LEASE_EXPIRED = "lease_expired"


class ProvisioningAttempt(models.Model):
    Outcome = ProvisioningOutcome

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    backend = models.CharField(max_length=40)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    # Until when this attempt owns the server (Server.lease_until while it runs).
    lease_until = models.DateTimeField(null=True, blank=True)
    # Which worker process ran it ("host:pid"), for staff reading a takeover.
    worker = models.CharField(max_length=200, blank=True)
    # The provider's id for the machine, as soon as the create call answered.
    provider_node_id = models.CharField(max_length=255, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["server", "number"], name="attempt_number_unique"),
            models.CheckConstraint(condition=Q(outcome__in=ProvisioningOutcome.values), name="attempt_outcome_valid"),
        ]

    def __str__(self):
        return f"#{self.number} {self.outcome}"


class SimulatedNode(models.Model):
    """A machine of the simulated provider (PROVISIONING_BACKEND=simulated).

    The simulated backend keeps its "provider" here so that, like a real one, it
    outlives the worker that asked for a machine: a worker killed mid-build
    leaves a node that is still booting, and the next attempt finds it by its
    tag instead of making a second. `tag` is the provider-side idempotency key
    (ServerSpec.node_name): unique, so two creates for one server make one node.
    """

    class PowerState(models.TextChoices):
        RUNNING = "running"
        STOPPED = "stopped"

    tag = models.CharField(max_length=100, unique=True)
    node_id = models.CharField(max_length=100, unique=True)
    server_id = models.PositiveIntegerField(db_index=True)  # our server's id, as a provider tag would carry it
    hostname = models.CharField(max_length=255)
    ip_address = models.GenericIPAddressField()
    # OpenSSH public key lines installed for the login user (never a private key).
    ssh_keys = models.JSONField(default=list, blank=True)
    power_state = models.CharField(max_length=16, choices=PowerState.choices, default=PowerState.RUNNING)
    created_at = models.DateTimeField(auto_now_add=True)
    # The build is in progress until then (the simulated boot time).
    ready_at = models.DateTimeField()
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.node_id} ({self.tag})"
