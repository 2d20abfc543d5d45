"""API token authentication (accounts.authentication): DRF's behaviour, one SQL
statement, hashed keys that expire, and a statement that survives a migration."""

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import TokenAuthentication
from accounts.factories import api_key_for
from accounts.models import ApiToken
from accounts.tokens import token_issue


def client_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
def test_a_token_authenticates_its_user_and_is_the_requests_auth(alice, bob):
    token, key = token_issue(alice)
    api_key_for(bob)
    request = APIRequestFactory().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        user, auth = TokenAuthentication().authenticate(request)
    assert len(queries) == 1
    assert user == alice and user.email == "alice@example.com"
    assert auth == token and auth.user_id == alice.pk and auth.expires_at == token.expires_at
    auth.delete()  # a saved row: DELETE /api/v1/auth/token/ revokes through it
    assert not ApiToken.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_the_stored_digest_is_not_a_key(alice):
    """Stored hashed: whoever reads the table (a backup, the admin) cannot use what is there."""
    token, key = token_issue(alice)
    assert client_with(token.digest).get("/api/v1/orders/").status_code == 401
    assert client_with(key).get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_an_unknown_token_is_401_invalid_token(alice):
    api_key_for(alice)
    response = client_with("0" * 40).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


@pytest.mark.django_db
def test_a_token_past_its_expiry_is_401(alice, settings):
    settings.API_TOKEN_DAYS = 90
    now = timezone.now()
    token, key = token_issue(alice, now=now - timedelta(days=90, seconds=1))
    assert token.expires_at < now
    response = client_with(key).get("/api/v1/orders/")
    assert response.status_code == 401 and response.json()["detail"] == "Token has expired."
    fresh, fresh_key = token_issue(alice, now=now - timedelta(days=89))
    assert client_with(fresh_key).get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_a_token_lives_api_token_days(alice, settings):
    settings.API_TOKEN_DAYS = 7
    token, _ = token_issue(alice)
    assert token.expires_at - token.created_at == timedelta(days=7)


@pytest.mark.django_db
def test_an_inactive_users_token_is_401(alice):
    key = api_key_for(alice)
    alice.is_active = False
    alice.save()
    response = client_with(key).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["detail"] == "User inactive or deleted."


@pytest.mark.django_db
def test_a_key_that_looks_like_sql_is_just_an_unknown_token(alice):
    api_key_for(alice)
    response = client_with("x' OR '1'='1").get("/api/v1/orders/")
    assert response.status_code == 401


def other_connection_executes(sql):
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")}, autocommit=True
    ) as other:
        other.execute(sql)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_migration_adding_a_user_column_keeps_token_auth_working_on_an_open_connection(alice):
    """The finding: `SELECT u.*` kept prepared on a connection fails with "cached plan must
    not change result type" once another process adds a column to the user table."""
    key = api_key_for(alice)
    client = client_with(key)
    connection.ensure_connection()
    assert connection.connection.prepare_threshold is not None  # prepared statements are on
    for _ in range(5):  # past the prepare threshold: the token statement is now prepared
        assert client.get("/api/v1/orders/").status_code == 200
    backend_pid = connection.connection.info.backend_pid
    other_connection_executes("ALTER TABLE accounts_user ADD COLUMN added_by_a_migration integer")
    try:
        responses = [client.get("/api/v1/orders/").status_code for _ in range(3)]
        assert connection.connection.info.backend_pid == backend_pid  # the same open connection
        assert responses == [200, 200, 200]
    finally:
        other_connection_executes("ALTER TABLE accounts_user DROP COLUMN added_by_a_migration")
