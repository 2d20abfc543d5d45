"""CONTRACT "Accounts, more": changing or resetting a password revokes every API token of that user, and
the notice mail says so. A token minted with a stolen password must not outlive the owner's new password
(sessions end with the password hash; tokens did not)."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.factories import DEFAULT_PASSWORD, api_key_for
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase-7"


def api_status_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/servers/").status_code


def notice(mailoutbox):
    [mail] = [sent for sent in mailoutbox if "password was changed" in sent.subject]
    return mail


def test_changing_the_password_revokes_every_token_and_the_mail_says_so(
    alice, bob, mailoutbox, django_capture_on_commit_callbacks
):
    stolen, spare, bobs = api_key_for(alice), api_key_for(alice), api_key_for(bob)
    mailoutbox.clear()
    client = Client()
    client.force_login(alice)
    change = {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/accounts/password_change/", change).status_code == 302
    assert api_status_with(stolen) == api_status_with(spare) == 401
    assert api_status_with(bobs) == 200
    assert not ApiToken.objects.filter(user=alice).exists()
    assert "2 API tokens were revoked" in notice(mailoutbox).body


def test_resetting_the_password_revokes_every_token(client, alice, mailoutbox, django_capture_on_commit_callbacks):
    stolen = api_key_for(alice)
    client.post("/accounts/password_reset/", {"email": alice.email})
    link = re.search(r"(/accounts/reset/\S+/)", mailoutbox[-1].body).group(1)
    form = client.get(link, follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert api_status_with(stolen) == 401
    assert "1 API token was revoked" in notice(mailoutbox).body


def test_staff_setting_a_password_in_the_admin_revokes_every_token_and_tells_the_owner(
    client, staff, alice, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_2FA_REQUIRED = False
    stolen = api_key_for(alice)
    client.force_login(staff)
    body = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/admin/accounts/user/{alice.pk}/password/", body).status_code == 302
    assert api_status_with(stolen) == 401
    mail = notice(mailoutbox)
    assert mail.to == [alice.email] and "1 API token was revoked" in mail.body


def test_a_password_change_without_tokens_says_there_were_none(alice, mailoutbox, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(alice)
    change = {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_change/", change)
    assert "You had no API tokens" in notice(mailoutbox).body
