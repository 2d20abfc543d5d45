"""Plan changes through HTTP (CONTRACT: Plan changes): upgrades charged to the day and
paid through the funnel's doors, downgrades at period end, the machine resized by the
worker through the real simulated backend."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.factories import HostingPlanFactory
from billing.models import Order
from lifecycle.billing_day import billing_run
from lifecycle.renewals import cancellation_set, renewal_issue
from payments.refunds import order_refund
from payments.tests.conftest import post_webhook
from servers.models import PlanChange, Server, ServerOperation, SimulatedNode

from .conftest import active_server, verify_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def g4(db):
    return HostingPlanFactory(slug="g-4gb", name="G.4GB", price_paise=112000, vcpu=2, ram_gb=4, disk_gb=80)


@pytest.fixture
def g16(db):
    return HostingPlanFactory(slug="g-16gb", name="G.16GB", price_paise=448000, vcpu=8, ram_gb=16, disk_gb=320)


@pytest.fixture
def small_server(alice, g4):
    """Alice's G.4GB server, paid until 20 days from now."""
    return active_server(alice, g4, paid_until=timezone.now() + timedelta(days=20))


def plan_change(api, server, slug):
    return api.post(f"/api/v1/servers/{server.pk}/plan-change/", {"plan": slug}, format="json")


def expected_subtotal(difference_paise, server):
    """The contract's formula, written out with Decimal: days from today to paid_until's date."""
    end = timezone.localtime(server.paid_until)
    period = (end.date() - (end - relativedelta(months=server.billing_cycle_months)).date()).days
    left = max((end.date() - timezone.localdate()).days, 1)
    exact = Decimal(difference_paise * left) / Decimal(period)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)), left, period


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run what each transaction hands the worker after commit (the tasks run inline)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def node_of(server):
    return SimulatedNode.objects.get(server_id=server.pk)


