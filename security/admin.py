from django.contrib import admin

from .models import StaffAction


@admin.register(StaffAction)
class StaffActionAdmin(admin.ModelAdmin):
    """Who did what, when, from where and why. Read-only: a record is evidence."""

    list_display = ["created_at", "actor_email", "action", "target_label", "ip_address", "via"]
    list_filter = ["action", "via"]
    search_fields = ["actor_email", "target_label", "target_id", "reason"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
