from django.contrib import admin

from .models import OrderSSHKey, SSHKey


@admin.register(SSHKey)
class SSHKeyAdmin(admin.ModelAdmin):
    """Customers' public keys, read-only for staff: a key is the customer's to add or remove."""

    list_display = ["name", "user", "key_type", "bits", "fingerprint", "created_at"]
    search_fields = ["name", "fingerprint", "user__email"]
    list_select_related = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(OrderSSHKey)
class OrderSSHKeyAdmin(SSHKeyAdmin):
    list_display = ["order", "name", "key_type", "fingerprint"]
    search_fields = ["order__number", "fingerprint"]
    list_select_related = ["order"]
