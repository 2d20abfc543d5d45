from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from billing.models import Order, RazorpayCustomer
from core import claims
from core.sql import row_exists
from sshkeys.selectors import order_ssh_keys

from .models import Server, ServerOperation


def unpaid_renewals(server_ids):
    """The unpaid renewal orders of servers (at most one per server: a partial unique
    index), as a queryset: `server_ids` is one id, `OuterRef("pk")` for a subquery,
    or a list of ids. The one place this question is written (docs/decisions.md)."""
    lookup = "renews_server_id__in" if isinstance(server_ids, list | tuple | set) else "renews_server_id"
    return Order.objects.filter(**{lookup: server_ids}, status=Order.Status.CREATED)


def servers_for_user(user):
    """The user's servers, each with `renewal_number`: its unpaid renewal order's
    number or None (a subquery, so a list is still one query)."""
    unpaid = unpaid_renewals(OuterRef("pk")).values("number")[:1]
    return (
        Server.objects.filter(user=user)
        .select_related("order__plan", "plan", "plan_change_to")
        .annotate(
            renewal_number=Subquery(unpaid),
            autopay_latest=autopay_latest(),
            # A mobile number for autopay is remembered (the renew form asks for one otherwise).
            autopay_contact_known=Exists(RazorpayCustomer.objects.filter(user_id=OuterRef("user_id"))),
        )
        .order_by("-created_at")
    )


def autopay_latest():
    """The server's latest autopay mandate as {"status", "max_amount_paise", "method"}
    (or null), for the servers JSON and pages, in the list's own query. The mandates
    are the subscription layer's (lifecycle), reached through their relation's name:
    servers does not import the layer above it."""
    mandates = Server._meta.get_field("autopay_mandates").related_model.objects
    latest = (
        mandates.filter(server_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values(json=JSONObject(status="status", max_amount_paise="max_amount_paise", method="method"))[:1]
    )
    return Subquery(latest, output_field=JSONField())


def lease_expired(now):
    """Servers whose provisioning lease ran out by `now` (no lease at all counts:
    rows claimed before leases existed). Only these may be taken over or requeued."""
    return claims.lease_expired(now)


def stuck(now):
    """The stuck condition (CONTRACT: pending or provisioning for more than
    STUCK_SERVER_MINUTES, or failed), where a provisioning server whose attempt
    still holds a live lease is never stuck: its worker is building it, and
    requeueing it would start a second build beside the first. Nor is a server
    whose termination is decided: it is never to be built again."""
    cutoff = now - timedelta(minutes=settings.STUCK_SERVER_MINUTES)
    waiting_too_long = Q(status=Server.Status.PENDING, waiting_since__lt=cutoff) | (
        Q(status=Server.Status.PROVISIONING, waiting_since__lt=cutoff) & lease_expired(now)
    )
    return (waiting_too_long | Q(status=Server.Status.FAILED)) & ~Exists(termination_open())


def stuck_servers(now=None):
    """Servers that need a human or a requeue (`stuck`), oldest first, in one
    query with their order and customer. Waiting is counted from `waiting_since`,
    so a server whose retries keep flipping it between the two is still found."""
    now = now or timezone.now()
    return Server.objects.filter(stuck(now)).select_related("order__user", "user").order_by("status_changed_at", "pk")


def lease_expired_servers(now=None):
    """Provisioning servers whose attempt's lease has run out: their worker is
    presumed dead, and the sweeper hands them to a worker to take over."""
    now = now or timezone.now()
    return Server.objects.filter(lease_expired(now), status=Server.Status.PROVISIONING)


def failed_operations():
    """Backend operations that failed for good and were not followed by another for
    their server (a retry, or a later decision): what staff still have to look at."""
    later = ServerOperation.objects.filter(server_id=OuterRef("server_id"), pk__gt=OuterRef("pk"))
    return (
        ServerOperation.objects.filter(status=ServerOperation.Status.FAILED)
        .filter(~Exists(later))
        .select_related("server__user")
        .order_by("finished_at", "pk")
    )


def termination_open():
    """Termination decided or done for the server of OuterRef("pk") (an Exists filter)."""
    return ServerOperation.objects.filter(
        server_id=OuterRef("pk"),
        purpose=ServerOperation.Purpose.TERMINATE,
        status__in=[*ServerOperation.OPEN, ServerOperation.Status.SUCCEEDED],
    )


def termination_failed():
    """A destroy of the server of OuterRef("pk") failed for good (an Exists filter):
    it waits for staff's retry, and run_billing does not decide it again."""
    return ServerOperation.objects.filter(
        server_id=OuterRef("pk"), purpose=ServerOperation.Purpose.TERMINATE, status=ServerOperation.Status.FAILED
    )


def operations_overdue(now=None):
    """Running operations past their expected time: claimed longer ago than
    SERVER_OPERATION_EXPECTED_SECONDS, or whose lease ran out (the worker that
    held it is gone and no sweep has handed it on yet). Oldest first."""
    now = now or timezone.now()
    expected = timedelta(seconds=settings.SERVER_OPERATION_EXPECTED_SECONDS)
    return (
        ServerOperation.objects.filter(status=ServerOperation.Status.RUNNING)
        .filter(Q(claimed_at__lt=now - expected) | Q(lease_until__lt=now))
        .select_related("server__user")
        .order_by("claimed_at", "pk")
    )


def termination_decided(server_id) -> bool:
    # A kept statement: a renewal's payment asks this under the server's lock.
    return row_exists(
        ServerOperation,
        server_id=server_id,
        purpose=ServerOperation.Purpose.TERMINATE,
        status__in=(*ServerOperation.OPEN, ServerOperation.Status.SUCCEEDED),
    )


@dataclass(frozen=True)
class LoginDetails:
    """How the customer signs in to their server: what the "ready" mail and page say."""

    hostname: str
    address: str
    user: str
    keys: list  # OrderSSHKey rows: name and fingerprint of each key installed

    @property
    def ssh_command(self) -> str:
        return f"ssh {self.user}@{self.address or self.hostname}"


def server_login(server) -> LoginDetails:
    return LoginDetails(
        hostname=server.hostname,
        address=server.ip_address or "",
        user=server.login_user or settings.SERVER_LOGIN_USER,
        keys=list(order_ssh_keys(server.order_id)),
    )
