from django.db.models import Prefetch

from servers.models import Server

from .models import Ticket, TicketAttachment, TicketMessage


def tickets_for_user(user):
    """The caller's own tickets: customer pages and the API list show nothing else, staff included."""
    return Ticket.objects.filter(user=user).select_related("server").order_by("-updated_at", "-id")


def tickets_visible_to(user):
    """Tickets one may open by id: one's own, and every ticket for staff."""
    tickets = Ticket.objects.select_related("server", "user", "assignee")
    return tickets if user.is_staff else tickets.filter(user=user)


def ticket_with_thread(user, tickets, pk):
    """One ticket from `tickets` with its visible messages prefetched as `thread`; DoesNotExist otherwise."""
    visible = TicketMessage.objects.prefetch_related("attachments")
    if not user.is_staff:
        visible = visible.filter(is_internal=False)
    return tickets.prefetch_related(Prefetch("messages", queryset=visible, to_attr="thread")).get(pk=pk)


def attachment_for_download(user, pk):
    """An attachment the user may download: on their own ticket and not on an internal note; any for staff."""
    attachments = TicketAttachment.objects.select_related("message__ticket")
    if not user.is_staff:
        attachments = attachments.filter(message__ticket__user=user, message__is_internal=False)
    return attachments.get(pk=pk)


def servers_for_ticket_form(user):
    return Server.objects.filter(user=user).order_by("-created_at")