def test_an_upgrade_paid_moves_the_plan_resizes_the_machine_and_keeps_the_due_date(
    api, small_server, plan, fake_razorpay, after_commit
):
    due = small_server.paid_until
    renewal = renewal_issue(small_server.pk, source="test")  # unpaid, at G.4GB's price
    response = plan_change(api, small_server, "g-8gb")
    assert response.status_code == 201, response.content
    body = response.json()
    subtotal, left, period = expected_subtotal(224000 - 112000, small_server)
    assert (body["kind"], body["server"], body["plan"], body["status"]) == (
        "upgrade",
        small_server.pk,
        "g-8gb",
        "created",
    )
    assert left == 20
    assert body["subtotal_paise"] == subtotal
    assert body["tax_paise"] == int((Decimal(subtotal) * Decimal("0.18")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert body["total_paise"] == body["subtotal_paise"] + body["tax_paise"] == body["razorpay"]["amount"]
    order = Order.objects.get(number=body["number"])
    assert (order.previous_plan_name, order.days_left, order.period_days) == ("G.4GB", left, period)

    response, _ = after_commit(verify_payment, api, fake_razorpay, order)
    assert response.status_code == 200, response.content
    assert response.json()["server"]["id"] == small_server.pk

    small_server.refresh_from_db()
    assert (small_server.plan_id, small_server.paid_until, small_server.status) == (plan.pk, due, "active")
    assert api.get(f"/api/v1/servers/{small_server.pk}/").json()["plan"] == "g-8gb"
    [resize] = ServerOperation.objects.filter(server=small_server, action="resize")
    assert (resize.status, resize.plan_id) == ("succeeded", plan.pk)
    assert node_of(small_server).size == "4 vCPU, 8 GB RAM, 160 GB disk"
    assert [m.to for m in mail.outbox if "now runs G.8GB" in m.subject] == [[small_server.user.email]]
    [change] = PlanChange.objects.filter(server=small_server)
    assert (change.kind, change.order_id, change.from_plan.slug, change.to_plan.slug) == (
        "upgrade",
        order.pk,
        "g-4gb",
        "g-8gb",
    )
    # The renewal at the old price was replaced by one at the new plan's.
    renewal.refresh_from_db()
    assert renewal.status == "cancelled"
    new_renewal = Order.objects.get(renews_server=small_server, status="created")
    assert (new_renewal.plan_id, new_renewal.subtotal_paise) == (plan.pk, 224000)
    # Its own GST invoice says what it is.
    order.refresh_from_db()
    line = order.tax_invoice.lines[0]
    assert line["description"] == (
        f"Upgrade G.4GB → G.8GB, {timezone.localdate():%d %b %Y} – {timezone.localtime(due):%d %b %Y}"
    )
    assert order.tax_invoice.total_paise == order.total_paise
    # And the timeline says so.
    page = Client()
    page.force_login(small_server.user)
    html = page.get(f"/servers/{small_server.pk}/").content.decode()
    assert "Plan upgraded" in html and "Machine resized" in html


def test_a_renewal_issued_after_an_upgrade_is_priced_at_the_new_plan(
    api, small_server, plan, fake_razorpay, after_commit
):
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)
    report = billing_run(now=small_server.paid_until - timedelta(days=1))
    [number] = report.renewals_created
    assert Order.objects.get(number=number).subtotal_paise == 224000


def test_a_second_upgrade_request_replaces_the_unpaid_one(api, small_server, plan, g16):
    first = plan_change(api, small_server, "g-16gb").json()["number"]
    again = plan_change(api, small_server, "g-16gb").json()["number"]
    assert again == first  # the same request the same day: the same order
    second = plan_change(api, small_server, "g-8gb")
    assert second.status_code == 201
    assert Order.objects.get(number=first).status == "cancelled"
    assert list(
        Order.objects.filter(upgrades_server=small_server, status="created").values_list("number", flat=True)
    ) == [second.json()["number"]]


def test_an_upgrade_paid_by_verify_and_by_webhook_moves_the_server_once(
    api, small_server, plan, fake_razorpay, after_commit
):
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    response, payment = after_commit(verify_payment, api, fake_razorpay, order)
    assert response.status_code == 200
    for event in ("payment.captured", "order.paid"):
        assert post_webhook(Client(), *fake_razorpay.webhook(event, payment)).status_code == 200
    again = api.post("/api/v1/payments/verify/", fake_razorpay.checkout_response(payment), format="json")
    assert again.status_code == 200

    assert PlanChange.objects.filter(server=small_server).count() == 1
    assert ServerOperation.objects.filter(server=small_server, action="resize").count() == 1
    order.refresh_from_db()
    assert (order.status, order.needs_attention) == ("paid", False)


def test_a_downgrade_is_scheduled_for_the_period_end_and_takes_effect_when_the_renewal_period_begins(
    api, alice, plan, g4, fake_razorpay, after_commit
):
    server = active_server(alice, plan, paid_until=timezone.now() + timedelta(days=20))
    due = server.paid_until
    response = plan_change(api, server, "g-4gb")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["plan"] == "g-8gb"
    assert body["plan_change"]["plan"] == "g-4gb"
    assert body["plan_change"]["at"] == api.get(f"/api/v1/servers/{server.pk}/").json()["paid_until"]
    assert not Order.objects.filter(upgrades_server=server).exists()  # nothing charged now

    # The next renewal is priced at the new plan; paying it changes nothing yet.
    [number] = billing_run(now=due - timedelta(days=2)).renewals_created
    renewal = Order.objects.get(number=number)
    assert (renewal.plan_id, renewal.subtotal_paise) == (g4.pk, 112000)
    after_commit(verify_payment, api, fake_razorpay, renewal)
    billing_run(now=due - timedelta(hours=1))
    server.refresh_from_db()
    assert (server.plan_id, server.plan_change_to_id) == (plan.pk, g4.pk)
    assert not ServerOperation.objects.filter(server=server, action="resize").exists()

    # The period the renewal paid for begins: the machine is resized.
    after_commit(billing_run, now=due + timedelta(minutes=1))
    server.refresh_from_db()
    assert (server.plan_id, server.plan_change_to_id, server.status) == (g4.pk, None, "active")
    [resize] = ServerOperation.objects.filter(server=server, action="resize")
    assert (resize.status, resize.plan_id) == ("succeeded", g4.pk)
    assert node_of(server).size == "2 vCPU, 4 GB RAM, 80 GB disk"
    assert api.get(f"/api/v1/servers/{server.pk}/").json()["plan_change"] is None
    billing_run(now=due + timedelta(hours=2))  # again: nothing more
    assert PlanChange.objects.filter(server=server).count() == 1


def test_a_downgrade_reprices_an_unpaid_renewal_and_delete_withdraws_it(api, alice, plan, g4):
    server = active_server(alice, plan)
    old = renewal_issue(server.pk, source="test")
    assert plan_change(api, server, "g-4gb").status_code == 200
    old.refresh_from_db()
    assert old.status == "cancelled"
    assert Order.objects.get(renews_server=server, status="created").subtotal_paise == 112000

    response = api.delete(f"/api/v1/servers/{server.pk}/plan-change/")
    assert response.status_code == 200
    assert response.json()["plan_change"] is None
    assert Order.objects.get(renews_server=server, status="created").subtotal_paise == 224000


def test_delete_withdraws_an_unpaid_upgrade(api, small_server, plan):
    number = plan_change(api, small_server, "g-8gb").json()["number"]
    response = api.delete(f"/api/v1/servers/{small_server.pk}/plan-change/")
    assert response.status_code == 200
    assert Order.objects.get(number=number).status == "cancelled"


def test_refusals(api, bob_api, alice, small_server, plan, g16):
    assert plan_change(api, small_server, "g-4gb").status_code == 400  # its own plan
    assert plan_change(api, small_server, "no-such-plan").status_code == 400
    g16.is_active = False
    g16.save()
    assert plan_change(api, small_server, "g-16gb").status_code == 400  # inactive
    assert plan_change(bob_api, small_server, "g-8gb").status_code == 404  # another's server

    cancellation_set(small_server.pk, cancel=True, source="test")
    assert plan_change(api, small_server, "g-8gb").status_code == 409
    cancellation_set(small_server.pk, cancel=False, source="test")

    Server.objects.filter(pk=small_server.pk).update(status="suspended", suspension_reason="overdue")
    assert plan_change(api, small_server, "g-8gb").status_code == 409
    assert not Order.objects.filter(upgrades_server=small_server).exists()


def test_a_full_refund_of_an_upgrade_moves_the_server_back_and_a_partial_one_moves_nothing(
    api, small_server, plan, g4, fake_razorpay, after_commit
):
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)

    order_refund(order.number, amount_paise=100, reason="Goodwill", source="admin")
    small_server.refresh_from_db()
    assert small_server.plan_id == plan.pk

    after_commit(order_refund, order.number, reason="Changed their mind", source="admin")
    order.refresh_from_db()
    small_server.refresh_from_db()
    assert (order.status, small_server.plan_id) == ("refunded", g4.pk)
    assert order.credit_notes.count() == 2
    assert list(PlanChange.objects.filter(server=small_server).values_list("kind", flat=True)) == ["upgrade", "refund"]
    last = ServerOperation.objects.filter(server=small_server, action="resize").last()
    assert (last.status, last.plan_id) == ("succeeded", g4.pk)
    assert node_of(small_server).size == "2 vCPU, 4 GB RAM, 80 GB disk"


