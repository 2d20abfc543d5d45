import pytest
from rest_framework.test import APIClient

from accounts.factories import DEFAULT_PASSWORD, api_key_for
from accounts.models import ApiToken


@pytest.mark.django_db
def test_a_token_is_issued_for_email_and_password_and_authenticates(alice):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"email": alice.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_each_sign_in_issues_a_new_token_and_the_earlier_ones_stay_valid(alice):
    def issue():
        body = {"email": alice.email, "password": DEFAULT_PASSWORD}
        return APIClient().post("/api/v1/auth/token/", body, format="json").json()["token"]

    first, second = issue(), issue()
    assert first != second and ApiToken.objects.filter(user=alice).count() == 2
    for key in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_delete_revokes_the_token_in_use_and_only_that_one(alice):
    used, other = api_key_for(alice), api_key_for(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {used}")
    response = client.delete("/api/v1/auth/token/")
    assert response.status_code == 204
    assert client.get("/api/v1/orders/").status_code == 401
    assert client.delete("/api/v1/auth/token/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {other}")
    assert client.get("/api/v1/orders/").status_code == 200


@pytest.mark.django_db
def test_delete_needs_a_token_not_a_session(alice):
    api_key_for(alice)
    client = APIClient()
    client.force_login(alice)
    assert client.delete("/api/v1/auth/token/").status_code == 401
    assert ApiToken.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"email": "alice@example.com", "password": "wrong"},
        {"email": "nobody@example.com", "password": "x"},
        {"email": "not-an-email", "password": "x"},
        {},
    ],
)
def test_bad_credentials_are_400_with_a_detail_or_field_errors(alice, body):
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json()


@pytest.mark.django_db
def test_token_issuing_is_throttled_per_ip_with_retry_after(alice, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "token": "3/min"}
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/token/", {"email": alice.email, "password": "wrong"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    throttled = client.post("/api/v1/auth/token/", {"email": alice.email, "password": "wrong"}, format="json")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0


@pytest.mark.django_db
def test_authenticated_requests_are_throttled_per_user(alice, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/min"}
    client = APIClient()
    client.force_authenticate(alice)
    codes = [client.get("/api/v1/orders/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_the_openapi_schema_is_served(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/payments/verify/" in response.content
