import pytest
from django.core import mail
from django.urls import reverse

from servers.factories import ProvisioningAttemptFactory, ServerFactory
from support import services
from support.models import Ticket, TicketAttachment
from support.tests.conftest import MB, PNG, REFUSED, assert_nothing_stored, upload


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def as_bob(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def alice_attachment(alice_ticket):
    return services.message_add(
        ticket=alice_ticket, author=alice_ticket.user, body="screenshot", files=[upload("shot.png", PNG)]
    ).attachments.get()


def test_the_list_shows_only_my_tickets_with_their_status(as_alice, alice_ticket, bob):
    services.ticket_create(user=bob, subject="Bob's secret problem", body="x")
    response = as_alice.get("/support/")
    assert response.status_code == 200
    assert b"SSH refuses me" in response.content and b"Open" in response.content
    assert b"Bob&#x27;s secret problem" not in response.content and b"Bob's secret" not in response.content


def test_a_customer_opens_a_ticket_about_their_server_with_files(as_alice, alice):
    server = ServerFactory(user=alice, order__user=alice)
    response = as_alice.post(
        "/support/new/",
        {"subject": "Slow disk", "body": "iowait 90%", "server": server.pk, "attachments": [upload("a.png", PNG)]},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response.url == f"/support/{ticket.pk}/"
    assert ticket.server == server and ticket.messages.get().attachments.count() == 1
    page = as_alice.get(response.url)
    assert reverse("servers:detail", args=[server.pk]).encode() in page.content
    assert b"a.png" in page.content


def test_the_new_form_offers_only_my_servers_and_preselects_one(as_alice, alice, bob):
    mine = ServerFactory(user=alice, order__user=alice, name="alice-box")
    ServerFactory(user=bob, order__user=bob, name="bob-box")
    response = as_alice.get(f"/support/new/?server={mine.pk}")
    assert b"alice-box" in response.content and b"bob-box" not in response.content
    assert f'value="{mine.pk}" selected'.encode() in response.content


def test_choosing_another_customers_server_is_refused(as_alice, bob):
    theirs = ServerFactory(user=bob, order__user=bob)
    response = as_alice.post("/support/new/", {"subject": "s", "body": "b", "server": theirs.pk})
    assert response.status_code == 400 and b"valid choice" in response.content
    assert_nothing_stored()


@pytest.mark.parametrize("case", REFUSED.keys())
def test_each_refused_file_shows_its_reason_and_stores_nothing(as_alice, case):
    name, content, words = REFUSED[case]
    response = as_alice.post("/support/new/", {"subject": "s", "body": "b", "attachments": [upload(name, content)]})
    assert response.status_code == 400
    assert words in response.content.decode()
    assert_nothing_stored()


@pytest.mark.parametrize(
    "files, words",
    [
        ([("big.log", b"a" * (10 * MB + 1))], "at most 10 MB per file"),
        ([(f"{n}.png", PNG) for n in range(6)], "at most 5 attachments"),
        ([(f"{n}.log", b"a" * (9 * MB)) for n in range(3)], "at most 25 MB per message"),
    ],
)
def test_limits_stop_the_upload_with_a_message_naming_the_limit(as_alice, alice_ticket, files, words):
    response = as_alice.post(
        f"/support/{alice_ticket.pk}/reply/", {"body": "see files", "attachments": [upload(*f) for f in files]}
    )
    assert response.status_code == 400
    assert words in response.content.decode()
    assert_nothing_stored(tickets=1, messages=1)


def test_a_path_traversal_name_is_stored_as_a_plain_name_under_a_random_path(as_alice, alice_ticket):
    # Django's parser already drops "../"; our sanitiser also strips backslash paths and leading dots.
    as_alice.post(
        f"/support/{alice_ticket.pk}/reply/", {"body": "b", "attachments": [upload("..\\..\\..\\.bashrc.png", PNG)]}
    )
    attachment = TicketAttachment.objects.get()
    assert attachment.original_name == "bashrc.png"
    assert ".." not in attachment.file.name and "bashrc" not in attachment.file.name


def test_a_reply_moves_the_ticket_to_awaiting_staff(as_alice, alice_ticket):
    response = as_alice.post(f"/support/{alice_ticket.pk}/reply/", {"body": "Any news?"})
    assert response.status_code == 302
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == "awaiting_staff"


def test_close_and_reopen_buttons(as_alice, alice_ticket):
    page = as_alice.get(f"/support/{alice_ticket.pk}/")
    assert reverse("support:close", args=[alice_ticket.pk]).encode() in page.content
    as_alice.post(f"/support/{alice_ticket.pk}/close/")
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == "closed"
    page = as_alice.get(f"/support/{alice_ticket.pk}/")
    assert reverse("support:reopen", args=[alice_ticket.pk]).encode() in page.content
    as_alice.post(f"/support/{alice_ticket.pk}/reopen/")
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == "awaiting_staff"


def test_internal_notes_never_reach_the_customer_page(as_alice, alice_ticket, staff):
    note = services.message_add(
        ticket=alice_ticket, author=staff, body="INTERNAL: refund abuse?", internal=True, files=[upload("n.png", PNG)]
    )
    services.message_add(ticket=alice_ticket, author=staff, body="We are on it.")
    page = as_alice.get(f"/support/{alice_ticket.pk}/").content.decode()
    assert "We are on it." in page and "INTERNAL" not in page
    assert reverse("support:attachment", args=[note.attachments.get().pk]) not in page


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/support/{ticket}/"),
        ("post", "/support/{ticket}/reply/"),
        ("post", "/support/{ticket}/close/"),
        ("post", "/support/{ticket}/reopen/"),
        ("get", "/support/attachments/{attachment}/"),
    ],
)
def test_another_customer_gets_404_never_403(as_bob, alice_attachment, method, path):
    ticket = alice_attachment.message.ticket
    url = path.format(ticket=ticket.pk, attachment=alice_attachment.pk)
    data = {"body": "hijack", "attachments": [upload("x.png", PNG)]} if method == "post" else None
    response = getattr(as_bob, method)(url, data)
    assert response.status_code == 404
    assert ticket.messages.count() == 2 and TicketAttachment.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == "awaiting_staff"  # as alice left it