def test_a_resize_failing_once_is_retried_and_succeeds(api, small_server, plan, fake_razorpay, after_commit):
    SimulatedNode.objects.filter(server_id=small_server.pk).update(failures=["transient"])
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)
    [resize] = ServerOperation.objects.filter(server=small_server, action="resize")
    assert (resize.status, resize.attempts) == ("succeeded", 2)
    small_server.refresh_from_db()
    assert (small_server.plan_id, small_server.status) == (plan.pk, "active")
    assert node_of(small_server).size == "4 vCPU, 8 GB RAM, 160 GB disk"


def test_a_resize_failing_for_good_alerts_once_and_moves_the_server_back(
    api, small_server, plan, g4, fake_razorpay, alert_recipients, after_commit
):
    SimulatedNode.objects.filter(server_id=small_server.pk).update(failures=["permanent"])
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)
    [resize] = ServerOperation.objects.filter(server=small_server, action="resize")
    assert resize.status == "failed"
    small_server.refresh_from_db()
    assert (small_server.plan_id, small_server.status) == (g4.pk, "active")  # the machine it really has
    assert node_of(small_server).size == ""  # untouched
    alerts = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    assert len(alerts) == 1 and "resize" in alerts[0].subject
    assert "back on G.4GB" in alerts[0].body
    assert list(PlanChange.objects.filter(server=small_server).values_list("kind", flat=True)) == [
        "upgrade", "resize_failed"
    ]  # fmt: skip


