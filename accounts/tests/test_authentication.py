"""API token authentication (accounts.authentication): DRF's behaviour, one SQL statement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import TokenAuthentication

pytestmark = pytest.mark.django_db


def client_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_authenticates_its_user_and_is_the_requests_auth(alice, bob):
    token = Token.objects.create(user=alice)
    Token.objects.create(user=bob)
    request = APIRequestFactory().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token.key}")
    with CaptureQueriesContext(connection) as queries:
        user, auth = TokenAuthentication().authenticate(request)
    assert len(queries) == 1
    assert user == alice and user.email == "alice@example.com"
    assert auth == token and auth.user_id == alice.pk and auth.created == token.created
    auth.delete()  # the Token it returns is a saved row (the account page revokes through it)
    assert not Token.objects.filter(user=alice).exists()


def test_an_unknown_token_is_401_invalid_token(alice):
    Token.objects.create(user=alice)
    response = client_with("0" * 40).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_an_inactive_users_token_is_401(alice):
    token = Token.objects.create(user=alice)
    alice.is_active = False
    alice.save()
    response = client_with(token.key).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["detail"] == "User inactive or deleted."


def test_a_key_that_looks_like_sql_is_just_an_unknown_token(alice):
    Token.objects.create(user=alice)
    response = client_with("x' OR '1'='1").get("/api/v1/orders/")
    assert response.status_code == 401
