"""State changes of servers: creation for a paid order, the provisioning run, failure.

Every status change goes through `server_transition`, which checks
Server.TRANSITIONS, changes the row only if its status is still the one the
caller saw (compare-and-set), and writes a ServerStatusChange in the same
transaction. The Server row is what must not be lost; Celery tasks are only the
fast path, and `pending_servers_enqueue` (every minute) is the safety net.
"""

import dataclasses
import logging
import os
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Q
from django.utils import timezone
from django.utils.timesince import timesince

from alerts.services import incident_open
from billing.mails import payment_received_mail_queue
from core.claims import PROVISIONING_RETRIES, claim
from core.queueing import enqueue
from core.reconnect import CONNECTION_ERRORS, on_a_fresh_connection
from core.sql import insert_row, insert_unless_exists
from core.templatetags.money import rupees
from sshkeys.selectors import order_public_key_lines

from .mails import server_active_mail_queue
from .models import ProvisioningAttempt, Server, ServerStatusChange
from .periods import period_end
from .provisioning import ProvisioningPermanentError, ProvisioningTransientError, ServerSpec, get_backend
from .selectors import lease_expired, lease_expired_servers, termination_decided, termination_open

logger = logging.getLogger("servers.provisioning")

# A pending server whose task was handed to the broker this long ago and never
# started is queued again by the sweeper.
REQUEUE_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200
# How long a worker whose database connection was lost mid-attempt waits for it to come back.
RECONNECT_SECONDS = 15


class InvalidServerTransition(ValueError):
    pass


def log_step(step, server, started, *, attempt=None, **fields):
    extra = "".join(f" {key}={value}" for key, value in fields.items())
    logger.info(
        "provisioning_step step=%s server=%s order=%s attempt=%s duration_ms=%.1f%s",
        step,
        server.pk,
        server.order.number,
        attempt.number if attempt else "-",
        (time.monotonic() - started) * 1000,
        extra,
    )


def server_transition(
    server, to_status, *, source, actor=None, note="", attempt=None, lease_expired_at=None, **fields
) -> bool:
    """Move `server` to `to_status` and record who did it and why.

    Raises InvalidServerTransition for a move Server.TRANSITIONS does not allow.
    Compare-and-set: the row changes only while its status is still
    `server.status`; if someone else changed it first, nothing is written and
    False is returned. A worker finishing its provisioning `attempt` (number)
    also compares the attempt count: if the server was requeued and claimed by
    another worker meanwhile, its status is "provisioning" again, but not this
    attempt's. With `lease_expired_at` (a time), a provisioning server moves
    only if its attempt's lease had expired by then: a requeue never takes a
    server from a running attempt. Leaving provisioning clears the lease.
    `fields` (values or F expressions) go into the same UPDATE.
    On success the status change row is written in the same transaction and
    `server` is updated in memory.
    """
    from_status = server.status
    to_status = Server.Status(to_status)
    if not server.can_transition_to(to_status):
        raise InvalidServerTransition(f"Server #{server.pk}: {from_status} -> {to_status} is not allowed")
    now = timezone.now()
    if to_status in Server.WAITING and from_status not in Server.WAITING:
        fields = {"waiting_since": now, **fields}  # the customer starts waiting again (a requeue after failed)
    if from_status == Server.Status.PROVISIONING and to_status != Server.Status.PROVISIONING:
        fields = {"lease_until": None, **fields}
    with transaction.atomic():
        current = Server.objects.filter(pk=server.pk, status=from_status)
        if attempt is not None:
            current = current.filter(provisioning_attempts=attempt)
        if lease_expired_at is not None:
            current = current.filter(lease_expired(lease_expired_at))
        changed = current.update(status=to_status, status_changed_at=now, updated_at=now, **fields)
        if not changed:
            return False
        ServerStatusChange.objects.create(
            server=server, from_status=from_status, to_status=to_status, source=source, actor=actor, note=note
        )
    server.refresh_from_db(fields=["status", "status_changed_at", "updated_at", *fields])
    return True


