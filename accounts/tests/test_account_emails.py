"""Account emails (welcome, password changed, new API token), the reset mail naming the
portal and SITE_URL, and sessions ended on a password change."""

import re

import pytest
from django.test import Client

from accounts.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase-7"


def test_signing_up_sends_a_welcome(client, mailoutbox, django_capture_on_commit_callbacks, settings):
    settings.PORTAL_NAME = "Acme Cloud"
    body = {"email": "new@example.com", "password1": "sturdy-pass-9931", "password2": "sturdy-pass-9931"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/signup/", body)
    assert [mail.subject for mail in mailoutbox] == ["Welcome to Acme Cloud"]
    assert mailoutbox[0].to == ["new@example.com"]


def signed_in(client):
    return client.get("/servers/").status_code == 200


def test_changing_the_password_emails_the_owner_and_ends_the_other_sessions(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    here, elsewhere = Client(), Client()
    for browser in (here, elsewhere):
        assert (
            browser.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD}).status_code == 302
        )
    change = {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        assert here.post("/accounts/password_change/", change).status_code == 302
    assert signed_in(here) and not signed_in(elsewhere)
    assert len(mailoutbox) == 1 and "password was changed" in mailoutbox[0].subject
    assert mailoutbox[0].to == [alice.email] and "/accounts/password_reset/" in mailoutbox[0].body


def test_the_reset_mail_names_the_portal_and_links_to_site_url_whatever_the_host(
    client, alice, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_NAME, settings.SITE_URL = "Acme Cloud", "https://portal.acme.example"
    settings.ALLOWED_HOSTS = ["attacker.example", "testserver"]
    stolen = Client()  # a session signed in before the reset (signing in later would spoil the link)
    stolen.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD})
    assert signed_in(stolen)
    client.post("/accounts/password_reset/", {"email": alice.email}, HTTP_HOST="attacker.example")
    mail = mailoutbox[0]
    assert mail.subject == "Reset your Acme Cloud password"
    assert "Acme Cloud" in mail.body and "attacker.example" not in mail.body
    link = re.search(r"https://portal\.acme\.example(/accounts/reset/\S+/)", mail.body).group(1)

    form = client.get(link, follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert not signed_in(stolen)
    assert any("password was changed" in sent.subject for sent in mailoutbox[1:])
