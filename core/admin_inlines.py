"""Read-only inlines for the admin: histories and records shown on their parent's
page (status changes, payments, provisioning attempts, ticket messages). Their rows
are written only by the services; staff read them here and never edit them."""

from django.contrib import admin


class ReadOnlyInlineMixin:
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyInlineMixin, admin.TabularInline):
    pass


class ReadOnlyStackedInline(ReadOnlyInlineMixin, admin.StackedInline):
    pass


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A model whose rows are written only by the services (mandates, debits,
    commissions): staff read them in the admin and never add, edit or delete them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