def test_audit_ledger_finds_a_paid_upgrade_whose_server_does_not_run_its_plan(
    api, small_server, plan, g4, fake_razorpay, after_commit
):
    from ops.audit import ledger_audit

    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)
    assert not [p for p in ledger_audit(alert=False).problems if p["order"] == order.number]

    Server.objects.filter(pk=small_server.pk).update(plan=g4)  # moved back by hand, no history
    [problem] = [p for p in ledger_audit(alert=False).problems if p["order"] == order.number]
    assert "runs G.4GB" in problem["problem"]


def test_the_server_page_offers_each_other_plan_with_todays_figures_and_the_form_changes_the_plan(
    small_server, plan, g16, fake_razorpay
):
    page = Client()
    page.force_login(small_server.user)
    html = page.get(f"/servers/{small_server.pk}/").content.decode()
    subtotal, left, period = expected_subtotal(224000 - 112000, small_server)
    assert "Change plan" in html
    assert f"for the {left} days left of this {period}-day period" in html
    assert "G.16GB" in html

    response = page.post(f"/servers/{small_server.pk}/plan-change/", {"plan": "g-8gb"})
    order = Order.objects.get(upgrades_server=small_server, status="created")
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/?pay=1"
    assert order.subtotal_paise == subtotal
    order_page = page.get(response["Location"]).content.decode()
    assert f"the difference for {left} of {period} days" in order_page

    page.post(f"/servers/{small_server.pk}/plan-change/cancel/")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_the_form_schedules_a_downgrade_shown_on_the_page(alice, plan, g4):
    server = active_server(alice, plan)
    page = Client()
    page.force_login(alice)
    assert "from " in page.get(f"/servers/{server.pk}/").content.decode()
    page.post(f"/servers/{server.pk}/plan-change/", {"plan": "g-4gb"})
    server.refresh_from_db()
    assert server.plan_change_to_id == g4.pk
    html = page.get(f"/servers/{server.pk}/").content.decode()
    assert "moves to <strong>G.4GB</strong>" in html and "Downgrade scheduled" in html


def test_staff_see_the_plan_history_on_the_server_admin_and_the_customers_history(
    client, staff, api, small_server, plan, fake_razorpay, after_commit
):
    order = Order.objects.get(number=plan_change(api, small_server, "g-8gb").json()["number"])
    after_commit(verify_payment, api, fake_razorpay, order)
    client.force_login(staff)
    server_page = client.get(f"/admin/servers/server/{small_server.pk}/change/").content.decode()
    assert "Plan changes" in server_page and order.number in server_page
    history = client.get(f"/admin/customers/{small_server.user_id}/").content.decode()
    assert f"Plan G.4GB → G.8GB (Upgrade paid, order {order.number})" in history
    assert "(upgrade from G.4GB)" in history