def server_name(order) -> str:
    return f"{order.plan_slug}-{order.number[-6:].lower()}"


def server_create_for_paid_order(order, *, source: str, actor=None) -> Server:
    """Write the pending server of a paid order and queue provisioning after commit.

    Call inside the caller's transaction with the order row locked. Idempotent:
    if the order already has a server it is returned unchanged. The name comes
    from the order's snapshot; the plan is never looked up. The OneToOne on
    Server.order is the last guard: the insert is one `ON CONFLICT DO NOTHING`
    statement, so a losing insert (which waits for the winner to commit) writes
    nothing and leaves the caller's transaction usable.
    """
    if order.status != order.Status.PAID:
        raise ValueError(f"Order {order.number} is {order.status}, not paid; it gets no server")
    if order.kind != order.Kind.NEW:
        raise ValueError(f"Order {order.number} renews a server; it gets no server of its own")
    # queued_at is written now, for the publish right after commit: it saves the
    # payment a second write, and provisioning_enqueue clears it if the publish fails.
    server = Server(
        order=order,
        user_id=order.user_id,
        name=server_name(order),
        plan_id=order.plan_id,
        status=Server.Status.PENDING,
        queued_at=timezone.now(),
        # The first period, in the same INSERT: a new payment costs no extra statement.
        paid_until=period_end(order.paid_at or timezone.now(), order.billing_cycle_months),
        billing_cycle_months=order.billing_cycle_months,
    )
    if not insert_unless_exists(server, "order"):
        return Server.objects.get(order_id=order.pk)
    created = ServerStatusChange(
        server=server,
        from_status="",
        to_status=Server.Status.PENDING,
        source=source,
        actor=actor,
        note=f"Order {order.number} paid",
    )
    insert_row(created)  # on the payment's path
    transaction.on_commit(lambda: provisioning_enqueue(server.pk, queued_at_written=True))
    logger.info("server_created server=%s order=%s source=%s", server.pk, order.number, source)
    return server


def provisioning_enqueue(server_id, *, queued_at_written=False) -> bool:
    """Hand the provisioning task to the broker and note when (Server.queued_at),
    unless the caller wrote queued_at already.

    Never raises for a broker outage and never waits on one for long: it logs,
    clears queued_at so the next sweep takes the server at once, and returns False.
    """
    from .tasks import provision_server  # tasks import this module

    if not enqueue(provision_server, server_id):
        logger.warning("provisioning_enqueue_failed server=%s; the sweeper will queue it again", server_id)
        if queued_at_written:
            Server.objects.filter(pk=server_id).update(queued_at=None)
        return False
    if not queued_at_written:
        Server.objects.filter(pk=server_id).update(queued_at=timezone.now())
    return True


