import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from servers.factories import ServerFactory
from support import services
from support.models import Ticket, TicketAttachment
from support.tests.conftest import PNG, REFUSED, assert_nothing_stored, stored_files, upload
from support.uploads import AttachmentRefused

Status = Ticket.Status


def test_it_opens_a_ticket_with_its_first_message_and_files(alice):
    server = ServerFactory(user=alice, order__user=alice)
    ticket = services.ticket_create(
        user=alice, subject=" Disk full ", body="Help", server=server, files=[upload("../../shot.png", PNG)]
    )
    assert (ticket.subject, ticket.status, ticket.server) == ("Disk full", Status.OPEN, server)
    attachment = TicketAttachment.objects.get(message__ticket=ticket)
    assert (attachment.original_name, attachment.content_type, attachment.size) == ("shot.png", "image/png", len(PNG))
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    # Stored under a random name inside MEDIA_ROOT; the customer's name is data only.
    assert attachment.file.name.startswith("attachments/") and "shot" not in attachment.file.name
    [path] = stored_files()
    assert path.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert path.read_bytes() == PNG


@pytest.mark.parametrize("case", REFUSED.keys())
def test_a_refused_file_stores_no_ticket_no_message_no_file(alice, case):
    name, content, _ = REFUSED[case]
    with pytest.raises(AttachmentRefused):
        services.ticket_create(user=alice, subject="s", body="b", files=[upload("ok.png", PNG), upload(name, content)])
    assert_nothing_stored()


def test_a_refused_reply_stores_nothing(alice_ticket, alice):
    with pytest.raises(AttachmentRefused):
        services.message_add(ticket=alice_ticket, author=alice, body="b", files=[upload("x.png", b"<html>")])
    assert_nothing_stored(tickets=1, messages=1)
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.OPEN


def test_it_refuses_another_customers_server(alice, bob):
    with pytest.raises(services.TicketError):
        services.ticket_create(user=alice, subject="s", body="b", server=ServerFactory(user=bob, order__user=bob))
    assert_nothing_stored()


def test_replies_move_the_status_between_customer_and_staff(alice_ticket, alice, staff):
    services.message_add(ticket=alice_ticket, author=staff, body="Try again")
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.AWAITING_CUSTOMER
    services.message_add(ticket=alice_ticket, author=alice, body="Still broken")
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.AWAITING_STAFF


def test_an_internal_note_changes_no_status(alice_ticket, staff):
    message = services.message_add(ticket=alice_ticket, author=staff, body="looks like abuse", internal=True)
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.OPEN
    assert message.is_internal and message.is_staff_reply


def test_a_customer_cannot_write_an_internal_note(alice_ticket, alice):
    with pytest.raises(services.TicketError):
        services.message_add(ticket=alice_ticket, author=alice, body="x", internal=True)


def test_close_and_reopen(alice_ticket, alice):
    services.ticket_close(ticket=alice_ticket, actor=alice)
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.CLOSED and alice_ticket.closed_at is not None
    services.ticket_reopen(ticket=alice_ticket, actor=alice)
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.AWAITING_STAFF and alice_ticket.closed_at is None


def test_a_customer_reply_reopens_a_closed_ticket(alice_ticket, alice):
    services.ticket_close(ticket=alice_ticket, actor=alice)
    services.message_add(ticket=alice_ticket, author=alice, body="It broke again")
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == Status.AWAITING_STAFF


def test_a_ticket_cannot_go_back_to_open_unless_closed(alice_ticket, alice, staff):
    services.message_add(ticket=alice_ticket, author=staff, body="Hi")
    with pytest.raises(services.TicketError):
        services.ticket_status_set(ticket=alice_ticket, status=Status.OPEN, actor=staff)


def test_tickets_are_assigned_to_staff_only(alice_ticket, alice, staff):
    services.ticket_assign(ticket=alice_ticket, assignee=staff, actor=staff)
    assert Ticket.objects.get().assignee == staff
    with pytest.raises(services.TicketError):
        services.ticket_assign(ticket=alice_ticket, assignee=alice, actor=staff)


# --- History ----------------------------------------------------------------------


def history(ticket):
    return [(e.kind, e.from_value, e.to_value, e.actor.email if e.actor else None) for e in ticket.events.all()]


