"""Least privilege on tickets: the API treats everyone as a customer (staff included);
staff work tickets in the admin with model permissions, attachments included."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.factories import UserFactory, api_key_for
from billing.factories import OrderFactory, PaymentFactory
from security.factories import staff_groups
from support import services
from support.models import TicketMessage

from .conftest import PNG, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _groups(db):
    staff_groups()


@pytest.fixture
def alice_ticket(alice):
    return services.ticket_create(user=alice, subject="Port 22 closed", body="Help")


@pytest.fixture
def colleague(db):
    """A staff account with only is_staff: the finding's account."""
    return UserFactory(email="colleague@example.com", is_staff=True)


def api_as(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


def session_as(user):
    client = Client()
    client.force_login(user)
    return client


def with_perms(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # permissions are cached per instance


def test_staff_read_no_other_customers_ticket_nor_its_internal_notes_through_the_api(alice_ticket, staff, colleague):
    """The finding: `is_staff` alone read every ticket's internal notes through the API."""
    services.message_add(ticket=alice_ticket, author=staff, body="INTERNAL: customer is a reseller", internal=True)
    for user in (colleague, staff):  # a superuser too: the API gives staff no powers
        client = api_as(user)
        assert client.get(f"/api/v1/tickets/{alice_ticket.pk}/").status_code == 404
        assert client.get("/api/v1/tickets/").json()["count"] == 0


def test_staff_cannot_post_into_a_customers_ticket_through_the_api(alice_ticket, colleague):
    """The finding: `is_staff` alone posted into any customer's ticket."""
    response = api_as(colleague).post(f"/api/v1/tickets/{alice_ticket.pk}/messages/", {"body": "hi"}, format="json")
    assert response.status_code == 404
    assert alice_ticket.messages.count() == 1


def test_staff_see_their_own_ticket_through_the_api_as_a_customer_would(staff):
    own = services.ticket_create(user=staff, subject="My own", body="b")
    body = api_as(staff).get(f"/api/v1/tickets/{own.pk}/").json()
    assert [message["is_internal"] for message in body["messages"]] == [False]


@pytest.fixture
def attachments(alice_ticket, staff):
    public = services.message_add(
        ticket=alice_ticket, author=alice_ticket.user, body="log", files=[upload("a.png", PNG)]
    )
    note = services.message_add(
        ticket=alice_ticket, author=staff, body="note", files=[upload("n.png", PNG)], internal=True
    )
    return public.attachments.get(), note.attachments.get()


def download(client, attachment):
    return client.get(f"/support/attachments/{attachment.pk}/").status_code


def test_a_staff_session_needs_the_attachment_permission_to_download(attachments, colleague):
    public, note = attachments
    assert download(session_as(colleague), public) == 404
    reader = with_perms(colleague, "view_ticketattachment")
    assert download(session_as(reader), public) == 200
    assert download(session_as(reader), note) == 404  # an internal note's needs the note permission
    notes = with_perms(reader, "internal_note_ticket")
    assert download(session_as(notes), note) == 200


def test_a_staff_token_downloads_only_its_own_attachments(attachments, staff):
    public, _ = attachments
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(staff)}")
    assert client.get(f"/support/attachments/{public.pk}/").status_code == 404


def test_a_staff_session_without_its_second_factor_downloads_nothing(attachments, staff, settings):
    settings.STAFF_2FA_REQUIRED = True
    public, _ = attachments
    assert download(session_as(staff), public) == 404


def test_the_admin_hides_internal_notes_from_staff_without_the_note_permission(alice_ticket, staff, colleague):
    services.message_add(ticket=alice_ticket, author=staff, body="SECRET-NOTE", internal=True)
    viewer = with_perms(colleague, "view_ticket", "view_ticketmessage", "view_ticketattachment")
    client = session_as(viewer)
    assert "SECRET-NOTE" not in client.get(f"/admin/support/ticket/{alice_ticket.pk}/change/").text
    assert "SECRET-NOTE" not in client.get("/admin/support/ticketmessage/").text
    assert "SECRET-NOTE" in session_as(staff).get(f"/admin/support/ticket/{alice_ticket.pk}/change/").text


def reply(client, ticket, body, internal=False):
    ticket.refresh_from_db()  # the form posts the ticket's current status back
    data = {"status": ticket.status, "priority": ticket.priority, "assignee": "", "reply_body": body}
    if internal:
        data["reply_internal"] = "on"
    for prefix in ("messages", "events"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return client.post(f"/admin/support/ticket/{ticket.pk}/change/", data)


def test_replying_and_internal_notes_each_need_their_permission(alice_ticket, colleague):
    editor = with_perms(colleague, "view_ticket", "change_ticket")
    assert reply(session_as(editor), alice_ticket, "We are on it").status_code == 200  # the form says why
    assert reply(session_as(editor), alice_ticket, "note", internal=True).status_code == 200
    assert alice_ticket.messages.count() == 1
    with pytest.raises(services.TicketError):
        services.message_add(ticket=alice_ticket, author=editor, body="through the service")


def test_a_support_group_member_reads_and_answers_tickets_but_cannot_refund(
    alice_ticket, mailoutbox, django_capture_on_commit_callbacks
):
    agent = UserFactory(email="agent@example.com", is_staff=True)
    agent.groups.add(Group.objects.get(name="support"))
    client = session_as(agent)
    assert client.get("/admin/support/ticket/").status_code == 200
    assert client.get(f"/admin/support/ticket/{alice_ticket.pk}/change/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert reply(client, alice_ticket, "Port 22 is open again").status_code == 302
        assert reply(client, alice_ticket, "Customer was rude", internal=True).status_code == 302
    sent = TicketMessage.objects.filter(ticket=alice_ticket, author=agent)
    assert [(m.is_staff_reply, m.is_internal) for m in sent] == [(True, False), (True, True)]
    assert [mail.to for mail in mailoutbox if "Port 22 is open again" in mail.body] == [[alice_ticket.user.email]]

    order = OrderFactory(status="paid")
    payment = PaymentFactory(order=order)
    assert "refund_orders" not in client.get("/admin/billing/order/").text
    assert client.get(f"/admin/orphaned-orders/payments/{payment.razorpay_payment_id}/refund/").status_code == 403
    assert not agent.has_perm("billing.refund_order") and not agent.has_perm("servers.requeue_server")


def test_the_billing_group_refunds_and_marks_handled_but_does_not_answer_tickets(alice_ticket):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.groups.add(Group.objects.get(name="billing"))
    for codename in ["billing.refund_order", "billing.mark_order_handled", "servers.requeue_server"]:
        assert clerk.has_perm(codename)
    assert not clerk.has_perm("support.reply_ticket")
