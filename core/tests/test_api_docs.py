"""/api/v1/docs/ tells an integrator how to use each operation (14 of 21 had no text)."""

import pytest

pytestmark = pytest.mark.django_db

# The contract's operations as they stood when the docs were written.
DOCUMENTED = [
    ("get", "/api/v1/affiliate/"),
    ("post", "/api/v1/auth/token/"),
    ("delete", "/api/v1/auth/token/"),
    ("get", "/api/v1/orders/"),
    ("post", "/api/v1/orders/"),
    ("get", "/api/v1/orders/{number}/"),
    ("post", "/api/v1/payments/verify/"),
    ("get", "/api/v1/plans/"),
    ("get", "/api/v1/servers/"),
    ("get", "/api/v1/servers/{id}/"),
    ("post", "/api/v1/servers/{id}/actions/"),
    ("post", "/api/v1/servers/{id}/cancellation/"),
    ("delete", "/api/v1/servers/{id}/cancellation/"),
    ("post", "/api/v1/servers/{id}/renew/"),
    ("get", "/api/v1/ssh-keys/"),
    ("post", "/api/v1/ssh-keys/"),
    ("delete", "/api/v1/ssh-keys/{id}/"),
    ("get", "/api/v1/tickets/"),
    ("post", "/api/v1/tickets/"),
    ("get", "/api/v1/tickets/{id}/"),
    ("post", "/api/v1/tickets/{id}/messages/"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get("/api/v1/schema/", {"format": "json"}).json()


def test_the_overview_explains_tokens_paying_webhooks_errors_and_throttles(schema):
    overview = schema["info"]["description"]
    for topic in ("Authorization: Token", "POST /api/v1/payments/verify/", "/webhooks/razorpay/", "429", '"detail"'):
        assert topic in overview, topic


@pytest.mark.parametrize("method, path", DOCUMENTED)
def test_every_operation_says_what_it_does_and_shows_an_example_body(schema, method, path):
    operation = schema["paths"][path][method]
    assert len(operation.get("description", "")) > 20
    for media_type, body in operation.get("requestBody", {}).get("content", {}).items():
        assert "example" in body or "examples" in body, media_type
