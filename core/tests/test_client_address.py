"""The client address per TRUSTED_PROXY_COUNT, and the API throttles keyed on it."""

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from core.client_address import client_address


def request_from(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


@pytest.mark.parametrize(
    "trusted, forwarded, expected",
    [
        (0, None, "10.0.0.9"),
        (0, "6.6.6.6", "10.0.0.9"),  # with no proxy, the header is the client's own words
        (1, None, "10.0.0.9"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the proxy appended the real one last
        (2, "6.6.6.6, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, not-an-address", "10.0.0.9"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_address_trusts_only_what_our_proxies_wrote(settings, trusted, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_address(request_from("10.0.0.9", forwarded)) == expected


def wrong_passwords(alice, count, forwarded):
    """Guesses at a different email each time, so only the per-address throttle can stop them."""
    client = APIClient()
    return [
        client.post(
            "/api/v1/auth/token/",
            {"email": f"guess{n}@example.com", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=forwarded(n),
        ).status_code
        for n in range(count)
    ]


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_dodge_the_token_throttle_without_a_proxy(alice, settings):
    """The finding: 30 wrong passwords with a new X-Forwarded-For each time got no 429."""
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "10/min"}
    codes = wrong_passwords(alice, 30, lambda n: f"198.51.100.{n}")
    assert codes[:10] == [400] * 10 and set(codes[10:]) == {429}


@pytest.mark.django_db
def test_behind_one_proxy_only_the_address_it_appended_counts(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "10/min"}
    codes = wrong_passwords(alice, 12, lambda n: f"198.51.100.{n}, 203.0.113.7")
    assert codes[:10] == [400] * 10 and set(codes[10:]) == {429}
    # Another real client behind the same proxy has its own count.
    assert wrong_passwords(alice, 1, lambda n: "203.0.113.8") == [400]
