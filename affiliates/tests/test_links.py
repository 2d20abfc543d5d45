"""The /r/<code>/ link and attribution at sign-up, through real HTTP with a real cookie jar."""

import re

import pytest
import requests
from django.contrib.auth import get_user_model

from affiliates.models import Referral
from affiliates.services import REFERRAL_COOKIE

User = get_user_model()


def sign_up(session, base, email):
    form = session.get(f"{base}/accounts/signup/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = session.post(
        f"{base}/accounts/signup/",
        data={
            "csrfmiddlewaretoken": token,
            "email": email,
            "full_name": "New Customer",
            "password1": "sturdy-pass-9931",
            "password2": "sturdy-pass-9931",
        },
        headers={"Referer": f"{base}/accounts/signup/"},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return User.objects.get(email=email)


def test_a_visitor_who_follows_a_link_and_signs_up_is_referred(live_server, alice, settings):
    settings.AFFILIATE_COOKIE_DAYS = 30
    session = requests.Session()
    answer = session.get(f"{live_server.url}/r/{alice.referral_code}/", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == "/plans/"
    cookie = next(c for c in session.cookies if c.name == REFERRAL_COOKIE)
    assert cookie.value == alice.referral_code
    assert "Max-Age=2592000" in answer.headers["Set-Cookie"] and "HttpOnly" in answer.headers["Set-Cookie"]

    assert session.get(f"{live_server.url}/plans/").status_code == 200  # browses a while
    carol = sign_up(session, live_server.url, "carol@example.com")

    assert Referral.objects.get(referred=carol).referrer == alice
    assert REFERRAL_COOKIE not in session.cookies  # used up by the sign-up


def test_the_first_link_followed_stands(live_server, alice, bob):
    session = requests.Session()
    session.get(f"{live_server.url}/r/{alice.referral_code}/")
    session.get(f"{live_server.url}/r/{bob.referral_code}/")
    carol = sign_up(session, live_server.url, "carol@example.com")
    assert Referral.objects.get(referred=carol).referrer == alice


def test_an_unknown_code_leads_to_the_plans_and_refers_nobody(live_server, alice):
    session = requests.Session()
    answer = session.get(f"{live_server.url}/r/nosuchcode/")
    assert answer.status_code == 200 and answer.url == f"{live_server.url}/plans/"
    assert REFERRAL_COOKIE not in session.cookies
    # A cookie forged or left over from a deleted code is ignored at sign-up, without an error.
    session.cookies.set(REFERRAL_COOKIE, "forgedcode1", domain=live_server.url.split("//")[1].split(":")[0])
    carol = sign_up(session, live_server.url, "carol@example.com")
    assert not Referral.objects.filter(referred=carol).exists()


def test_a_signed_in_customer_following_their_own_link_gets_no_cookie(live_server, alice):
    from accounts.factories import DEFAULT_PASSWORD

    session = requests.Session()
    login = session.get(f"{live_server.url}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
    session.post(
        f"{live_server.url}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": alice.email, "password": DEFAULT_PASSWORD},
        headers={"Referer": f"{live_server.url}/accounts/login/"},
    )
    answer = session.get(f"{live_server.url}/r/{alice.referral_code}/", allow_redirects=False)
    assert answer.status_code == 302
    assert REFERRAL_COOKIE not in session.cookies
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_signing_up_without_any_cookie_refers_nobody(client):
    answer = client.post(
        "/accounts/signup/",
        {"email": "dave@example.com", "password1": "sturdy-pass-9931", "password2": "sturdy-pass-9931"},
    )
    assert answer.status_code == 302
    assert not Referral.objects.exists()
