from django.contrib import admin
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
