"""The customer's /affiliate/ page and GET /api/v1/affiliate/, and the staff admin."""

import datetime

import pytest
from django.contrib.auth.models import Permission

from affiliates.models import Commission, Payout
from affiliates.services import commissions_approve_due, payout_record

from .conftest import api_client, paid_order


@pytest.fixture
def earned(alice, carol, plan, fake_razorpay, staff):
    """alice referred carol, who paid three orders: one commission paid, one approved, one pending."""
    orders = [paid_order(carol, plan, fake_razorpay) for _ in range(3)]
    commissions = [Commission.objects.get(order=order) for order in orders]
    commissions_approve_due(commissions[1].hold_until)
    payout_record(
        affiliate=alice,
        amount_paise=commissions[0].amount_paise,
        reference="UTR-77",
        paid_on=datetime.date(2026, 12, 1),
        recorded_by=staff,
    )
    return orders


@pytest.mark.django_db
def test_the_api_gives_the_callers_code_link_counts_and_commissions(alice, earned, settings):
    body = api_client(alice).get("/api/v1/affiliate/").json()
    assert set(body) == {
        "code",
        "link",
        "referrals",
        "pending_paise",
        "approved_paise",
        "paid_paise",
        "commissions",
    }
    assert body["code"] == alice.referral_code
    assert body["link"] == f"{settings.SITE_URL}/r/{alice.referral_code}/"
    assert body["referrals"] == 1
    assert (body["pending_paise"], body["approved_paise"], body["paid_paise"]) == (22400, 22400, 22400)
    assert sorted(c["status"] for c in body["commissions"]) == ["approved", "paid", "pending"]
    assert all(set(c) == {"amount_paise", "status", "created_at"} for c in body["commissions"])


@pytest.mark.django_db
def test_the_referrer_never_sees_who_they_referred_or_their_orders(alice, carol, earned, client):
    client.force_login(alice)
    page = client.get("/affiliate/").content.decode()
    api = api_client(alice).get("/api/v1/affiliate/").content.decode()
    for shown in (page, api):
        assert carol.email not in shown and carol.full_name not in shown
        assert not [order.number for order in earned if order.number in shown]
        assert not [order.invoice_number for order in earned if order.invoice_number in shown]


@pytest.mark.django_db
def test_another_customers_affiliate_data_is_never_reachable(alice, bob, earned, client):
    body = api_client(bob).get("/api/v1/affiliate/").json()
    assert body["code"] == bob.referral_code and body["referrals"] == 0 and body["commissions"] == []
    assert body["pending_paise"] == body["approved_paise"] == body["paid_paise"] == 0
    # The API names no affiliate by id or code: a path with alice's code is just not found.
    assert api_client(bob).get(f"/api/v1/affiliate/{alice.referral_code}/").status_code == 404
    client.force_login(bob)
    page = client.get("/affiliate/").content.decode()
    assert alice.referral_code not in page and "UTR-77" not in page and "₹0.00" in page


@pytest.mark.django_db
def test_the_api_and_page_need_a_signed_in_customer(client):
    assert client.get("/api/v1/affiliate/").status_code in (401, 403)
    assert client.get("/affiliate/").status_code == 302


@pytest.mark.django_db
def test_the_page_shows_the_link_with_a_copy_button_and_amounts_in_rupees(alice, earned, client):
    client.force_login(alice)
    page = client.get("/affiliate/").content.decode()
    assert f"/r/{alice.referral_code}/" in page
    assert 'data-copy="referral-link"' in page and "js/affiliate.js" in page
    assert page.count("₹224.00") >= 3  # pending, approved and paid totals, and the rows
    assert "UTR-77" in page  # her own payout's reference


@pytest.mark.django_db
def test_the_admin_lists_affiliates_with_their_balances(alice, earned, staff, client):
    client.force_login(staff)
    page = client.get("/admin/affiliates/affiliate/").content.decode()
    assert alice.email in page and "₹224.00" in page and "Record payout" in page


@pytest.mark.django_db
def test_staff_record_a_payout_in_the_admin(alice, earned, client):
    from accounts.factories import UserFactory

    treasurer = UserFactory(email="treasurer@example.com", is_staff=True)
    treasurer.user_permissions.add(
        Permission.objects.get(codename="pay_commission"), Permission.objects.get(codename="view_affiliate")
    )
    client.force_login(treasurer)
    url = f"/admin/affiliates/affiliate/{alice.pk}/payout/"
    page = client.get(url).content.decode()
    assert "₹224.00" in page and 'value="224.00"' in page  # the amount to pay, in exact rupees

    refused = client.post(url, {"amount": "100.00", "reference": "UTR-78", "paid_on": "2026-12-01"})
    assert refused.status_code == 200 and "falls inside one" in refused.content.decode()
    # "1e3" was ₹1,000 to Django's DecimalField; an amount is digits with at most two decimals.
    for typed in ["1e3", "2.24e2", "224,00", "-224", "0"]:
        unread = client.post(url, {"amount": typed, "reference": "UTR-78", "paid_on": "2026-12-01"})
        assert unread.status_code == 200 and "errorlist" in unread.content.decode(), typed
    assert not Payout.objects.filter(reference="UTR-78").exists()

    answer = client.post(url, {"amount": "224.00", "reference": "UTR-78", "paid_on": "2026-12-01"})
    assert answer.status_code == 302
    payout = Payout.objects.get(reference="UTR-78")
    assert payout.amount_paise == 22400 and payout.recorded_by == treasurer and payout.recorded_from == "127.0.0.1"
    assert Commission.objects.filter(status="paid").count() == 2


@pytest.mark.django_db
def test_staff_without_the_payout_permission_are_refused(alice, earned, client):
    from accounts.factories import UserFactory

    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_affiliate"))
    client.force_login(clerk)
    url = f"/admin/affiliates/affiliate/{alice.pk}/payout/"
    assert client.post(url, {"amount": "224.00", "reference": "UTR-79", "paid_on": "2026-12-01"}).status_code == 403
    assert not Payout.objects.filter(reference="UTR-79").exists()


@pytest.mark.django_db
def test_a_payout_is_the_record_payout_staff_action_with_one_audit_row(alice, earned, client):
    # Issue 22: the payout page runs the one staff-action framework; the audit says what was done.
    from accounts.factories import UserFactory
    from security.models import StaffAction
    from security.staff_actions import find

    treasurer = UserFactory(email="treasurer@example.com", is_staff=True)
    treasurer.user_permissions.add(
        Permission.objects.get(codename="pay_commission"), Permission.objects.get(codename="view_affiliate")
    )
    client.force_login(treasurer)
    assert find("affiliate", "payout").permission == "affiliates.pay_commission"
    answer = client.post(
        f"/admin/affiliates/affiliate/{alice.pk}/payout/",
        {"amount": "224.00", "reference": "UTR-80", "paid_on": "2026-12-01"},
    )
    assert answer.status_code == 302
    [audit] = StaffAction.objects.filter(actor=treasurer)
    assert (audit.actor, audit.action, audit.label) == (treasurer, "affiliates.pay_commission", "Record payout")
