import pytest

from billing.factories import HostingPlanFactory
from billing.models import Order

MAHARASHTRA_GSTIN = "27AAPFU0939F1ZV"


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def details(**overrides):
    data = {"billing_name": "Alice Traders", "billing_address": "5 Marine Drive", "billing_state": "Maharashtra"}
    data.update(overrides)
    return data


def test_the_account_page_asks_a_visitor_to_sign_in(client):
    assert client.get("/accounts/profile/").url.startswith("/accounts/login/")


def test_the_account_page_shows_the_email_and_a_password_change_link(alice_client):
    response = alice_client.get("/accounts/profile/")
    assert response.status_code == 200
    assert "alice@example.com" in response.text
    assert 'href="/accounts/password_change/"' in response.text
    assert alice_client.get("/accounts/password_change/").status_code == 200


def test_billing_details_are_saved_with_the_gstin_normalised(alice_client, alice):
    response = alice_client.post("/accounts/profile/", details(gstin="27aapfu0939f1zv"))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.billing_name, alice.billing_address, alice.billing_state, alice.gstin) == (
        "Alice Traders",
        "5 Marine Drive",
        "Maharashtra",
        MAHARASHTRA_GSTIN,
    )
    assert "billing details are saved" in alice_client.get(response.url).text


@pytest.mark.parametrize(
    "gstin, error",
    [("27AAPFU0939F1ZW", "check character does not match"), ("29AAGCB7383J1Z4", "registered in Karnataka")],
)
def test_an_invalid_gstin_is_refused_and_nothing_is_saved(alice_client, alice, gstin, error):
    response = alice_client.post("/accounts/profile/", details(gstin=gstin))
    assert response.status_code == 400
    assert error in response.text
    alice.refresh_from_db()
    assert alice.gstin == "" and alice.billing_name == ""


def test_an_unknown_state_is_refused(alice_client):
    assert alice_client.post("/accounts/profile/", details(billing_state="Atlantis")).status_code == 400


def test_saved_details_are_what_checkout_starts_from(alice_client):
    alice_client.post("/accounts/profile/", details(gstin=MAHARASHTRA_GSTIN))
    HostingPlanFactory(slug="g-4gb")
    response = alice_client.get("/checkout/g-4gb/")
    assert 'value="Alice Traders"' in response.text
    assert f'value="{MAHARASHTRA_GSTIN}"' in response.text
    assert '<option value="Maharashtra" selected>' in response.text
    assert not Order.objects.exists()


SIGNUP = {
    "email": "new@example.com",
    "full_name": "New Customer",
    "password1": "a-long-pass-phrase-9",
    "password2": "a-long-pass-phrase-9",
}


def test_signup_returns_the_customer_to_the_page_they_came_from(client, db):
    response = client.post("/accounts/signup/?next=/checkout/g-8gb/", SIGNUP)
    assert response.status_code == 302 and response.url == "/checkout/g-8gb/"


def test_signup_never_redirects_to_another_site(client, db):
    response = client.post("/accounts/signup/?next=https://evil.example/", SIGNUP)
    assert response.status_code == 302 and response.url == "/plans/"


def test_the_login_page_carries_next_to_the_signup_link(client, db):
    response = client.get("/accounts/login/?next=/checkout/g-8gb/")
    assert 'href="/accounts/signup/?next=/checkout/g-8gb/"' in response.text
