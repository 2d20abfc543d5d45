from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from core.admin_inlines import ReadOnlyTabularInline
from core.display import customer_link, link, links, when
from security.staff_actions import StaffListActionsMixin, list_action

from .models import (
    PlanChange,
    ProvisioningAttempt,
    RenewalExtension,
    Server,
    ServerEvent,
    ServerOperation,
    ServerStatusChange,
    SimulatedNode,
)
from .staff_actions import RETRY, SUSPEND, TERMINATE, UNSUSPEND


class StatusChangeInline(ReadOnlyTabularInline):
    model = ServerStatusChange
    fields = ["at", "from_status", "to_status", "source", "actor", "note"]


class AttemptInline(ReadOnlyTabularInline):
    model = ProvisioningAttempt
    fields = [
        "number",
        "backend",
        "outcome",
        "error",
        "started_at",
        "lease_until",
        "worker",
        "provider_node_id",
        "finished_at",
    ]


class OperationInline(ReadOnlyTabularInline):
    model = ServerOperation
    fields = ["created_at", "action", "purpose", "status", "attempts", "lease_until", "source", "actor", "last_error"]


class EventInline(ReadOnlyTabularInline):
    model = ServerEvent
    fields = ["at", "kind", "source", "actor", "note"]


class PlanChangeInline(ReadOnlyTabularInline):
    """The server's plan history: every move of its plan, why, and the order that paid for it."""

    model = PlanChange
    fk_name = "server"
    fields = ["at", "kind", "from_plan", "to_plan", "order", "source", "actor", "note"]


class ExtensionInline(ReadOnlyTabularInline):
    model = RenewalExtension
    fields = ["at", "order", "months", "old_paid_until", "new_paid_until", "source"]


