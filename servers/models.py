from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from billing.models import BILLING_CYCLES


class ServerStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


class SuspensionReason(models.TextChoices):
    NONE = "", "Not suspended"
    OVERDUE = "overdue", "Overdue: lifted by paying the renewal"
    STAFF = "staff", "By staff: lifted by staff only"


class PowerState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"


class Server(models.Model):
    Status = ServerStatus
    SuspensionReason = SuspensionReason
    PowerState = PowerState

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
    # The plan the machine runs now (CONTRACT: Plan changes): the first order's, then
    # moved by a paid upgrade, a downgrade whose period began, or an upgrade's refund.
    plan = models.ForeignKey("billing.HostingPlan", on_delete=models.PROTECT, null=True, related_name="servers")
    # A downgrade the customer scheduled: renewals are priced at `plan_change_to`, and the
    # machine is resized once the period after `plan_change_at` (paid_until then) begins.
    plan_change_to = models.ForeignKey(
        "billing.HostingPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    plan_change_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="servers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    name = models.CharField(max_length=100)
    hostname = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name="IP address")
    provider_node_id = models.CharField(max_length=255, blank=True, verbose_name="Provider node ID")
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
    # The user name the customer signs in with (their SSH keys are installed for it),
    # written at activation: what was true of this machine, whatever the setting becomes.
    login_user = models.CharField(max_length=32, blank=True)

    # End of the paid service (aware). Written with the row when the first order is
    # paid (paid_at + the cycle in calendar months), extended by each paid renewal
    # from its old value, exactly once per renewal order (RenewalExtension).
    paid_until = models.DateTimeField(null=True, blank=True)
    # The cycle renewals are issued for: the first order's, then the last paid renewal's.
    billing_cycle_months = models.PositiveSmallIntegerField(default=1)
    # The customer asked to stop at the end of the paid period: no renewal is
    # issued and the server is terminated at paid_until.
    cancel_at_period_end = models.BooleanField(default=False)
    # Written when the suspension is decided; `status` becomes suspended only once
    # the backend has stopped the machine (servers.operations).
    suspension_reason = models.CharField(max_length=8, choices=SuspensionReason.choices, blank=True, default="")
    # Staff lifted an overdue suspension until then (aware): run_billing neither suspends
    # nor terminates the server for its unpaid renewal before this moment. Paying the
    # renewal moves paid_until on; this then no longer matters.
    grace_until = models.DateTimeField(null=True, blank=True)
    # What the backend last did to the machine (a stop, start, reboot or destroy that succeeded).
    power_state = models.CharField(max_length=8, choices=PowerState.choices, default=PowerState.RUNNING)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("suspend_server", "Can suspend and unsuspend a server"),
            ("terminate_server", "Can terminate a server"),
            ("requeue_server", "Can recover orders and requeue stuck servers"),
        ]
        indexes = [
            models.Index(fields=["status", "paid_until"], name="server_status_paid_until"),
            models.Index(fields=["status", "status_changed_at"], name="server_status_changed"),
            models.Index(fields=["status", "waiting_since"], name="server_status_waiting"),
            models.Index(fields=["status", "lease_until"], name="server_status_lease"),
            models.Index(fields=["user", "-created_at"], name="server_user_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ServerStatus.values), name="server_status_valid"),
            models.CheckConstraint(condition=Q(billing_cycle_months__in=BILLING_CYCLES), name="server_cycle_valid"),
            models.CheckConstraint(
                condition=Q(suspension_reason__in=SuspensionReason.values), name="server_suspension_reason_valid"
            ),
            models.CheckConstraint(condition=Q(power_state__in=PowerState.values), name="server_power_state_valid"),
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

    @property
    def renewal_plan(self):
        """The plan renewals are priced at: a scheduled downgrade's, else the one it runs."""
        return self.plan_change_to if self.plan_change_to_id else self.plan


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
    provider_node_id = models.CharField(max_length=255, blank=True, verbose_name="Provider node ID")
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
    node_id = models.CharField(max_length=100, unique=True, verbose_name="Node ID")
    server_id = models.PositiveIntegerField(db_index=True, verbose_name="Server ID")  # our server's id, as a provider tag would carry it
    hostname = models.CharField(max_length=255)
    ip_address = models.GenericIPAddressField(verbose_name="IP address")
    # OpenSSH public key lines installed for the login user (never a private key).
    ssh_keys = models.JSONField(default=list, blank=True, verbose_name="SSH keys")
    power_state = models.CharField(max_length=16, choices=PowerState.choices, default=PowerState.RUNNING)
    # The machine's size as the provider would name it ("4 vCPU, 8 GB RAM, 160 GB disk").
    size = models.CharField(max_length=100, blank=True)
    # Fault injection, as a provider's test console offers it: each action on this node
    # (stop, start, reboot, resize, destroy) first takes the next entry, "transient" or
    # "permanent", and fails with it. Set by hand (admin, shell) for demos and tests.
    failures = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The build is in progress until then (the simulated boot time).
    ready_at = models.DateTimeField()
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.node_id} ({self.tag})"


class RenewalExtension(models.Model):
    """A paid renewal order's months added to its server's paid_until.

    One row per renewal order (the OneToOne is the database's guarantee that an
    order extends its server once, however many times its payment arrives), with
    the due dates before and after: the server's billing history.
    """

    order = models.OneToOneField("billing.Order", on_delete=models.PROTECT, related_name="extension")
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="extensions")
    months = models.PositiveSmallIntegerField()
    old_paid_until = models.DateTimeField()
    new_paid_until = models.DateTimeField()
    source = models.CharField(max_length=40)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(new_paid_until__gt=F("old_paid_until")), name="extension_moves_forward"),
        ]

    def __str__(self):
        return f"{self.order_id}: {self.old_paid_until:%Y-%m-%d} → {self.new_paid_until:%Y-%m-%d}"


