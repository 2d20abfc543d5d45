import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.factories import api_key_for
from servers.factories import ServerFactory
from support import services
from support.models import TicketAttachment
from support.tests.conftest import PNG, REFUSED, assert_nothing_stored, upload


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


@pytest.fixture
def api(alice):
    return client_for(alice)


def test_it_needs_authentication_401(db):
    assert APIClient().get("/api/v1/tickets/").status_code == 401


def test_the_list_is_paginated_and_holds_only_my_tickets(api, alice_ticket, bob):
    services.ticket_create(user=bob, subject="bob's", body="x")
    body = api.get("/api/v1/tickets/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1 and body["results"][0]["id"] == alice_ticket.pk
    assert body["results"][0]["status"] == "open"


def test_a_customer_opens_a_ticket_about_their_server(api, alice):
    server = ServerFactory(user=alice, order__user=alice)
    response = api.post("/api/v1/tickets/", {"subject": "Down", "body": "502s", "server": server.pk}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["server"] == server.pk and body["messages"][0]["body"] == "502s"


def test_another_customers_server_is_a_400(api, bob):
    server = ServerFactory(user=bob, order__user=bob)
    response = api.post("/api/v1/tickets/", {"subject": "s", "body": "b", "server": server.pk}, format="json")
    assert response.status_code == 400 and "server" in response.json()
    assert_nothing_stored()


def test_the_detail_has_messages_and_download_urls_without_internal_notes(api, alice_ticket, staff):
    services.message_add(ticket=alice_ticket, author=staff, body="INTERNAL note", internal=True)
    services.message_add(ticket=alice_ticket, author=staff, body="Reply", files=[upload("fix.png", PNG)])
    body = api.get(f"/api/v1/tickets/{alice_ticket.pk}/").json()
    assert [m["body"] for m in body["messages"]] == ["Port 22 closed?", "Reply"]
    assert "INTERNAL" not in str(body)
    [attachment] = body["messages"][1]["attachments"]
    assert attachment["name"] == "fix.png" and attachment["content_type"] == "image/png"
    assert attachment["download_url"] == f"http://testserver/support/attachments/{attachment['id']}/"


def test_an_api_client_downloads_an_attachment_with_its_token(api, alice_ticket, bob):
    message = services.message_add(
        ticket=alice_ticket, author=alice_ticket.user, body="log", files=[upload("a.png", PNG)]
    )
    [attachment] = api.get(f"/api/v1/tickets/{alice_ticket.pk}/").json()["messages"][1]["attachments"]

    response = api.get(attachment["download_url"])
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Disposition"].startswith("attachment")
    assert client_for(bob).get(attachment["download_url"]).status_code == 404  # another customer's
    assert message.attachments.get().pk == attachment["id"]

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    refused = stranger.get(attachment["download_url"])
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid token."}
    assert APIClient().get(attachment["download_url"]).status_code == 302  # no credentials: to sign-in


def test_a_customer_posts_a_message_with_several_attachments(api, alice_ticket):
    response = api.post(
        f"/api/v1/tickets/{alice_ticket.pk}/messages/",
        {"body": "logs attached", "attachments": [upload("a.png", PNG), upload("b.log", b"line\n")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert [a["content_type"] for a in response.json()["attachments"]] == ["image/png", "text/plain"]
    alice_ticket.refresh_from_db()
    assert alice_ticket.status == "awaiting_staff"


@pytest.mark.parametrize("case", REFUSED.keys())
def test_a_refused_attachment_is_a_400_naming_the_reason_and_stores_nothing(api, alice_ticket, case):
    name, content, words = REFUSED[case]
    response = api.post(
        f"/api/v1/tickets/{alice_ticket.pk}/messages/",
        {"body": "b", "attachments": [upload("ok.png", PNG), upload(name, content)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert words in response.json()["attachments"][0]
    assert_nothing_stored(tickets=1, messages=1)


def test_too_many_attachments_are_stopped_while_uploading(api, alice_ticket):
    files = [upload(f"{n}.png", PNG) for n in range(6)]
    response = api.post(
        f"/api/v1/tickets/{alice_ticket.pk}/messages/", {"body": "b", "attachments": files}, format="multipart"
    )
    assert response.status_code == 400 and "at most 5 attachments" in response.json()["attachments"][0]
    assert_nothing_stored(tickets=1, messages=1)


def test_another_customers_ticket_is_404_for_reading_and_posting(alice_ticket, bob):
    bobs = client_for(bob)
    assert bobs.get(f"/api/v1/tickets/{alice_ticket.pk}/").status_code == 404
    response = bobs.post(
        f"/api/v1/tickets/{alice_ticket.pk}/messages/",
        {"body": "hijack", "attachments": [upload("a.png", PNG)]},
        format="multipart",
    )
    assert response.status_code == 404
    assert alice_ticket.messages.count() == 1 and not TicketAttachment.objects.exists()


def test_another_customers_attachment_is_404(alice_ticket, alice, bob, client):
    message = services.message_add(ticket=alice_ticket, author=alice, body="b", files=[upload("a.png", PNG)])
    client.force_login(bob)
    assert client.get(f"/support/attachments/{message.attachments.get().pk}/").status_code == 404


def test_a_message_through_the_api_notifies_staff_once(api, alice_ticket, settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = ["ops@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/v1/tickets/{alice_ticket.pk}/messages/", {"body": "ping"}, format="multipart")
    assert [m.to for m in mail.outbox] == [["ops@example.com"]]


def test_the_schema_describes_the_multipart_message_upload(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/tickets/{id}/messages/"]["post"]
    multipart = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].split("/")[-1]
    attachments = schema["components"]["schemas"][multipart]["properties"]["attachments"]
    assert attachments["type"] == "array" and attachments["items"]["format"] == "binary"
    assert "/api/v1/tickets/{id}/" in schema["paths"]
