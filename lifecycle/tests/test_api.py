"""POST /api/v1/servers/<id>/renew/ and the cancellation switch, through HTTP."""

import pytest
from rest_framework.test import APIClient

from billing.models import Order
from servers.models import Server

from .conftest import active_server, verify_payment

pytestmark = pytest.mark.django_db


def renew(client, server, **body):
    return client.post(f"/api/v1/servers/{server.pk}/renew/", body, format="json")


def test_renewing_gives_the_unpaid_renewal_order_ready_to_pay_and_the_same_one_again(api, server, fake_razorpay):
    first = renew(api, server)
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["kind"] == "renewal" and body["server"] == server.pk and body["status"] == "created"
    assert body["billing_cycle_months"] == 1 and body["total_paise"] == 264320
    assert body["razorpay"]["order_id"] and body["razorpay"]["amount"] == 264320
    assert renew(api, server).json()["number"] == body["number"]
    assert api.get(f"/api/v1/servers/{server.pk}/").json()["renewal"] == body["number"]


def test_renewing_for_another_cycle_replaces_the_unpaid_renewal(api, server, fake_razorpay):
    first = renew(api, server).json()["number"]
    second = renew(api, server, billing_cycle_months=12).json()
    assert second["number"] != first and second["billing_cycle_months"] == 12
    assert Order.objects.get(number=first).status == "cancelled"


def test_a_paid_renewal_through_the_api_is_listed_with_its_kind_and_server(api, server, fake_razorpay):
    order = Order.objects.get(number=renew(api, server).json()["number"])
    response, _ = verify_payment(api, fake_razorpay, order)
    assert response.status_code == 200
    listed = api.get(f"/api/v1/orders/{order.number}/").json()
    assert (listed["kind"], listed["server"], listed["status"]) == ("renewal", server.pk, "paid")
    assert api.get(f"/api/v1/servers/{server.pk}/").json()["renewal"] is None


def test_a_bad_cycle_is_400_and_creates_nothing(api, server, fake_razorpay):
    assert renew(api, server, billing_cycle_months=2).status_code == 400
    assert not Order.objects.filter(kind="renewal").exists()


def test_another_customers_server_is_404(bob, server, fake_razorpay):
    client = APIClient()
    client.force_authenticate(bob)
    assert renew(client, server).status_code == 404
    assert client.post(f"/api/v1/servers/{server.pk}/cancellation/").status_code == 404


def test_a_terminated_server_cannot_be_renewed_or_cancelled(api, server, fake_razorpay):
    Server.objects.filter(pk=server.pk).update(status=Server.Status.TERMINATED)
    assert renew(api, server).status_code == 409
    assert api.post(f"/api/v1/servers/{server.pk}/cancellation/").status_code == 409


def test_cancelling_at_period_end_cancels_the_unpaid_renewal_and_blocks_renewing_until_withdrawn(
    api, server, fake_razorpay
):
    number = renew(api, server).json()["number"]
    response = api.post(f"/api/v1/servers/{server.pk}/cancellation/")
    assert response.status_code == 200 and response.json()["cancel_at_period_end"] is True
    assert response.json()["renewal"] is None
    assert Order.objects.get(number=number).status == "cancelled"
    assert renew(api, server).status_code == 409

    withdrawn = api.delete(f"/api/v1/servers/{server.pk}/cancellation/")
    assert withdrawn.status_code == 200 and withdrawn.json()["cancel_at_period_end"] is False
    assert renew(api, server).status_code == 200


def test_the_server_json_carries_the_lifecycle_fields(api, alice, plan):
    server = active_server(alice, plan, months=3)
    body = api.get(f"/api/v1/servers/{server.pk}/").json()
    assert {key: body[key] for key in ("billing_cycle_months", "renewal", "cancel_at_period_end")} == {
        "billing_cycle_months": 3,
        "renewal": None,
        "cancel_at_period_end": False,
    }
    assert (body["suspension_reason"], body["power_state"]) == ("", "running") and body["paid_until"]


# R6 (review): an issued renewal has no Razorpay order until the customer pays; the schema says so.
def test_an_issued_renewal_in_the_orders_list_matches_the_published_schema(alice, server, api, tmp_path):
    import yaml
    from django.core.management import call_command

    from lifecycle.renewals import renewal_issue

    renewal_issue(server.pk, source="run_billing")  # as run_billing issues it: no Razorpay order until paid
    listed = api.get("/api/v1/orders/").json()["results"]
    order_id = next(o for o in listed if o["kind"] == "renewal")["razorpay"]["order_id"]
    schema_file = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(schema_file))
    declared = yaml.safe_load(schema_file.read_text())["components"]["schemas"]["RazorpayCheckout"]["properties"][
        "order_id"
    ]
    assert order_id is not None or declared.get("nullable"), (order_id, declared)