class DueFilter(admin.SimpleListFilter):
    """What staff ask every day: whose service runs out this week, who is past it."""

    title = "paid until"
    parameter_name = "due"
    LIVE = (Server.Status.ACTIVE, Server.Status.SUSPENDED)

    def lookups(self, request, model_admin):
        return [
            ("week", "Due within 7 days"),
            ("overdue", "Overdue (past paid until)"),
            ("later", "Paid beyond 7 days"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        live = queryset.filter(status__in=self.LIVE, paid_until__isnull=False)
        if self.value() == "week":
            return live.filter(paid_until__gte=now, paid_until__lt=now + timedelta(days=7))
        if self.value() == "overdue":
            return live.filter(paid_until__lt=now)
        if self.value() == "later":
            return live.filter(paid_until__gte=now + timedelta(days=7))
        return queryset


@admin.register(Server)
class ServerAdmin(StaffListActionsMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "customer",
        "order_link",
        "status",
        "suspension_reason",
        "paid_until_shown",
        "days_left",
        "hostname",
        "ip_address",
    ]
    list_filter = ["status", DueFilter, "suspension_reason", "cancel_at_period_end"]
    search_fields = ["name", "hostname", "ip_address", "order__number", "user__email", "provider_node_id"]
    list_select_related = ["user", "order"]
    inlines = [StatusChangeInline, EventInline, PlanChangeInline, OperationInline, ExtensionInline, AttemptInline]
    readonly_fields = [
        "customer",
        "related",
        "status",
        # Changed by services only (payments, run_billing, the staff actions), never by editing.
        "paid_until",
        "billing_cycle_months",
        "plan",
        "plan_change_to",
        "plan_change_at",
        "cancel_at_period_end",
        "suspension_reason",
        "power_state",
        "provider_node_id",
        "provisioning_attempts",
        "last_error",
        "queued_at",
        "lease_until",
        "waiting_since",
        "status_changed_at",
        "activated_at",
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        # The order and customer as links (above everything else), not as raw select boxes.
        fields = [f for f in super().get_fields(request, obj) if f not in ("order", "user", "customer", "related")]
        return ["customer", "related", *fields]

    @admin.display(description="Customer", ordering="user__email")
    def customer(self, server):
        return customer_link(server.user)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, server):
        return link(server.order)

    @admin.display(description="Paid until", ordering="paid_until")
    def paid_until_shown(self, server):
        return when(server.paid_until)

    @admin.display(description="Days left", ordering="paid_until")
    def days_left(self, server):
        if server.paid_until is None or server.status == Server.Status.TERMINATED:
            return "—"
        left = server.paid_until - timezone.now()
        if left.total_seconds() < 0:
            return format_html('<strong style="color:var(--error-fg)">overdue {} d</strong>', -left.days - 1 or 1)
        return f"{left.days} d"

    @admin.display(description="Order, renewals, tickets")
    def related(self, server):
        renewals = links(server.renewal_orders.order_by("-created_at"), lambda o: f"{o.number} ({o.status})")
        tickets = links(server.tickets.order_by("-updated_at"), lambda t: f"#{t.pk} {t.subject} ({t.status})")
        return format_html("Order: {} · Renewals: {} · Tickets: {}", link(server.order), renewals, tickets)

    # The server page's staff actions (servers.staff_actions), for the selected servers at once.
    actions = [
        list_action(SUSPEND, "suspend_servers"),
        list_action(UNSUSPEND, "unsuspend_servers"),
        list_action(TERMINATE, "terminate_servers"),
    ]

    def has_add_permission(self, request):
        # Servers are created by the payment funnel or recovery, never by hand.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServerStatusChange)
class ServerStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["server", "from_status", "to_status", "source", "actor", "at"]
    list_filter = ["to_status", "source"]
    search_fields = ["server__hostname", "server__order__number"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


def lease_state(lease_until, running):
    """What a lease means now: held (by a worker presumed alive) or expired (open to takeover)."""
    if not running:
        return "—"
    if lease_until is None:
        return "no lease"
    left = lease_until - timezone.now()
    if left.total_seconds() < 0:
        return f"expired {when(lease_until)}"
    return f"held, {int(left.total_seconds() // 60)} min {int(left.total_seconds() % 60)} s left"


def error_excerpt(text, size=120):
    return text if len(text) <= size else text[: size - 1] + "…"


@admin.register(ProvisioningAttempt)
class ProvisioningAttemptAdmin(ServerStatusChangeAdmin):
    """Every provisioning attempt: who ran it, under which lease, and how it ended."""

    list_display = [
        "server",
        "number",
        "backend",
        "outcome",
        "started_at",
        "lease",
        "worker",
        "provider_node_id",
        "finished_at",
        "error_short",
    ]
    list_filter = ["outcome", "backend"]
    search_fields = ["server__hostname", "server__order__number", "worker", "provider_node_id"]
    list_select_related = ["server"]

    @admin.display(description="lease", ordering="lease_until")
    def lease(self, attempt):
        return lease_state(attempt.lease_until, attempt.outcome == ProvisioningAttempt.Outcome.RUNNING)

    @admin.display(description="error")
    def error_short(self, attempt):
        return error_excerpt(attempt.error)


@admin.register(SimulatedNode)
class SimulatedNodeAdmin(admin.ModelAdmin):
    """The simulated provider's machines (development and demos): read-only, as a provider's
    console would be, except its fault injection (`failures`: ["transient", "permanent", ...])."""

    list_display = [
        "node_id", "tag", "server_id", "hostname", "ip_address", "size", "power_state", "ready_at", "destroyed_at"
    ]  # fmt: skip
    search_fields = ["node_id", "tag", "hostname"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "failures"]

    def has_add_permission(self, request):
        return False


@admin.register(ServerOperation)
class ServerOperationAdmin(StaffListActionsMixin, ServerStatusChangeAdmin):
    list_display = [
        "id",
        "server",
        "action",
        "purpose",
        "status",
        "attempts",
        "lease",
        "source",
        "actor",
        "created_at",
        "finished_at",
        "error_short",
    ]
    list_filter = ["status", "action", "purpose"]
    # A retry is a staff action like Terminate (a retried destroy is one): confirmation, reason, fresh code.
    actions = [list_action(RETRY, "retry_operations")]

    list_select_related = ["server", "actor"]

    @admin.display(description="lease", ordering="lease_until")
    def lease(self, operation):
        return lease_state(operation.lease_until, operation.status == ServerOperation.Status.RUNNING)

    @admin.display(description="error")
    def error_short(self, operation):
        return error_excerpt(operation.last_error)
