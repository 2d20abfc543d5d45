from django.db.models import Prefetch

from servers.models import Server

from .models import Ticket, TicketAttachment, TicketMessage


def tickets_for_user(user):
    """The caller's own tickets: customer pages and the API list show nothing else, staff included."""
    return Ticket.objects.filter(user=user).select_related("server").order_by("-updated_at", "-id")


def ticket_with_thread(tickets, pk):
    """One ticket from `tickets` with the customer's view of its thread (no internal
    notes) prefetched as `thread`; DoesNotExist otherwise. Pages and the API alike:
    staff read internal notes in the admin only."""
    visible = TicketMessage.objects.filter(is_internal=False).prefetch_related("attachments")
    return tickets.prefetch_related(Prefetch("messages", queryset=visible, to_attr="thread")).get(pk=pk)


def staff_may_read_attachments(user, *, internal=False) -> bool:
    """Staff reading any customer's attachments: the admin's view permission on them,
    and for an internal note's, the internal-note permission too."""
    if not (user.is_staff and user.has_perm("support.view_ticketattachment")):
        return False
    return not internal or user.has_perm("support.internal_note_ticket")


def attachment_for_download(user, pk, *, as_staff=False):
    """An attachment the user may download: on their own ticket and not on an internal
    note; or, `as_staff` (a verified staff session, not an API token), any the staff
    user's permissions cover. DoesNotExist otherwise."""
    attachments = TicketAttachment.objects.select_related("message__ticket")
    attachment = attachments.get(pk=pk)
    own = attachment.message.ticket.user_id == user.pk and not attachment.message.is_internal
    if own or (as_staff and staff_may_read_attachments(user, internal=attachment.message.is_internal)):
        return attachment
    raise TicketAttachment.DoesNotExist


def servers_for_ticket_form(user):
    return Server.objects.filter(user=user).order_by("-created_at")