def test_every_status_change_is_recorded_with_who_made_it(alice_ticket, alice, staff):
    services.message_add(ticket=alice_ticket, author=staff, body="Try again")
    services.message_add(ticket=alice_ticket, author=staff, body="Any news?")  # no move: no entry
    services.message_add(ticket=alice_ticket, author=staff, body="note", internal=True)
    services.message_add(ticket=alice_ticket, author=alice, body="Still broken")
    services.ticket_close(ticket=alice_ticket, actor=alice)
    services.ticket_close(ticket=alice_ticket, actor=alice)  # already closed: no entry
    services.ticket_reopen(ticket=alice_ticket, actor=alice)

    assert history(alice_ticket) == [
        ("status", "", "open", "alice@example.com"),
        ("status", "open", "awaiting_customer", "staff@example.com"),
        ("status", "awaiting_customer", "awaiting_staff", "alice@example.com"),
        ("status", "awaiting_staff", "closed", "alice@example.com"),
        ("status", "closed", "awaiting_staff", "alice@example.com"),
    ]


def test_a_refused_move_records_nothing(alice_ticket, staff):
    services.message_add(ticket=alice_ticket, author=staff, body="Hi")
    with pytest.raises(services.TicketError):
        services.ticket_status_set(ticket=alice_ticket, status=Status.OPEN, actor=staff)
    assert [entry[2] for entry in history(alice_ticket)] == ["open", "awaiting_customer"]


def test_assignment_and_priority_changes_are_recorded(alice_ticket, staff):
    from accounts.factories import UserFactory

    colleague = UserFactory(email="colleague@example.com", is_staff=True)
    services.ticket_assign(ticket=alice_ticket, assignee=staff, actor=staff)
    services.ticket_assign(ticket=alice_ticket, assignee=staff, actor=staff)  # unchanged: no entry
    services.ticket_assign(ticket=alice_ticket, assignee=colleague, actor=staff)
    services.ticket_assign(ticket=alice_ticket, assignee=None, actor=colleague)
    services.ticket_priority_set(ticket=alice_ticket, priority="urgent", actor=colleague)
    with pytest.raises(services.TicketError):
        services.ticket_priority_set(ticket=alice_ticket, priority="whenever", actor=colleague)

    assert history(alice_ticket)[1:] == [
        ("assignee", "", "staff@example.com", "staff@example.com"),
        ("assignee", "staff@example.com", "colleague@example.com", "staff@example.com"),
        ("assignee", "colleague@example.com", "", "colleague@example.com"),
        ("priority", "normal", "urgent", "colleague@example.com"),
    ]
    stored = Ticket.objects.get(pk=alice_ticket.pk)
    assert (stored.assignee, stored.priority) == (None, "urgent")


# --- Notifications ----------------------------------------------------------------


def test_a_staff_reply_emails_the_customer_once(alice_ticket, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(ticket=alice_ticket, author=staff, body="Port 22 is open again.")
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert "Port 22 is open again." in email.body
    assert f"/support/{alice_ticket.pk}/" in email.body


def test_an_internal_note_emails_nobody(alice_ticket, staff, settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["ops@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(
            ticket=alice_ticket, author=staff, body="SECRET: customer is on a watch list", internal=True
        )
        services.message_add(ticket=alice_ticket, author=staff, body="Fixed.")
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert all("SECRET" not in sent.body for sent in mail.outbox)


def test_a_new_ticket_emails_alert_emails_once_while_unassigned(alice, settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["ops@example.com", "oncall@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_create(user=alice, subject="Billing question", body="Why GST?")
    [email] = mail.outbox
    assert email.to == ["ops@example.com", "oncall@example.com"]
    assert "Why GST?" in email.body and "alice@example.com" in email.subject


def test_a_customer_reply_emails_only_the_assignee(
    alice_ticket, alice, staff, settings, django_capture_on_commit_callbacks
):
    settings.ALERT_EMAILS = ["ops@example.com"]
    services.ticket_assign(ticket=alice_ticket, assignee=staff, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(ticket=alice_ticket, author=alice, body="Any news?")
    [email] = mail.outbox
    assert email.to == ["staff@example.com"]


def test_a_refused_reply_emails_nobody(alice_ticket, alice, settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["ops@example.com"]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AttachmentRefused):
        services.message_add(ticket=alice_ticket, author=alice, body="x", files=[upload("a.png", b"")])
    assert mail.outbox == []
