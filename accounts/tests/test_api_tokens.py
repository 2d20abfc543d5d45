"""Customers create and revoke their API token on the account page; staff can revoke any in the admin."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def api_status_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/servers/").status_code


@pytest.mark.django_db
def test_without_a_token_the_account_page_offers_to_create_one(alice_client):
    page = alice_client.get("/accounts/profile/").text
    assert "You have no API token" in page and "Create token" in page and "Revoke token" not in page


@pytest.mark.django_db
def test_creating_a_token_shows_it_and_it_authenticates(alice_client, alice):
    response = alice_client.post("/accounts/profile/api-token/")
    assert response.status_code == 302 and response.url == "/accounts/profile/"
    key = Token.objects.get(user=alice).key
    page = alice_client.get("/accounts/profile/").text
    assert key in page and "Revoke token" in page and "Create token" not in page
    assert api_status_with(key) == 200


@pytest.mark.django_db
def test_creating_again_keeps_the_same_token(alice_client, alice):
    alice_client.post("/accounts/profile/api-token/")
    key = Token.objects.get(user=alice).key
    alice_client.post("/accounts/profile/api-token/")
    assert Token.objects.get(user=alice).key == key


@pytest.mark.django_db
def test_revoking_the_token_makes_it_401_at_once(alice_client, alice):
    key = Token.objects.create(user=alice).key
    response = alice_client.post("/accounts/profile/api-token/revoke/", follow=True)
    assert "Your API token is revoked" in response.text
    assert not Token.objects.filter(user=alice).exists()
    assert api_status_with(key) == 401


@pytest.mark.django_db
def test_revoking_touches_only_the_callers_token(alice_client, alice, bob):
    Token.objects.create(user=alice)
    bobs = Token.objects.create(user=bob).key
    alice_client.post("/accounts/profile/api-token/revoke/")
    assert api_status_with(bobs) == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/profile/api-token/", "/accounts/profile/api-token/revoke/"])
def test_token_buttons_accept_only_a_signed_in_post_with_csrf(alice, path):
    assert Client().post(path).url.startswith("/accounts/login/")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get(path).status_code == 405
    Token.objects.create(user=alice)
    assert browser.post(path).status_code == 403
    assert Token.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_the_csrf_protected_form_posts_work_from_the_page(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/accounts/profile/")
    csrf = browser.cookies["csrftoken"].value
    assert browser.post("/accounts/profile/api-token/", {"csrfmiddlewaretoken": csrf}).status_code == 302
    assert Token.objects.filter(user=alice).exists()
    assert browser.post("/accounts/profile/api-token/revoke/", {"csrfmiddlewaretoken": csrf}).status_code == 302
    assert not Token.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_staff_find_a_token_by_email_in_the_admin_and_delete_it(client, staff, alice, bob):
    alices = Token.objects.create(user=alice)
    Token.objects.create(user=bob)
    client.force_login(staff)
    listing = client.get("/admin/authtoken/tokenproxy/", {"q": "alice@"})
    assert listing.status_code == 200
    assert alices.key in listing.text and "bob@example.com" not in listing.text
    change_url = f"/admin/authtoken/tokenproxy/{alice.pk}/change/"
    assert client.get(change_url).status_code == 200
    response = client.post(f"/admin/authtoken/tokenproxy/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=alice).exists() and Token.objects.filter(user=bob).exists()


@pytest.mark.django_db
def test_staff_can_add_a_token_for_a_customer_in_the_admin(client, staff, alice):
    client.force_login(staff)
    assert client.get("/admin/authtoken/tokenproxy/add/").status_code == 200
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": alice.pk})
    assert response.status_code == 302
    assert Token.objects.filter(user=alice).exists()
