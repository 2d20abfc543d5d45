"""Hostile bodies, paths and headers on every endpoint family answer 4xx, never 5xx, and
reach no query (issue 18: nested JSON gave RecursionError 500s to anonymous callers, a NUL
in a field or a path a 500 from PostgreSQL, a signed webhook with a NUL or a lone
surrogate a 500 that Razorpay would retry for a day, and 10 MB of JSON was parsed)."""

import json
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from billing.models import WebhookEvent
from payments.tests.fake_razorpay import sign
from servers.factories import ServerFactory
from support.factories import TicketFactory

pytestmark = pytest.mark.django_db

NESTED = ("[" * 1100 + "]" * 1100).encode()
TEN_MB = json.dumps({"email": "a@example.com", "password": "x" * (10 * 1024 * 1024)}).encode()
JSON_BODIES = {
    "nested 1100 levels": (NESTED, 400),
    "nested in an object": (('{"plan": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}").encode(), 400),
    "NUL in a value": (b'{"email": "a\\u0000@example.com", "password": "x", "plan": "g-8gb\\u0000"}', 400),
    "NUL in a key": (b'{"pla\\u0000n": "g-8gb"}', 400),
    "lone surrogate": (b'{"email": "\\ud800@example.com", "plan": "\\udfff", "name": "\\ud83d"}', 400),
    "not UTF-8": (b'{"email": "\xff\xfe@example.com"}', 400),
    "10 MB": (TEN_MB, 413),
}
WRONG_TYPES = {
    "text/plain": b"plan=g-8gb",
    "application/xml": b"<order><plan>g-8gb</plan></order>",
    "multipart/form-data; boundary=x": b"--x\r\nContent-Disposition: form-data; name=\"plan\"\r\n\r\n\x00\r\n--x--\r\n",
    "application/json": b"\x00\x00\x00",
}


@pytest.fixture
def world(alice, plan):
    server = ServerFactory(user=alice, status="active")
    ticket = TicketFactory(user=alice)
    return {"server": server.pk, "ticket": ticket.pk, "order": server.order.number}


def api_operations(world):
    """Every operation of the OpenAPI schema with its path parameters filled in, so an
    endpoint added later is covered too."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: str(world.get(m.group(1), world["server"])), path)
        concrete = concrete.replace("{number}", world["order"])
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), concrete, "requestBody" in operation


def clients(alice):
    anonymous, signed_in = Client(), Client()
    signed_in.force_login(alice)
    for client in (anonymous, signed_in):
        client.raise_request_exception = False  # a 500 is an answer to assert on, not an exception
    return {"anonymous": anonymous, "signed in": signed_in}


def test_hostile_json_bodies_on_every_api_operation_are_refused_before_any_view(alice, world):
    seen = []
    for name, client in clients(alice).items():
        for method, path, _ in api_operations(world):
            if method == "GET":
                continue
            for label, (body, expected) in JSON_BODIES.items():
                response = client.generic(method, path, body, content_type="application/json")
                seen.append((name, method, path, label, response.status_code, expected))
    wrong = [row for row in seen if row[4] != row[5]]
    assert not wrong, "\n".join(map(str, wrong[:20]))
    assert len({(row[1], row[2]) for row in seen}) >= 5, "the schema lists the write operations"


def test_wrong_content_types_on_every_api_operation_are_4xx_where_a_body_is_read(alice, world):
    seen = []
    for name, client in clients(alice).items():
        for method, path, takes_body in api_operations(world):
            if method == "GET":
                continue
            for content_type, body in WRONG_TYPES.items():
                response = client.generic(method, path, body, content_type=content_type)
                seen.append((name, method, path, content_type, response.status_code, takes_body))
    # An operation that reads a body refuses the wrong one; one that takes none ignores it.
    wrong = [row for row in seen if row[4] >= 500 or (row[5] and not 400 <= row[4] < 500)]
    assert not wrong, "\n".join(map(str, wrong[:20]))


PATHS_WITH_NUL = [
    "/api/v1/orders/ORD-%00/",
    "/api/v1/plans/?page=%00",
    "/api/v1/servers/?x=1&%00=1",
    "/orders/ORD-%00/",
    "/orders/ORD-%00/invoice/",
    "/orders/ORD-%00/invoice.pdf",
    "/checkout/g-8gb%00/",
    "/plans/?cycle=%00",
    "/support/?q=%00",
    "/r/%00/",
    "/admin/billing/order/?q=%00",
]


@pytest.mark.parametrize("path", PATHS_WITH_NUL)
def test_a_nul_in_a_path_or_query_string_is_a_400(alice, path):
    for client in clients(alice).values():
        response = client.get(path)
        assert response.status_code == 400, (path, response.status_code)


@pytest.mark.parametrize(
    "path", ["/api/v1/orders/%ED%A0%80/", "/orders/%ED%A0%80/invoice.pdf", "/api/v1/orders/%FF%FE/", "/r/%ED%B0%80/"]
)
def test_invalid_utf8_in_a_path_is_never_a_5xx(alice, path):
    for client in clients(alice).values():
        assert client.get(path).status_code < 500


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Token abc\x00def"},
        {"HTTP_COOKIE": "sessionid=abc\x00def"},
        {"HTTP_COOKIE": 'sessionid="abc\\000def"'},  # an octal escape the cookie parser turns into NUL
        {"HTTP_X_RAZORPAY_EVENT_ID": "evt_\x00"},
    ],
)
def test_a_nul_in_a_header_or_cookie_is_a_400(headers):
    client = Client(raise_request_exception=False)
    for path in ("/api/v1/orders/", "/servers/", "/webhooks/razorpay/"):
        assert client.post(path, b"{}", content_type="application/json", **headers).status_code == 400


FORM_PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/password_reset/", "/checkout/g-8gb/",
              "/support/new/", "/admin/login/"]  # fmt: skip


@pytest.mark.parametrize("path", FORM_PAGES)
def test_forms_refuse_nul_and_bodies_over_the_limit(alice, path):
    fields = {"username": "alice@example.com\x00", "email": "a\x00", "subject": "s\x00", "body": "b\x00"}
    for client in clients(alice).values():
        nul = client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded")
        assert nul.status_code == 400, (path, nul.status_code)
        big = client.post(path, urlencode({"subject": "x" * (3 * 1024 * 1024)}),
                          content_type="application/x-www-form-urlencoded")  # fmt: skip
        assert big.status_code == 413, (path, big.status_code)
        # Multipart is parsed by the view that reads it (upload limits first): its forms refuse
        # the NUL, and fields over 2 MB are a 413 once read.
        assert client.post(path, fields).status_code < 500
        assert client.post(path, {"subject": "x" * (3 * 1024 * 1024)}).status_code < 500


def test_a_multipart_body_over_the_ticket_limit_is_a_413(alice, world):
    client = clients(alice)["signed in"]
    body = b"--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n" + b"x" * (51 * 1024 * 1024) + b"\r\n--x--\r\n"
    response = client.generic(
        "POST", f"/api/v1/tickets/{world['ticket']}/messages/", body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "entity",
    [
        {"id": "pay_\u0000abc", "order_id": "order_x", "amount": 100, "currency": "INR", "status": "captured"},
        {"id": "pay_abc", "order_id": "\ud800", "amount": 100, "currency": "INR", "status": "captured"},
    ],
    ids=["NUL in the payment id", "lone surrogate as the order id"],
)
def test_a_signed_webhook_with_unstorable_text_is_refused_with_400_and_not_stored(fake_razorpay, entity):
    body = json.dumps(
        {"entity": "event", "event": "payment.captured", "contains": ["payment"],
         "payload": {"payment": {"entity": entity}}, "created_at": 1}
    ).encode()  # fmt: skip
    assert b"\\u0000" in body or b"\\ud800" in body
    client = Client(raise_request_exception=False)
    response = client.post(
        "/webhooks/razorpay/", body, content_type="application/json",
        HTTP_X_RAZORPAY_SIGNATURE=sign(body.decode(), fake_razorpay.webhook_secret), HTTP_X_RAZORPAY_EVENT_ID="evt_1",
    )  # fmt: skip
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
