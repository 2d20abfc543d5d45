"""Customers list, create and revoke their API tokens at /accounts/tokens/; staff can
list and revoke in the admin but never read a key or create one for someone else."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.factories import UserFactory, api_key_for
from accounts.models import ApiToken
from accounts.tokens import token_digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def api_status_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/servers/").status_code


def test_without_a_token_the_page_offers_to_create_one(alice_client):
    page = alice_client.get("/accounts/tokens/").text
    assert "You have no API token" in page and "Create token" in page and "Revoke" not in page


def test_a_created_token_is_shown_once_stored_hashed_and_authenticates(alice_client, alice):
    response = alice_client.post("/accounts/tokens/", {"name": "backup script"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    assert key in response.text and "shown only this once" in response.text
    token = ApiToken.objects.get(user=alice)
    assert (token.name, token.prefix, token.digest) == ("backup script", key[:8], token_digest(key))
    assert not ApiToken.objects.filter(digest=key).exists() and key not in token.digest
    assert api_status_with(key) == 200
    again = alice_client.get("/accounts/tokens/").text
    assert key not in again and f"{key[:8]}…" in again and "backup script" in again


def test_each_creation_is_a_new_token_and_the_old_ones_keep_working(alice_client, alice):
    first = alice_client.post("/accounts/tokens/").context["new_key"]
    second = alice_client.post("/accounts/tokens/").context["new_key"]
    assert first != second and ApiToken.objects.filter(user=alice).count() == 2
    assert api_status_with(first) == api_status_with(second) == 200


def test_revoking_a_token_makes_it_401_at_once_and_leaves_the_others(alice_client, alice):
    kept, revoked = api_key_for(alice), api_key_for(alice)
    token = ApiToken.objects.get(digest=token_digest(revoked))
    response = alice_client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "The token is revoked" in response.text
    assert api_status_with(revoked) == 401 and api_status_with(kept) == 200


def test_another_customers_token_cannot_be_revoked_and_answers_404(alice_client, bob):
    bobs = api_key_for(bob)
    token = ApiToken.objects.get(user=bob)
    assert alice_client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert api_status_with(bobs) == 200


def test_the_token_page_needs_a_signed_in_customer_and_csrf(alice):
    assert Client().get("/accounts/tokens/").url.startswith("/accounts/login/")
    api_key_for(alice)
    revoke_url = f"/accounts/tokens/{ApiToken.objects.get().pk}/revoke/"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.post("/accounts/tokens/").status_code == 403
    assert browser.post(revoke_url).status_code == 403
    assert browser.get(revoke_url).status_code == 405
    assert ApiToken.objects.count() == 1
    browser.get("/accounts/tokens/")
    csrf = browser.cookies["csrftoken"].value
    assert browser.post("/accounts/tokens/", {"csrfmiddlewaretoken": csrf}).status_code == 200
    assert ApiToken.objects.count() == 2


def test_the_account_page_links_to_the_tokens(alice_client, alice):
    api_key_for(alice)
    page = alice_client.get("/accounts/profile/").text
    assert 'href="/accounts/tokens/"' in page and ApiToken.objects.get().prefix in page


def test_a_new_token_is_emailed_to_its_owner(alice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        key = api_key_for(alice)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    assert key[:8] in mailoutbox[0].body and key not in mailoutbox[0].body
    assert "/accounts/tokens/" in mailoutbox[0].body


@pytest.fixture
def help_desk(db):
    """The finding: a staff account with only the token add and view permissions."""
    user = UserFactory(email="helpdesk@example.com", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="accounts", codename__in=["add_apitoken", "view_apitoken"])
    )
    return user


def test_a_help_desk_account_cannot_create_a_token_for_the_superuser(client, help_desk, staff, settings):
    settings.STAFF_2FA_REQUIRED = False
    client.force_login(help_desk)
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    assert client.post("/admin/accounts/apitoken/add/", {"user": staff.pk}).status_code == 403
    assert not ApiToken.objects.filter(user=staff).exists()


def test_the_admin_lists_tokens_by_prefix_and_never_shows_a_key(client, help_desk, staff, alice, settings):
    settings.STAFF_2FA_REQUIRED = False
    key = api_key_for(staff)
    token = ApiToken.objects.get()
    client.force_login(help_desk)
    listing = client.get("/admin/accounts/apitoken/", {"q": "staff@"})
    assert listing.status_code == 200 and key[:8] in listing.text
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert detail.status_code == 200
    for page in (listing, detail):
        assert key not in page.text and token.digest not in page.text
    assert client.post(f"/admin/accounts/apitoken/{token.pk}/change/", {"name": "x"}).status_code == 403


def test_staff_with_the_delete_permission_revoke_a_customers_token(client, help_desk, alice, bob, settings):
    settings.STAFF_2FA_REQUIRED = False
    help_desk.user_permissions.add(Permission.objects.get(codename="delete_apitoken"))
    alices, bobs = api_key_for(alice), api_key_for(bob)
    client.force_login(help_desk)
    token = ApiToken.objects.get(user=alice)
    response = client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert api_status_with(alices) == 401 and api_status_with(bobs) == 200


def test_a_staff_user_who_may_edit_customers_cannot_grant_privileges(client, help_desk, alice, settings):
    settings.STAFF_2FA_REQUIRED = False
    help_desk.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(help_desk)
    page = client.get(f"/admin/accounts/user/{help_desk.pk}/change/")
    assert page.status_code == 200 and 'name="is_superuser"' not in page.text and 'name="groups"' not in page.text
    data = {"email": help_desk.email, "full_name": "x", "is_active": "on", "is_superuser": "on", "is_staff": "on"}
    client.post(f"/admin/accounts/user/{help_desk.pk}/change/", data)
    help_desk.refresh_from_db()
    assert not help_desk.is_superuser