class OperationAction(models.TextChoices):
    STOP = "stop"
    START = "start"
    REBOOT = "reboot"
    DESTROY = "destroy"
    ADD_KEY = "add_key"  # install one more SSH public key for the login user
    RESIZE = "resize"


class OperationPurpose(models.TextChoices):
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    TERMINATE = "terminate"
    POWER = "power"  # the customer's own stop/start/reboot
    SSH_KEY = "ssh_key"  # the customer's "install this key" on a running server
    PLAN = "plan"  # a plan change: the machine resized to `ServerOperation.plan`


class OperationStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ServerOperation(models.Model):
    """One decision about a machine (suspend, unsuspend, terminate, a power action),
    carried out by the worker through the provisioning backend.

    The row is written in the transaction that decides; the Celery task is only the
    fast path. A worker claims it by writing `lease_until`, a deadline: only an
    expired lease is taken over (a worker that died), so the backend call is made
    by one worker at a time and an operation that succeeded is never run again.
    A server's operations run one at a time, oldest first.
    """

    Action = OperationAction
    Purpose = OperationPurpose
    Status = OperationStatus
    OPEN = (OperationStatus.QUEUED, OperationStatus.RUNNING)

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="operations")
    action = models.CharField(max_length=8, choices=Action.choices)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # Not before: the next attempt after a transient error (backoff), for the sweeper.
    due_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the running attempt was claimed: an attempt past SERVER_OPERATION_EXPECTED_SECONDS
    # is shown to staff (the ops dashboard, recover_servers) even while its lease is renewed.
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    source = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    # add_key: the authorized_keys line to install, copied when decided (the customer may delete the key meanwhile).
    public_key = models.TextField(blank=True)
    # A resize: the plan the machine is resized to, and the one it ran before (the
    # server goes back to it if the resize finally fails).
    plan = models.ForeignKey("billing.HostingPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    from_plan = models.ForeignKey(
        "billing.HostingPlan", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="operation_status_due")]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=OperationAction.values), name="operation_action_valid"),
            models.CheckConstraint(condition=Q(purpose__in=OperationPurpose.values), name="operation_purpose_valid"),
            models.CheckConstraint(condition=Q(status__in=OperationStatus.values), name="operation_status_valid"),
            # A running operation always has a deadline, so it can be taken over once it passes.
            models.CheckConstraint(
                condition=~Q(status=OperationStatus.RUNNING) | Q(lease_until__isnull=False),
                name="operation_running_has_lease",
            ),
            # One machine is never destroyed twice: at most one open termination per server.
            models.UniqueConstraint(
                fields=["server"],
                condition=Q(purpose=OperationPurpose.TERMINATE, status__in=["queued", "running", "succeeded"]),
                name="one_termination_per_server",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} ({self.purpose}) {self.status}"


class ServerEvent(models.Model):
    """A lifecycle fact about a server that is not a status change: renewal issued
    or paid, cancellation switched, suspension decided, a reminder sent, an
    operation's failure. With ServerStatusChange it is the server's timeline."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=40)
    source = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["server", "at"], name="server_event_server_at")]

    def __str__(self):
        return f"{self.server_id} {self.kind}"


class PlanChangeKind(models.TextChoices):
    UPGRADE = "upgrade", "Upgrade paid"
    DOWNGRADE = "downgrade", "Downgrade took effect"
    REFUND = "refund", "Upgrade refunded: moved back"
    RESIZE_FAILED = "resize_failed", "Resize failed: moved back"


class PlanChange(models.Model):
    """The server's plan history: every move of `Server.plan`, with why and the order that paid for it."""

    Kind = PlanChangeKind

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="plan_changes")
    from_plan = models.ForeignKey("billing.HostingPlan", on_delete=models.PROTECT, related_name="+")
    to_plan = models.ForeignKey("billing.HostingPlan", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PlanChangeKind.values), name="plan_change_kind_valid"),
            # A paid upgrade moves its server once, however often its payment arrives.
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind=PlanChangeKind.UPGRADE), name="one_plan_change_per_upgrade"
            ),
        ]

    def __str__(self):
        return f"{self.server_id}: {self.from_plan_id} → {self.to_plan_id} ({self.kind})"
