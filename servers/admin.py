from datetime import timedelta

from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from backoffice.display import customer_link, link, links, when
from hostingportal.admin_inlines import ReadOnlyTabularInline
from security.audit import staff_action_record
from security.client_address import client_address
from security.second_factor import CODE_FIELD, second_factor_fresh, second_factor_required

from .models import (
    ProvisioningAttempt,
    RenewalExtension,
    Server,
    ServerEvent,
    ServerOperation,
    ServerStatusChange,
    SimulatedNode,
)
from .operations import OperationRefused, operation_retry, server_suspend, server_terminate, server_unsuspend


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
class ServerAdmin(admin.ModelAdmin):
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
    inlines = [StatusChangeInline, EventInline, OperationInline, ExtensionInline, AttemptInline]
    readonly_fields = [
        "customer",
        "related",
        "status",
        # Changed by services only (payments, run_billing, the staff actions), never by editing.
        "paid_until",
        "billing_cycle_months",
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

    actions = ["suspend_servers", "unsuspend_servers", "terminate_servers"]

    def has_suspend_permission(self, request):
        return request.user.has_perm("servers.suspend_server")

    def has_terminate_permission(self, request):
        return request.user.has_perm("servers.terminate_server")

    @admin.action(permissions=["suspend"], description="Suspend selected servers (staff; paying does not lift it)")
    def suspend_servers(self, request, queryset):
        return self.lifecycle_action(
            request, queryset, "suspend_servers", "Suspend servers", "servers.suspend_server",
            lambda server, note: server_suspend(server.pk, reason="staff", source="admin", actor=request.user, note=note),
            "Each machine is stopped by the worker; the customer sees a staff suspension and cannot lift it by paying.",
        )  # fmt: skip

    @admin.action(permissions=["suspend"], description="Lift the suspension of selected servers")
    def unsuspend_servers(self, request, queryset):
        return self.lifecycle_action(
            request, queryset, "unsuspend_servers", "Lift suspensions", "servers.suspend_server",
            lambda server, note: server_unsuspend(server.pk, source="admin", actor=request.user, note=note),
            "Each machine is started again by the worker (overdue suspensions too: the unpaid renewal stays to be paid).",
        )  # fmt: skip

    @admin.action(permissions=["terminate"], description="Terminate selected servers (destroys the machines)")
    def terminate_servers(self, request, queryset):
        return self.lifecycle_action(
            request, queryset, "terminate_servers", "Terminate servers", "servers.terminate_server",
            lambda server, note: server_terminate(server.pk, source="admin", actor=request.user, note=note),
            "Each machine is DESTROYED with its data by the worker; this cannot be undone. Unpaid renewals are cancelled.",
            fresh_second_factor=True,
        )  # fmt: skip

    def lifecycle_action(
        self, request, queryset, action, title, permission, decide, warning, fresh_second_factor=False
    ):
        """A confirmation page listing the servers with a required reason; only its
        POST with `apply` decides, through the same services as run_billing, and
        records who, when, from where and why (security's staff audit) in the
        decision's own transaction."""
        servers = list(queryset.select_related("user").order_by("pk"))
        reason = request.POST.get("reason", "").strip()
        if request.POST.get("apply"):
            if not reason:
                self.message_user(request, "Nothing done: a reason is required.", messages.ERROR)
                return None
            if fresh_second_factor and not second_factor_fresh(request, request.POST.get(CODE_FIELD, "")):
                self.message_user(request, "Nothing done: a fresh authentication code is required.", messages.ERROR)
                return None
            note = f"{reason} (by {request.user.email} from {client_address(request) or '?'})"
            for server in servers:
                try:
                    with transaction.atomic():
                        operation = decide(server, note)
                        staff_action_record(
                            permission, target=server, request=request, via="admin", reason=reason,
                            details={"action": action, "operation": operation.pk if operation else None},
                        )  # fmt: skip
                except OperationRefused as exc:
                    self.message_user(request, f"Server #{server.pk}: nothing done: {exc}", messages.ERROR)
                    continue
                done = f"operation #{operation.pk} queued" if operation else "nothing more to do"
                self.message_user(request, f"Server #{server.pk}: {done}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "servers": servers,
            "action": action,
            "warning": warning,
            "second_factor_required": fresh_second_factor and second_factor_required(request.user),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/servers/server/lifecycle_confirm.html", context)

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
    """The simulated provider's machines (development and demos): read-only, as a provider's console would be."""

    list_display = ["node_id", "tag", "server_id", "hostname", "ip_address", "power_state", "ready_at", "destroyed_at"]
    search_fields = ["node_id", "tag", "hostname"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ServerOperation)
class ServerOperationAdmin(ServerStatusChangeAdmin):
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
    actions = ["retry_operations"]

    def has_retry_permission(self, request):
        return request.user.has_perm("servers.suspend_server") and request.user.has_perm("servers.terminate_server")

    @admin.action(permissions=["retry"], description="Retry selected failed operations")
    def retry_operations(self, request, queryset):
        for failed in queryset.filter(status=ServerOperation.Status.FAILED):
            with transaction.atomic():
                operation = operation_retry(failed.pk, actor=request.user)
                if operation is not None:
                    permission = (
                        "servers.terminate_server" if failed.purpose == "terminate" else "servers.suspend_server"
                    )
                    staff_action_record(
                        permission, target=failed.server, request=request, via="admin",
                        reason=f"Retry of failed operation #{failed.pk}", details={"operation": operation.pk},
                    )  # fmt: skip
            if operation is None:
                self.message_user(request, f"#{failed.pk}: not retried (its server has moved on).", messages.WARNING)
            else:
                self.message_user(request, f"#{failed.pk}: retried as #{operation.pk}.", messages.SUCCESS)

    list_select_related = ["server", "actor"]

    @admin.display(description="lease", ordering="lease_until")
    def lease(self, operation):
        return lease_state(operation.lease_until, operation.status == ServerOperation.Status.RUNNING)

    @admin.display(description="error")
    def error_short(self, operation):
        return error_excerpt(operation.last_error)
