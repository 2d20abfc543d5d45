"""Staff side of support. Replies, notes, status and assignment go through support.services,
so the admin gets the same upload rules, status moves and notifications as the customer pages."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_inlines import ReadOnlyStackedInline, ReadOnlyTabularInline
from core.display import customer_link, link, when

from . import services
from .forms import MultipleFileField
from .models import Ticket, TicketAttachment, TicketEvent, TicketMessage


def may_read_internal_notes(request):
    return request.user.has_perm("support.internal_note_ticket")


def attachment_links(message):
    return format_html_join(
        ", ",
        '<a href="{}">{}</a> ({} bytes, {})',
        (
            (reverse("support:attachment", args=[a.pk]), a.original_name, a.size, a.content_type)
            for a in message.attachments.all()
        ),
    )


class ThreadInline(ReadOnlyStackedInline):
    """The conversation, read-only: new messages are written with the reply fields above it."""

    model = TicketMessage
    verbose_name = "message"
    verbose_name_plural = "thread (internal notes are marked and never shown to the customer)"
    fields = ["created_at", "author", "kind", "body", "files"]

    def get_queryset(self, request):
        messages = super().get_queryset(request).select_related("author").prefetch_related("attachments")
        return messages if may_read_internal_notes(request) else messages.filter(is_internal=False)

    @admin.display(description="kind")
    def kind(self, message):
        if message.is_internal:
            return "INTERNAL NOTE (staff only)"
        return "staff reply" if message.is_staff_reply else "customer"

    @admin.display(description="attachments")
    def files(self, message):
        return attachment_links(message) or "—"


class HistoryInline(ReadOnlyTabularInline):
    """Who moved the ticket, reassigned it or changed its priority, and when."""

    model = TicketEvent
    verbose_name = "change"
    verbose_name_plural = "history (status, assignee, priority)"
    fields = ["at", "kind", "from_value", "to_value", "actor"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class TicketAdminForm(forms.ModelForm):
    reply_body = forms.CharField(
        label="Reply",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="Emailed to the customer, unless it is an internal note.",
    )
    reply_internal = forms.BooleanField(
        label="Internal note", required=False, help_text="Staff only: never shown or emailed to the customer."
    )
    reply_attachments = MultipleFileField(label="Attachments")

    class Meta:
        model = Ticket
        fields = ["status", "priority", "assignee"]

    # The staff user saving the form, set by TicketAdmin.get_form on its per-request class.
    staff_user = None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reply_attachments") and not cleaned.get("reply_body", "").strip():
            self.add_error("reply_body", "Write a message to go with the attachments.")
        if cleaned.get("reply_body", "").strip():
            if cleaned.get("reply_internal") and not self.staff_user.has_perm("support.internal_note_ticket"):
                self.add_error("reply_internal", "You do not have the permission to write internal notes.")
            elif not cleaned.get("reply_internal") and not self.staff_user.has_perm("support.reply_ticket"):
                self.add_error("reply_body", "You do not have the permission to reply to customers.")
        status = cleaned.get("status")
        if self.instance.pk and status and status != self.instance.status:
            if status not in services.TRANSITIONS[Ticket.Status(self.instance.status)]:
                self.add_error("status", f"A ticket cannot go from {self.instance.status} to {status}.")
        return cleaned


class WaitingOnFilter(admin.SimpleListFilter):
    """Whose turn it is: new and customer-answered tickets wait for a staff reply."""

    title = "waiting on"
    parameter_name = "waiting_on"
    WAITING = {
        "staff": (Ticket.Status.OPEN, Ticket.Status.AWAITING_STAFF),
        "customer": (Ticket.Status.AWAITING_CUSTOMER,),
    }

    def lookups(self, request, model_admin):
        return [("staff", "Awaiting a staff reply"), ("customer", "Awaiting the customer")]

    def queryset(self, request, queryset):
        statuses = self.WAITING.get(self.value())
        return queryset.filter(status__in=statuses) if statuses else queryset


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BANDS = {"1d": (0, 1), "3d": (1, 3), "7d": (3, 7), "older": (7, None)}

    def lookups(self, request, model_admin):
        return [("1d", "Under a day"), ("3d", "1–3 days"), ("7d", "3–7 days"), ("older", "Over a week")]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        newest, oldest = self.BANDS[self.value()]
        now = timezone.now()
        queryset = queryset.filter(created_at__lte=now - timedelta(days=newest))
        return queryset.filter(created_at__gt=now - timedelta(days=oldest)) if oldest else queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = ["id", "subject", "customer", "status", "priority", "assignee", "server_link", "opened", "last_activity"]
    list_filter = [WaitingOnFilter, "status", "priority", "assignee", AgeFilter]
    search_fields = ["subject", "user__email", "messages__body"]
    list_select_related = ["user", "assignee", "server"]
    readonly_fields = ["subject", "customer", "server_info", "created_at", "updated_at", "closed_at"]
    fieldsets = [
        (None, {"fields": ["subject", "customer", "server_info", "status", "priority", "assignee"]}),
        ("Write", {"fields": ["reply_body", "reply_internal", "reply_attachments"]}),
        ("Dates", {"fields": ["created_at", "updated_at", "closed_at"], "classes": ["collapse"]}),
    ]
    inlines = [ThreadInline, HistoryInline]

    @admin.display(description="customer", ordering="user__email")
    def customer(self, ticket):
        return customer_link(ticket.user)

    @admin.display(description="server", ordering="server__name")
    def server_link(self, ticket):
        return link(ticket.server, ticket.server.name if ticket.server else None)

    @admin.display(description="opened", ordering="created_at")
    def opened(self, ticket):
        return when(ticket.created_at)

    @admin.display(description="last activity", ordering="updated_at")
    def last_activity(self, ticket):
        return when(ticket.updated_at)

    @admin.display(description="server")
    def server_info(self, ticket):
        server = ticket.server
        if server is None:
            return "—"
        attempts = list(server.attempts.order_by("-started_at", "-id")[:5])
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((a.number, a.backend, a.outcome, when(a.started_at), a.error or "") for a in attempts),
        )
        return format_html(
            '<a href="{}">{}</a>: status <strong>{}</strong>, paid until {}, IP {}<table><thead><tr><th>attempt</th>'
            "<th>backend</th><th>outcome</th><th>started</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            reverse("admin:servers_server_change", args=[server.pk]),
            server,
            server.status,
            when(server.paid_until),
            server.ip_address or "none yet",
            rows or format_html("<tr><td colspan=5>no provisioning attempts</td></tr>"),
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)  # a new class for each request
        form.staff_user = request.user
        return form

    def has_add_permission(self, request):
        return False  # tickets are opened by customers

    def save_model(self, request, obj, form, change):
        # Not super(): each change goes through its service (locks, status rules, notifications).
        stored = Ticket.objects.get(pk=obj.pk)
        if obj.priority != stored.priority:
            services.ticket_priority_set(ticket=stored, priority=obj.priority, actor=request.user)
        if obj.assignee_id != stored.assignee_id:
            services.ticket_assign(ticket=stored, assignee=obj.assignee, actor=request.user)
        data = form.cleaned_data
        if data["reply_body"].strip():
            services.message_add(
                ticket=stored,
                author=request.user,
                body=data["reply_body"],
                files=[item.file for item in data["reply_attachments"]],
                internal=data["reply_internal"],
            )
        # After the reply, so "reply and close" in one save leaves the ticket closed.
        if obj.status != stored.status:
            services.ticket_status_set(ticket=stored, status=obj.status, actor=request.user)


class AttachmentInline(ReadOnlyTabularInline):
    model = TicketAttachment
    fields = ["original_name", "content_type", "size", "sha256", "created_at"]


@admin.register(TicketMessage)
class TicketMessageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "ticket", "author", "is_staff_reply", "is_internal"]
    list_filter = ["is_staff_reply", "is_internal"]
    search_fields = ["body", "ticket__subject"]
    readonly_fields = ["ticket", "author", "body", "is_staff_reply", "is_internal", "created_at"]
    inlines = [AttachmentInline]

    def get_queryset(self, request):
        messages = super().get_queryset(request)
        return messages if may_read_internal_notes(request) else messages.filter(is_internal=False)

    def has_add_permission(self, request):
        return False  # messages are written from the ticket page, through the services


@admin.register(TicketAttachment)
class TicketAttachmentAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "content_type", "size", "message", "created_at"]
    list_filter = ["content_type"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["download", "original_name", "size", "content_type", "sha256", "message", "created_at"]
    exclude = ["file"]

    def get_queryset(self, request):
        attachments = super().get_queryset(request)
        return attachments if may_read_internal_notes(request) else attachments.filter(message__is_internal=False)

    @admin.display(description="file")
    def download(self, attachment):
        return format_html('<a href="{}">download</a>', reverse("support:attachment", args=[attachment.pk]))

    def has_add_permission(self, request):
        return False
