from django.contrib import admin

from .models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "key", "opened_at", "last_seen_at", "resolved_at", "notified_at"]
    list_filter = ["resolved_at"]
    search_fields = ["key", "title"]
    readonly_fields = [
        "key",
        "title",
        "detail",
        "opened_at",
        "last_seen_at",
        "resolved_at",
        "notified_at",
        "notify_error",
    ]
