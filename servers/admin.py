from django.contrib import admin

from hostingportal.admin_inlines import ReadOnlyTabularInline

from .models import (
    ProvisioningAttempt,
    RenewalExtension,
    Server,
    ServerEvent,
    ServerOperation,
    ServerStatusChange,
    SimulatedNode,
)


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


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "user",
        "order",
        "status",
        "suspension_reason",
        "paid_until",
        "hostname",
        "ip_address",
        "provisioning_attempts",
        "lease_until",
        "status_changed_at",
    ]
    list_filter = ["status", "suspension_reason", "cancel_at_period_end"]
    search_fields = ["name", "hostname", "ip_address", "order__number", "user__email", "provider_node_id"]
    list_select_related = ["user", "order"]
    inlines = [StatusChangeInline, EventInline, OperationInline, ExtensionInline, AttemptInline]
    readonly_fields = [
        "order",
        "user",
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


@admin.register(ProvisioningAttempt)
class ProvisioningAttemptAdmin(ServerStatusChangeAdmin):
    list_display = ["server", "number", "backend", "outcome", "started_at", "lease_until", "worker", "finished_at"]
    list_filter = ["outcome", "backend"]
    search_fields = ["server__hostname", "server__order__number", "worker", "provider_node_id"]


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
    list_display = ["id", "server", "action", "purpose", "status", "attempts", "lease_until", "created_at"]
    list_filter = ["status", "action", "purpose"]
