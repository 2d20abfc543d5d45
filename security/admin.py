from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import StaffAction

# django-otp's own admin pages show a TOTP secret (and its QR code) and recovery codes
# to any staff user with the view permission. Ours list devices and delete them (the
# owner then enrols again); a new device for a lost phone comes from `staff_totp`.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


class SecondFactorDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ["user", "name", "confirmed"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(TOTPDevice, SecondFactorDeviceAdmin)
admin.site.register(StaticDevice, SecondFactorDeviceAdmin)


@admin.register(StaffAction)
class StaffActionAdmin(admin.ModelAdmin):
    """Who did what, when, from where and why. Read-only: a record is evidence."""

    list_display = ["when", "actor_email", "done", "target", "reason", "ip_address", "via"]
    list_filter = ["action", "via"]
    search_fields = ["actor_email", "target_label", "target_id", "reason"]
    date_hierarchy = "created_at"
    fields = ["when", "actor", "actor_email", "ip_address", "via", "done", "action", "target", "reason", "details"]
    readonly_fields = fields

    @admin.display(description="When", ordering="created_at")
    def when(self, record):
        """In the portal's time zone, as every page shows times."""
        return formats.date_format(timezone.localtime(record.created_at), "DATETIME_FORMAT")

    @admin.display(description="Action")
    def done(self, record):
        return record.label

    @admin.display(description="Object", ordering="target_label")
    def target(self, record):
        """The object acted on, linking to its admin page where it has one."""
        if not record.target_type:
            return "—"
        app_label, _, model_name = record.target_type.partition(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[record.target_id])
        except NoReverseMatch:
            return record.target_label
        return format_html('<a href="{}">{}</a>', url, record.target_label or record.target_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
