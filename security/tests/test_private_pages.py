"""Pages with a signed-in customer's money state are never served from the browser's copy."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_signed_in_customers_pages_say_no_store(alice):
    client = Client()
    client.force_login(alice)
    for path in ("/home/", "/orders/", "/servers/", "/invoices/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_public_pages_and_the_api_keep_their_own_caching(client, alice):
    assert "no-store" not in client.get("/plans/").get("Cache-Control", "")
    signed_in = Client()
    signed_in.force_login(alice)
    assert "no-store" not in signed_in.get("/api/v1/plans/").get("Cache-Control", "")


def test_the_favicon_is_served_at_the_root_for_every_page(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