def pending_servers_enqueue(now=None) -> int:
    """The sweeper: queue again every pending server whose task never started
    (never queued, or queued more than REQUEUE_AFTER ago), and every
    provisioning server whose attempt's lease has expired (its worker died: the
    task takes it over). Returns how many were queued. Stops at the first
    broker failure; the next run tries again. A duplicate task is harmless: the
    claim (or the takeover's compare-and-set) in server_provision lets one win."""
    now = now or timezone.now()
    never_started = (
        Server.objects.filter(status=Server.Status.PENDING)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER))
        .filter(~Exists(termination_open()))  # being terminated: never to be built
    )
    server_ids = list(
        (never_started | lease_expired_servers(now)).order_by("created_at").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    queued = 0
    for server_id in server_ids:
        if not provisioning_enqueue(server_id):
            break
        queued += 1
    if server_ids:
        logger.info("pending_servers_enqueue found=%d queued=%d", len(server_ids), queued)
    return queued


def server_spec(server, *, size_of=None) -> ServerSpec:
    """The server's machine as its first order's snapshot describes it; with `size_of`
    (a plan), sized as that plan says: the target of a resize."""
    order = server.order
    spec = ServerSpec(
        server_id=server.pk,
        name=server.name,
        order_number=order.number,
        vcpu=order.plan_vcpu,
        ram_gb=order.plan_ram_gb,
        disk_gb=order.plan_disk_gb,
        provider_size=order.plan_provider_size,
        provider_image=order.plan_provider_image,
        provider_node_id=server.provider_node_id,
        ssh_keys=order_public_key_lines(order),
    )
    if size_of is None:
        return spec
    return dataclasses.replace(
        spec, vcpu=size_of.vcpu, ram_gb=size_of.ram_gb, disk_gb=size_of.disk_gb, provider_size=size_of.provider_size
    )


class AttemptInProgress(Exception):
    """Another attempt holds a live lease on the server: its worker may still be
    building. Nobody may take over before `lease_until`."""

    def __init__(self, server_id, lease_until):
        self.server_id, self.lease_until = server_id, lease_until
        super().__init__(f"Server #{server_id} is being provisioned under a lease until {lease_until:%H:%M:%S}")


def provisioning_lease_seconds(backend) -> float:
    """How long a provisioning attempt owns its server: longer than the backend's
    longest create (its own wait for the machine included), so a live worker is
    never taken over; only one that has been silent past that is presumed dead."""
    return backend.max_create_seconds + settings.PROVISIONING_LEASE_MARGIN_SECONDS


def provisioning_time_limit_seconds(backend) -> float:
    """The task's hard time limit: inside the lease, so a hung worker is killed
    before anyone may take its server over."""
    return backend.max_create_seconds + settings.PROVISIONING_LEASE_MARGIN_SECONDS / 2


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def provisioning_claim(server_id, backend, *, now=None):
    """Take the server for one provisioning attempt under a lease. Returns
    (server, attempt), or (None, None) when the server is gone, not waiting, or
    someone else claimed it first.

    A pending server is claimed by compare-and-set pending -> provisioning. A
    provisioning server is taken over only when its lease has expired (its
    worker is presumed dead), by compare-and-set on the lease; while the lease
    is live this raises AttemptInProgress and changes nothing.
    """
    started = time.monotonic()
    now = now or timezone.now()
    server = Server.objects.select_related("order__user").filter(pk=server_id).first()
    if server is None:
        logger.warning("provisioning_skipped server=%s reason=no-such-server", server_id)
        return None, None
    lease_until = now + timedelta(seconds=provisioning_lease_seconds(backend))
    if server.status == Server.Status.PROVISIONING:
        if server.lease_until is not None and server.lease_until >= now:
            raise AttemptInProgress(server.pk, server.lease_until)
        if PROVISIONING_RETRIES.spent(provisioning_run_attempts(server.pk)):
            provisioning_give_up_after_takeovers(server, now=now)
            return None, None
        attempt = provisioning_takeover(server, backend.name, lease_until, now=now)
        log_step("takeover" if attempt else "takeover_lost", server, started, attempt=attempt)
        return (server, attempt) if attempt else (None, None)
    if server.status != Server.Status.PENDING:
        log_step("skip", server, started, status=server.status)
        return None, None
    with transaction.atomic():
        # Under the row lock server_terminate decides under: a server whose termination
        # is decided is never built (the destroy takes it from pending to terminated).
        Server.objects.select_for_update().filter(pk=server.pk).values_list("pk", flat=True).first()
        if termination_decided(server.pk):
            log_step("skip", server, started, reason="termination-decided")
            return None, None
        claimed = server_transition(
            server,
            Server.Status.PROVISIONING,
            source="worker",
            note=f"Attempt {server.provisioning_attempts + 1} ({backend.name})",
            provisioning_attempts=F("provisioning_attempts") + 1,
            lease_until=lease_until,
        )
        if not claimed:
            log_step("claim_lost", server, started)
            return None, None
        attempt = ProvisioningAttempt.objects.create(
            server=server,
            number=server.provisioning_attempts,
            backend=backend.name,
            lease_until=lease_until,
            worker=worker_identity(),
        )
        if attempt.number == 1:
            # The customer's "payment received" mail is written by the first claim, in its
            # transaction (once per order by its cause key in any case): the payment
            # request then publishes one task instead of two, and a payment made while
            # the broker was down still gets its mail once the sweeper queues the server.
            payment_received_mail_queue(server.order)
    log_step("claim", server, started, attempt=attempt, backend=backend.name, lease_until=lease_until.isoformat())
    return server, attempt


def provisioning_run_attempts(server_id) -> int:
    """Attempts in the server's present run: since it last left `failed` (a staff or
    recovery requeue starts a fresh budget), takeovers included, so a server whose
    worker keeps dying runs out of attempts like one whose provider keeps failing."""
    attempts = ProvisioningAttempt.objects.filter(server_id=server_id)
    restarted = (
        ServerStatusChange.objects.filter(
            server_id=server_id, from_status=Server.Status.FAILED, to_status=Server.Status.PENDING
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if restarted is not None:
        attempts = attempts.filter(started_at__gte=restarted)
    return attempts.count()


def provisioning_give_up_after_takeovers(server, *, now):
    """The expired attempt was the last of the budget: fail the server (and alert)
    instead of starting another. A compare-and-set on the attempt number: a
    takeover that won meanwhile leaves it alone."""
    number = server.provisioning_attempts
    with transaction.atomic():
        failed = server_provisioning_fail(
            server.pk, f"Gave up after {number} attempt(s); the worker was lost during the last", attempt=number
        )
        if failed is not None and failed.status == Server.Status.FAILED:
            attempt_abandon(server.pk, number, "Lease expired; no attempts left", now=now)
    log_step("give_up", server, time.monotonic(), attempts=number)


def provisioning_takeover(server, backend_name, lease_until, *, now):
    """Start a new attempt on a provisioning server whose lease has expired.

    One UPDATE ... WHERE lease_until < now is the compare-and-set: of any number
    of redelivered tasks, sweeps and requeues racing for one expired lease,
    exactly one matches it (PostgreSQL re-checks the WHERE against the winner's
    committed row), and the others get None. The expired attempt is closed as
    `lease_expired`; the new one resumes: the backend looks the machine up
    before creating anything.
    """
    previous = server.provisioning_attempts
    with transaction.atomic():
        taken = claim(
            Server.objects.filter(pk=server.pk, status=Server.Status.PROVISIONING, provisioning_attempts=previous),
            lease_expired(now),
            lease_until=lease_until,
            attempts_field="provisioning_attempts",
            updated_at=now,
        )
        if not taken:
            return None
        attempt_abandon(server.pk, previous, f"Lease expired; attempt {previous + 1} took over", now=now)
        attempt = ProvisioningAttempt.objects.create(
            server=server, number=previous + 1, backend=backend_name, lease_until=lease_until, worker=worker_identity()
        )
    server.provisioning_attempts, server.lease_until = previous + 1, lease_until
    return attempt


def attempt_abandon(server_id, number, reason, *, now=None):
    """Close a running attempt whose lease has expired (its worker is gone)."""
    ProvisioningAttempt.objects.filter(
        server_id=server_id, number=number, outcome=ProvisioningAttempt.Outcome.RUNNING
    ).update(outcome=ProvisioningAttempt.Outcome.LEASE_EXPIRED, error=reason, finished_at=now or timezone.now())


def attempt_finish(attempt, outcome, error=""):
    """Record how a running attempt ended. An attempt already closed as
    lease_expired (taken over while its worker was slow, not dead) keeps that."""
    finished_at = timezone.now()
    ProvisioningAttempt.objects.filter(pk=attempt.pk, outcome=ProvisioningAttempt.Outcome.RUNNING).update(
        outcome=outcome, error=error, finished_at=finished_at
    )
    attempt.refresh_from_db(fields=["outcome", "error", "finished_at"])


def attempt_node_record(server, attempt, node_id):
    """Write the provider's node id as soon as the backend knows it, before the
    machine has booted: a takeover then looks the machine up by id."""
    ProvisioningAttempt.objects.filter(pk=attempt.pk).update(provider_node_id=node_id)
    Server.objects.filter(pk=server.pk, provisioning_attempts=attempt.number).update(provider_node_id=node_id)


def server_provision(server_id, *, retry_in_seconds: float | None = None, now=None) -> Server | None:
    """Build one waiting server through the configured backend.

    At most one worker provisions a server at a time: the claim is a
    compare-and-set pending -> provisioning with a lease, a takeover happens
    only once that lease has expired (AttemptInProgress while it is live), and
    a loser returns None without touching anything. Each run leaves a
    ProvisioningAttempt and a status change per transition. On success the
    server is active with its address and the customer is emailed after commit.
    On a transient error with `retry_in_seconds` given, the server goes back
    to pending, due again in that many seconds (Server.queued_at, so the
    sweeper waits for the retry), and ProvisioningTransientError is raised for
    the caller to retry. A permanent error, or a transient one with no retry
    left (None), fails the server with the reason and alerts staff.
    """
    backend = get_backend()
    server, attempt = provisioning_claim(server_id, backend, now=now)
    if server is None:
        return None
    started = time.monotonic()
    try:
        result = backend.create(
            server_spec(server), on_node_created=lambda node_id: attempt_node_record(server, attempt, node_id)
        )
    except ProvisioningTransientError as exc:
        log_step("backend_error", server, started, attempt=attempt, kind="transient", error=repr(str(exc)))
        if retry_in_seconds is None or PROVISIONING_RETRIES.spent(provisioning_run_attempts(server.pk)):
            with transaction.atomic():
                attempt_finish(attempt, ProvisioningAttempt.Outcome.TRANSIENT_ERROR, str(exc))
                reason = f"Gave up after {attempt.number} attempt(s); last error: {exc}"
                return server_provisioning_fail(server.pk, reason, attempt=attempt.number)
        provisioning_retry_later(server, attempt, exc, retry_in_seconds)
        raise
    except ProvisioningPermanentError as exc:
        log_step("backend_error", server, started, attempt=attempt, kind="permanent", error=repr(str(exc)))
        with transaction.atomic():
            attempt_finish(attempt, ProvisioningAttempt.Outcome.PERMANENT_ERROR, str(exc))
            return server_provisioning_fail(server.pk, str(exc), attempt=attempt.number)
    except CONNECTION_ERRORS as exc:  # our database, not the provider: the attempt is released, not failed
        provisioning_release_after_connection_loss(server, attempt, exc, retry_in_seconds)
        return server  # activated meanwhile by a takeover: nothing of this attempt's to record
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen provider error must fail loudly, not leave the server in provisioning
        logger.exception("provisioning_unexpected_error server=%s attempt=%s", server.pk, attempt.number)
        reason = f"Unexpected {type(exc).__name__}: {exc}"
        with transaction.atomic():
            attempt_finish(attempt, ProvisioningAttempt.Outcome.PERMANENT_ERROR, reason)
            return server_provisioning_fail(server.pk, reason, attempt=attempt.number)
    log_step("backend_create", server, started, attempt=attempt, node=result.provider_node_id)
    try:
        server_activate(server, attempt, result)
    except CONNECTION_ERRORS as exc:
        provisioning_release_after_connection_loss(server, attempt, exc, retry_in_seconds)
    return server


def provisioning_release_after_connection_loss(server, attempt, exc, retry_in_seconds):
    """The database connection was lost mid-attempt (PgBouncer or PostgreSQL restarting).
    Left alone, the attempt would hold its lease, and the customer wait, until the lease
    expired: minutes, 17 of them with Libcloud. Instead, as soon as the database answers
    again (within RECONNECT_SECONDS), the attempt ends as a transient error and the
    server goes back to pending, due in `retry_in_seconds`; ProvisioningTransientError
    then has the task retry, and the retry finds the machine by its tag before creating
    one. With no retry left, or the database still away, the error stands and the lease
    takes its course (the sweeper resumes the server once it expires). A server the
    database shows active (the activation's commit landed after all) is left so, and
    this returns."""
    logger.warning("provisioning_connection_lost server=%s attempt=%s", server.pk, attempt.number)
    if retry_in_seconds is None:
        raise exc
    error = ProvisioningTransientError(f"Database connection lost: {str(exc).splitlines()[0]}")

    def release():
        # What the database kept, not what this worker's memory says: a loss inside the
        # activation's transaction rolled back a move to active that `server` already shows.
        server.refresh_from_db(fields=["status", "provisioning_attempts", "lease_until"])
        if server.status == Server.Status.ACTIVE:
            return False  # the activation's commit landed before the connection went
        provisioning_retry_later(server, attempt, error, retry_in_seconds)
        return True

    try:
        released = on_a_fresh_connection(
            release, seconds=RECONNECT_SECONDS, what=f"provisioning_release server={server.pk}"
        )
    except CONNECTION_ERRORS:
        raise exc from None
    if not released:
        logger.info("provisioning_activation_kept server=%s attempt=%s", server.pk, attempt.number)
        return
    raise error from exc


def provisioning_retry_later(server, attempt, exc, retry_in_seconds):
    due = timezone.now() + timedelta(seconds=retry_in_seconds)
    with transaction.atomic():
        attempt_finish(attempt, ProvisioningAttempt.Outcome.TRANSIENT_ERROR, str(exc))
        server_transition(
            server,
            Server.Status.PENDING,
            source="worker",
            note=f"Attempt {attempt.number} failed, retrying in {retry_in_seconds:.0f}s: {exc}",
            attempt=attempt.number,
            last_error=str(exc),
            queued_at=due,
        )


def server_activate(server, attempt, result):
    """provisioning -> active with the machine's address; the customer's mail is written in the same transaction."""
    started = time.monotonic()
    with transaction.atomic():
        attempt_finish(attempt, ProvisioningAttempt.Outcome.SUCCEEDED)
        activated = server_transition(
            server,
            Server.Status.ACTIVE,
            source="worker",
            note=f"{result.hostname} {result.ip_address or ''}".strip(),
            attempt=attempt.number,
            hostname=result.hostname,
            ip_address=result.ip_address,
            provider_node_id=result.provider_node_id,
            activated_at=timezone.now(),
            login_user=settings.SERVER_LOGIN_USER,
            last_error="",
        )
        if activated:
            server_active_mail_queue(server)
    if not activated:
        # Moved meanwhile (e.g. requeued as stuck); the next run adopts the same node by name.
        server.refresh_from_db()
        logger.warning(
            "provisioning_result_unused server=%s node=%s status=%s", server.pk, result.provider_node_id, server.status
        )
    log_step("activate", server, started, attempt=attempt, status=server.status)


def server_provisioning_fail(server_id, reason, *, source="worker", attempt=None) -> Server | None:
    """pending/provisioning -> failed with `reason` in last_error, and alert staff
    once (incident "stuck-server:<id>", the key the ops detector uses too).
    A server already in another state, or (with `attempt`) already claimed by a
    later attempt, is returned unchanged."""
    with transaction.atomic():
        server = Server.objects.select_for_update().filter(pk=server_id).first()
        if server is None or server.status not in (Server.Status.PENDING, Server.Status.PROVISIONING):
            return server
        if not server_transition(
            server, Server.Status.FAILED, source=source, note=reason, attempt=attempt, last_error=reason
        ):
            logger.warning(
                "provisioning_fail_skipped server=%s attempt=%s now_attempt=%s reason=%r",
                server.pk,
                attempt,
                server.provisioning_attempts,
                reason,
            )
            return server
        order = server.order
        paid_at = order.paid_at or order.created_at
        incident_open(
            f"stuck-server:{server.pk}",
            f"Server #{server.pk} failed to provision (order {order.number})",
            f"Provisioning failed: {reason}\n"
            f"Order: {order.number}\n"
            f"Customer: {order.user.email}\n"
            f"Amount: {rupees(order.total_paise)}\n"
            f"Age: {timesince(paid_at)} since payment",
            link=f"{settings.SITE_URL}/admin/orphaned-orders/",
        )
    logger.error("provisioning_failed server=%s order=%s reason=%r", server.pk, order.number, reason)
    return server
