"""/admin/orphaned-orders/: what staff see on arrival, and the actions they take from it."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.factories import UserFactory
from billing.factories import OrderFactory, WebhookEventFactory
from billing.models import OrderEvent, Refund
from servers.models import Server, ServerStatusChange

from .conftest import stuck_server, underpaid_order

URL = "/admin/orphaned-orders/"


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def problems(orphan, bob):
    failed = stuck_server(status="failed", last_error="Provider said: quota exceeded")
    mismatch = OrderFactory(user=bob, needs_attention=True, attention_reason="captured 100 paise, order total is X")
    event = WebhookEventFactory(status="failed", error="OperationalError: database went away")
    return {"orphan": orphan, "failed": failed, "mismatch": mismatch, "event": event}


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_admin_login(client, orphan):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert client.post(URL + "recover/").status_code == 302
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_customers_never_reach_it(client, alice, orphan):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert orphan.number not in response.content.decode()
    assert client.post(URL + "recover/").status_code == 302
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_staff_see_counts_and_every_list_with_customer_amount_and_age(staff_client, problems):
    response = staff_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    counts = response.context["counts"]
    assert counts == {
        "orphaned_orders": 1, "stuck_servers": 1, "amount_mismatches": 1, "failed_webhooks": 1, "failed_operations": 0,
        "autopay_failed_week": 0,
    }  # fmt: skip
    assert problems["orphan"].number in page and "alice@example.com" in page and "₹2,643.20" in page
    assert "2\xa0hours ago" in page  # age of the orphaned order
    assert f"#{problems['failed'].pk}" in page and "Provider said: quota exceeded" in page
    assert problems["mismatch"].number in page and "bob@example.com" in page
    assert problems["event"].event_id in page and "database went away" in page
    assert 'id="site-name"' in page  # the admin's own look


@pytest.mark.django_db
def test_the_admin_index_shows_the_counts_on_arrival(staff_client, problems):
    response = staff_client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Needs attention" in page and URL in page
    assert page.count('class="ops-count">1<') == 4


@pytest.mark.django_db
def test_recover_creates_the_server_and_records_who_did_it(staff_client, staff, orphan):
    response = staff_client.post(URL + "recover/", {"order": orphan.number})
    assert response.status_code == 302
    server = Server.objects.get(order=orphan)
    event = OrderEvent.objects.get(order=orphan, kind="server_recovered")
    assert event.source == "admin" and event.actor == staff
    assert f"Created server #{server.pk}" in staff_client.get(URL).content.decode()


@pytest.mark.django_db
def test_retry_provisioning_sends_a_failed_server_back_to_pending(
    staff_client, staff, django_capture_on_commit_callbacks
):
    server = stuck_server(status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{URL}servers/{server.pk}/retry/")
    assert response.status_code == 302
    change = ServerStatusChange.objects.get(server=server, from_status="failed", to_status="pending")
    assert change.source == "admin" and change.actor == staff
    server.refresh_from_db()
    assert server.status != "failed"


@pytest.mark.django_db
def test_retrying_a_healthy_server_does_nothing(staff_client):
    server = stuck_server(status="pending", minutes_ago=1, last_error="")
    staff_client.post(f"{URL}servers/{server.pk}/retry/")
    assert not ServerStatusChange.objects.filter(server=server, source="admin").exists()
    assert not OrderEvent.objects.filter(kind="provisioning_requeued").exists()


@pytest.mark.django_db
def test_mark_handled_needs_a_reason_and_records_who_and_why(staff_client, staff, problems):
    order = problems["mismatch"]
    staff_client.post(f"{URL}orders/{order.number}/handled/", {"reason": "  "})
    order.refresh_from_db()
    assert order.handled_at is None

    staff_client.post(f"{URL}orders/{order.number}/handled/", {"reason": "Customer paid the difference by NEFT"})
    order.refresh_from_db()
    assert order.handled_at and order.handled_by == staff
    assert order.handled_reason == "Customer paid the difference by NEFT"
    event = OrderEvent.objects.get(order=order, kind="handled")
    assert event.actor == staff and event.source == "admin"
    assert staff_client.get(URL).context["counts"]["amount_mismatches"] == 0


@pytest.mark.django_db
def test_refund_asks_for_confirmation_then_refunds_through_razorpay(
    staff_client, staff, alice, plan, fake_razorpay, client
):
    order, payment = underpaid_order(alice, plan, fake_razorpay, client)
    assert order.needs_attention and not Server.objects.exists()

    page = staff_client.get(URL).content.decode()
    assert f"{URL}payments/{payment['id']}/refund/" in page
    confirm = staff_client.get(f"{URL}payments/{payment['id']}/refund/")
    assert confirm.status_code == 200 and "₹2,642.20" in confirm.content.decode()
    assert not fake_razorpay.refunds  # looking at the confirmation moves no money

    done = staff_client.post(f"{URL}payments/{payment['id']}/refund/", {"reason": "Wrong amount captured"})
    assert done.status_code == 302
    assert [r["amount"] for r in fake_razorpay.refunds.values()] == [order.total_paise - 100]
    refund = Refund.objects.get()
    assert refund.created_by == staff and refund.amount_paise == order.total_paise - 100
    assert OrderEvent.objects.filter(order=order, kind="refund", source="admin", actor=staff).exists()

    # A second click finds nothing left to refund and moves no more money.
    staff_client.post(f"{URL}payments/{payment['id']}/refund/", {"reason": "again"})
    assert len(fake_razorpay.refunds) == 1 and Refund.objects.count() == 1


@pytest.mark.django_db
def test_refund_without_a_reason_is_refused(staff_client, fake_razorpay, orphan):
    from billing.factories import PaymentFactory

    payment = PaymentFactory(order=orphan)
    response = staff_client.post(f"{URL}payments/{payment.razorpay_payment_id}/refund/", {"reason": ""})
    assert response.status_code == 200 and "A reason is required" in response.content.decode()
    assert not fake_razorpay.refunds and not Refund.objects.exists()


@pytest.mark.django_db
def test_staff_without_order_permissions_can_look_but_not_act(orphan):
    viewer = UserFactory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(viewer)
    assert client.get(URL).status_code == 200
    assert client.post(URL + "recover/", {"order": orphan.number}).status_code == 403
    assert not Server.objects.exists()


@pytest.mark.django_db
def test_actions_need_the_csrf_token(staff, orphan):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(URL + "recover/", {"order": orphan.number}).status_code == 403
    assert not Server.objects.exists()
