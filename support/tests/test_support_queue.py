"""New tickets reach a support queue (SUPPORT_EMAILS, else the Support group, else
ALERT_EMAILS), once per ticket; an assigned ticket's messages go to its assignee."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from accounts.factories import UserFactory
from outbox.models import OutboundMail
from support import services

pytestmark = pytest.mark.django_db


def test_a_new_unassigned_ticket_notifies_support_emails(alice, settings, django_capture_on_commit_callbacks):
    settings.SUPPORT_EMAILS, settings.ALERT_EMAILS = ["support@example.com", "desk@example.com"], []
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_create(user=alice, subject="Cannot reach my server", body="ssh times out")
    [email] = mail.outbox
    assert email.to == ["support@example.com", "desk@example.com"]
    assert email.subject == f"[New ticket #{ticket.pk}] Cannot reach my server (alice@example.com)"
    assert "ssh times out" in email.body and f"/admin/support/ticket/{ticket.pk}/change/" in email.body


def test_without_support_emails_the_support_group_is_notified(alice, settings, django_capture_on_commit_callbacks):
    settings.SUPPORT_EMAILS, settings.ALERT_EMAILS = [], ["ops@example.com"]
    support = Group.objects.create(name="Support")
    for email, staff, active in [
        ("asha@example.com", True, True),
        ("ravi@example.com", True, True),
        ("left@example.com", True, False),
        ("customer@example.com", False, True),
    ]:
        UserFactory(email=email, is_staff=staff, is_active=active).groups.add(support)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_create(user=alice, subject="Invoice copy", body="Please resend")
    [email] = mail.outbox
    assert email.to == ["asha@example.com", "ravi@example.com"]


def test_the_new_ticket_mail_is_queued_once_per_ticket(alice, settings):
    settings.SUPPORT_EMAILS = ["support@example.com"]
    ticket = services.ticket_create(user=alice, subject="Once", body="only once")
    first_message = ticket.messages.get()
    from support.mails import message_mail_queue

    assert message_mail_queue(first_message) is None  # a retry of the same cause queues nothing
    assert list(OutboundMail.objects.values_list("cause_key", flat=True)) == [f"ticket-new:{ticket.pk}"]


def test_later_customer_messages_on_an_unassigned_ticket_also_reach_the_queue(
    alice, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORT_EMAILS = ["support@example.com"]
    ticket = services.ticket_create(user=alice, subject="Still down", body="first")
    with django_capture_on_commit_callbacks(execute=True):
        services.message_add(ticket=ticket, author=alice, body="any news?")
    [email] = mail.outbox
    assert email.to == ["support@example.com"] and email.subject.startswith(f"[Ticket #{ticket.pk}]")
