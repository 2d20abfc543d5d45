from django.contrib import admin, messages

from .models import OutboundMail
from .services import mail_retry


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    """Every mail the portal sent or means to send, with its status. Rows are
    written by the services only; staff read them and may queue a failed one again."""

    list_display = ["created_at", "subject", "recipients", "status", "attempts", "sent_at", "cause_key"]
    list_filter = ["status"]
    search_fields = ["cause_key", "subject", "to"]
    date_hierarchy = "created_at"
    actions = ["retry_failed"]
    fields = [
        "cause_key", "to", "subject", "body", "status", "attempts",
        "next_attempt_at", "lease_until", "last_error", "created_at", "sent_at",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description="To")
    def recipients(self, mail):
        return ", ".join(mail.to)

    @admin.action(description="Queue the selected failed mails again")
    def retry_failed(self, request, queryset):
        count = mail_retry(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed mail(s) queued again; the sweeper sends them within a minute.",
                          messages.SUCCESS)  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
