import pytest
from rest_framework.test import APIClient

from accounts.factories import DEFAULT_PASSWORD


@pytest.mark.django_db
def test_a_token_is_issued_for_email_and_password_and_authenticates(alice):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"email": alice.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/orders/").status_code == 200


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
