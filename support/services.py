"""State changes of support tickets.

Every message, with its attachments, is written by `message_add` in one
transaction after all its files passed `uploads.files_check`; a refused upload
writes no row and no file. Notification mail is written in the same transaction
(the outbox) and sent after commit.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .mails import message_mail_queue
from .models import Ticket, TicketAttachment, TicketEvent, TicketMessage
from .uploads import files_check

logger = logging.getLogger("support")

Status = Ticket.Status

# Who may move a ticket where. Replies move it between the two "awaiting" states;
# a public message on a closed ticket reopens it (the customer or staff wrote again).
TRANSITIONS = {
    Status.OPEN: {Status.AWAITING_CUSTOMER, Status.AWAITING_STAFF, Status.CLOSED},
    Status.AWAITING_CUSTOMER: {Status.AWAITING_CUSTOMER, Status.AWAITING_STAFF, Status.CLOSED},
    Status.AWAITING_STAFF: {Status.AWAITING_CUSTOMER, Status.AWAITING_STAFF, Status.CLOSED},
    Status.CLOSED: {Status.OPEN, Status.AWAITING_CUSTOMER, Status.AWAITING_STAFF},
}


class TicketError(ValueError):
    """A request the ticket's state or the caller's rights do not allow; the message is for the user."""


def is_staff_author(ticket, author):
    # A staff member who opened a ticket for themselves writes in it as a customer.
    return author.is_staff and author.pk != ticket.user_id


def ticket_create(*, user, subject, body, server=None, files=()) -> Ticket:
    """Open a ticket with its first message. Raises AttachmentRefused (nothing written) or TicketError
    for a server that is not the user's. Staff (or ALERT_EMAILS) are emailed once, after commit."""
    if server is not None and server.user_id != user.pk:
        raise TicketError("Choose one of your own servers.")
    checked = files_check(files)
    with transaction.atomic():
        ticket = Ticket.objects.create(user=user, subject=subject.strip(), server=server)
        ticket_event(ticket, TicketEvent.Kind.STATUS, "", ticket.status, actor=user)
        message_write(ticket, user, body, checked, internal=False)
    return ticket


def message_add(*, ticket, author, body, files=(), internal=False) -> TicketMessage:
    """Add a reply or an internal note, with its attachments, in one transaction, and move the ticket
    (customer reply -> awaiting_staff, staff reply -> awaiting_customer; internal notes move nothing).
    Locks the ticket row so two replies at once leave a status that matches the last one.
    Raises AttachmentRefused before anything is written."""
    staff = is_staff_author(ticket, author)
    if internal and not staff:
        raise TicketError("Only staff can write internal notes.")
    if internal and not author.has_perm("support.internal_note_ticket"):
        raise TicketError("Writing internal notes needs the internal-note permission.")
    if staff and not internal and not author.has_perm("support.reply_ticket"):
        raise TicketError("Replying to customers needs the reply permission.")
    checked = files_check(files)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = message_write(ticket, author, body, checked, internal=internal)
        if not internal:
            ticket_transition(ticket, Status.AWAITING_CUSTOMER if staff else Status.AWAITING_STAFF, actor=author)
        # The list is ordered by updated_at: any message, even a note, is activity.
        ticket.save()
    return message


def message_write(ticket, author, body, checked, *, internal):
    """Caller holds a transaction. Files written before a failure are removed again."""
    message = TicketMessage.objects.create(
        ticket=ticket,
        author=author,
        body=body.strip(),
        is_staff_reply=is_staff_author(ticket, author),
        is_internal=internal,
    )
    written = []
    try:
        for item in checked:
            attachment = TicketAttachment(
                message=message,
                original_name=item.name,
                size=item.size,
                content_type=item.content_type,
                sha256=item.sha256,
            )
            item.file.seek(0)
            attachment.file.save(item.name, item.file, save=False)  # random name: attachment_storage_name
            written.append(attachment.file)
            attachment.save()
    except BaseException:
        for stored in written:
            stored.storage.delete(stored.name)
        raise
    message_mail_queue(message, attachments=len(written))
    return message


def ticket_event(ticket, kind, from_value, to_value, *, actor):
    return TicketEvent.objects.create(ticket=ticket, kind=kind, from_value=from_value, to_value=to_value, actor=actor)


def ticket_transition(ticket, new_status, *, actor):
    """Move a ticket along TRANSITIONS and record who did it. Caller saves and holds the row lock."""
    if new_status == ticket.status:
        return
    if new_status not in TRANSITIONS[Status(ticket.status)]:
        raise TicketError(f"A {ticket.get_status_display().lower()} ticket cannot become {Status(new_status).label}.")
    ticket_event(ticket, TicketEvent.Kind.STATUS, ticket.status, new_status, actor=actor)
    ticket.status = new_status
    ticket.closed_at = timezone.now() if new_status == Status.CLOSED else None


def ticket_status_set(*, ticket, status, actor) -> Ticket:
    """Set a status by hand (customer close/reopen, staff in the admin). Idempotent."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != status:
            ticket_transition(ticket, status, actor=actor)
            ticket.save()
            logger.info("ticket_status ticket=%s status=%s actor=%s", ticket.pk, status, actor.pk)
    return ticket


def ticket_close(*, ticket, actor) -> Ticket:
    return ticket_status_set(ticket=ticket, status=Status.CLOSED, actor=actor)


def ticket_reopen(*, ticket, actor) -> Ticket:
    """A reopened ticket waits for staff: someone reopens because they still need help.
    Only a closed ticket reopens (checked under the lock, not on the caller's copy)."""
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status != Status.CLOSED:
            return locked
        return ticket_status_set(ticket=locked, status=Status.AWAITING_STAFF, actor=actor)


def ticket_assign(*, ticket, assignee, actor) -> Ticket:
    """Assign to a staff member (or nobody, with None). Later customer messages email the assignee."""
    if assignee is not None and not assignee.is_staff:
        raise TicketError("Tickets can only be assigned to staff.")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
        if locked.assignee_id != getattr(assignee, "pk", None):
            ticket_event(
                locked,
                TicketEvent.Kind.ASSIGNEE,
                locked.assignee.email if locked.assignee else "",
                assignee.email if assignee else "",
                actor=actor,
            )
            Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee, updated_at=timezone.now())
            logger.info(
                "ticket_assign ticket=%s assignee=%s actor=%s", ticket.pk, getattr(assignee, "pk", None), actor.pk
            )
    ticket.assignee = assignee
    return ticket


def ticket_priority_set(*, ticket, priority, actor) -> Ticket:
    """Staff triage. Idempotent."""
    Priority = Ticket.Priority
    if priority not in Priority.values:
        raise TicketError(f"Unknown priority {priority!r}.")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.priority != priority:
            ticket_event(locked, TicketEvent.Kind.PRIORITY, locked.priority, priority, actor=actor)
            Ticket.objects.filter(pk=ticket.pk).update(priority=priority, updated_at=timezone.now())
    ticket.priority = priority
    return ticket