def test_a_download_is_an_attachment_with_nosniff_and_a_sandbox(as_alice, alice_attachment):
    response = as_alice.get(f"/support/attachments/{alice_attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="shot.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_an_internal_note_attachment_is_404_for_the_customer_and_served_to_staff(client, alice, staff, alice_ticket):
    note = services.message_add(
        ticket=alice_ticket, author=staff, body="n", internal=True, files=[upload("n.png", PNG)]
    )
    url = f"/support/attachments/{note.attachments.get().pk}/"
    client.force_login(alice)
    assert client.get(url).status_code == 404
    client.force_login(staff)
    assert client.get(url).status_code == 200


def test_pages_need_a_sign_in(client, alice_ticket):
    response = client.get(f"/support/{alice_ticket.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


# --- Staff in the admin -------------------------------------------------------------


def admin_post(client, ticket, **fields):
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "reply_body": "",
        "messages-TOTAL_FORMS": ticket.messages.count(),
        "messages-INITIAL_FORMS": ticket.messages.count(),
        "messages-MIN_NUM_FORMS": 0,
        "messages-MAX_NUM_FORMS": 1000,
    }
    for n, message in enumerate(ticket.messages.all()):
        data[f"messages-{n}-id"] = message.pk
        data[f"messages-{n}-ticket"] = ticket.pk
    # The read-only history inline still posts its management form.
    events = list(ticket.events.all())
    data.update({"events-TOTAL_FORMS": len(events), "events-INITIAL_FORMS": len(events)})
    data.update({"events-MIN_NUM_FORMS": 0, "events-MAX_NUM_FORMS": 1000})
    for n, event in enumerate(events):
        data[f"events-{n}-id"] = event.pk
        data[f"events-{n}-ticket"] = ticket.pk
    data.update(fields)
    return client.post(reverse("admin:support_ticket_change", args=[ticket.pk]), data)


def test_staff_reply_in_the_admin_with_a_file_emails_the_customer_once(
    client, staff, alice_ticket, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_post(
            client, alice_ticket, reply_body="Fixed, see log", reply_attachments=[upload("a.log", b"ok\n")]
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    message = alice_ticket.messages.last()
    assert message.is_staff_reply and message.attachments.get().content_type == "text/plain"
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == "awaiting_customer"


def test_an_internal_note_in_the_admin_emails_nobody(client, staff, alice_ticket, django_capture_on_commit_callbacks):
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_post(client, alice_ticket, reply_body="note", reply_internal="on", assignee=staff.pk)
    assert response.status_code == 302
    assert alice_ticket.messages.last().is_internal and mail.outbox == []
    alice_ticket.refresh_from_db()
    assert alice_ticket.assignee == staff and alice_ticket.status == "open"


def test_the_admin_refuses_a_bad_file_with_the_same_rules(client, staff, alice_ticket):
    client.force_login(staff)
    response = admin_post(client, alice_ticket, reply_body="x", reply_attachments=[upload("a.png", b"<html>x")])
    assert response.status_code == 200 and "markup" in response.content.decode()
    assert_nothing_stored(tickets=1, messages=1)


def test_the_admin_shows_the_servers_status_ip_and_attempts(client, staff, alice):
    server = ServerFactory(user=alice, order__user=alice, status="failed", ip_address="203.0.113.9")
    ProvisioningAttemptFactory(server=server, number=1, outcome="permanent_error", error="quota exceeded")
    ticket = services.ticket_create(user=alice, subject="s", body="b", server=server)
    client.force_login(staff)
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert "203.0.113.9" in page and "failed" in page and "quota exceeded" in page


def test_staff_changes_in_the_admin_are_in_the_tickets_history(client, staff, alice_ticket):
    client.force_login(staff)
    response = admin_post(client, alice_ticket, status="closed", priority="high", assignee=staff.pk)
    assert response.status_code == 302

    assert [(e.kind, e.from_value, e.to_value, e.actor) for e in alice_ticket.events.all()][1:] == [
        ("priority", "normal", "high", staff),
        ("assignee", "", "staff@example.com", staff),
        ("status", "open", "closed", staff),
    ]
    page = client.get(reverse("admin:support_ticket_change", args=[alice_ticket.pk])).content.decode()
    history = page.lower().split("history (status, assignee, priority)")[1]
    assert "closed" in history and "high" in history and history.count("staff@example.com") >= 2


@pytest.mark.parametrize("age", ["1d", "3d", "7d", "older"])
def test_the_admin_list_filters_by_age(client, staff, alice_ticket, age):
    client.force_login(staff)
    response = client.get(reverse("admin:support_ticket_changelist"), {"age": age, "status": "open"})
    assert response.status_code == 200
    assert (b"SSH refuses me" in response.content) == (age == "1d")
