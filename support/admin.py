from django.contrib import admin

from .models import Ticket, TicketAttachment, TicketMessage


class TicketMessageInline(admin.StackedInline):
    model = TicketMessage
    extra = 0
    fields = ["author", "body", "is_staff_reply", "is_internal", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "subject", "user", "status", "priority", "assignee", "server", "updated_at"]
    list_filter = ["status", "priority", "assignee", "created_at"]
    search_fields = ["subject", "user__email", "messages__body"]
    list_select_related = ["user", "assignee", "server"]
    inlines = [TicketMessageInline]


@admin.register(TicketMessage)
class TicketMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "author", "is_staff_reply", "is_internal", "created_at"]
    list_filter = ["is_staff_reply", "is_internal"]
    search_fields = ["body", "ticket__subject"]


@admin.register(TicketAttachment)
class TicketAttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "content_type", "size", "message", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["file", "original_name", "size", "content_type", "sha256", "created_at"]
