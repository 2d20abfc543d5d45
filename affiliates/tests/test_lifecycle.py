"""pending -> approved (after the hold) -> paid (by a payout); reversed or reduced by refunds."""

import datetime
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from affiliates.models import Commission, CommissionEvent, Payout
from affiliates.services import (
    PayoutError,
    commission_adjust_for_refund,
    commissions_approve_due,
    payout_record,
)
from security.models import StaffAction

from .conftest import paid_order

TODAY = datetime.date(2026, 12, 1)


@pytest.fixture
def treasurer(db):
    """Staff who may record payouts, and nothing more."""
    from accounts.factories import UserFactory

    user = UserFactory(email="treasurer@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="pay_commission"))
    return user


@pytest.fixture
def commissions(alice, carol, plan, fake_razorpay):
    """Two pending commissions for alice, from two orders carol paid."""
    return [Commission.objects.get(order=paid_order(carol, plan, fake_razorpay)) for _ in range(2)]


def approve_all(commissions):
    latest = max(commission.hold_until for commission in commissions)
    return commissions_approve_due(latest)


@pytest.mark.django_db
def test_a_commission_stays_pending_through_its_hold_and_is_approved_after(commissions):
    first = commissions[0]
    assert commissions_approve_due(first.hold_until - timedelta(seconds=1)) == []
    assert commissions_approve_due(first.hold_until) == [first.pk]
    first.refresh_from_db()
    assert first.status == "approved" and first.approved_at == first.hold_until
    event = CommissionEvent.objects.get(commission=first)
    assert (event.kind, event.from_status, event.to_status, event.source) == (
        "approved",
        "pending",
        "approved",
        "run_billing",
    )


@pytest.mark.django_db
def test_approving_twice_changes_nothing_more(commissions):
    assert len(approve_all(commissions)) == 2
    assert approve_all(commissions) == []
    assert CommissionEvent.objects.filter(kind="approved").count() == 2


@pytest.mark.django_db
def test_a_dry_run_names_what_it_would_approve_and_writes_nothing(commissions):
    latest = max(commission.hold_until for commission in commissions)
    assert sorted(commissions_approve_due(latest, dry_run=True)) == sorted(c.pk for c in commissions)
    assert set(Commission.objects.values_list("status", flat=True)) == {"pending"}
    assert not CommissionEvent.objects.exists()


@pytest.mark.django_db
def test_approval_runs_in_batches_until_everything_due_is_approved(commissions):
    latest = max(commission.hold_until for commission in commissions)
    assert len(commissions_approve_due(latest, batch=1)) == 2


@pytest.mark.django_db
def test_a_payout_marks_the_oldest_approved_commissions_paid(alice, commissions, treasurer):
    approve_all(commissions)
    oldest = commissions[0]
    payout = payout_record(
        affiliate=alice,
        amount_paise=oldest.amount_paise,
        reference="UTR0001",
        paid_on=TODAY,
        recorded_by=treasurer,
        request=RequestFactory().post("/admin/", REMOTE_ADDR="10.0.0.7"),
    )
    statuses = dict(Commission.objects.values_list("pk", "status"))
    assert statuses == {oldest.pk: "paid", commissions[1].pk: "approved"}
    oldest.refresh_from_db()
    assert oldest.payout == payout and oldest.paid_at
    event = CommissionEvent.objects.get(commission=oldest, kind="paid")
    assert event.actor == treasurer and "UTR0001" in event.note
    assert (payout.recorded_by, payout.recorded_from, payout.paid_on) == (treasurer, "10.0.0.7", TODAY)
    audit = StaffAction.objects.get(action="affiliates.pay_commission")
    assert (audit.actor, audit.ip_address, audit.target_id) == (treasurer, "10.0.0.7", str(payout.pk))
    assert audit.target_label == f"Payout {payout.pk} to {alice.pk}: ₹224.00"  # rupees, as staff read it
    assert str(oldest) == f"Commission on order {oldest.order_id}: ₹224.00 (paid)"
    assert audit.details["amount_paise"] == oldest.amount_paise and audit.details["commissions"] == [oldest.pk]


@pytest.mark.django_db
def test_a_payout_that_does_not_settle_whole_commissions_is_refused_and_writes_nothing(alice, commissions, treasurer):
    approve_all(commissions)
    for amount in (commissions[0].amount_paise - 1, commissions[0].amount_paise + 1, 10**9):
        with pytest.raises(PayoutError):
            payout_record(affiliate=alice, amount_paise=amount, reference="X", paid_on=TODAY, recorded_by=treasurer)
    assert not Payout.objects.exists()
    assert set(Commission.objects.values_list("status", flat=True)) == {"approved"}


@pytest.mark.django_db
def test_a_payout_of_nothing_is_refused_in_rupees(alice, commissions, treasurer):
    approve_all(commissions)
    with pytest.raises(PayoutError, match="^The amount must be more than ₹0.00.$"):
        payout_record(affiliate=alice, amount_paise=0, reference="X", paid_on=TODAY, recorded_by=treasurer)


@pytest.mark.django_db
def test_pending_commissions_cannot_be_paid(alice, commissions, treasurer):
    with pytest.raises(PayoutError, match="no approved"):
        payout_record(
            affiliate=alice,
            amount_paise=commissions[0].amount_paise,
            reference="X",
            paid_on=TODAY,
            recorded_by=treasurer,
        )


@pytest.mark.django_db
def test_the_same_reference_twice_is_refused(alice, commissions, treasurer):
    approve_all(commissions)
    amount = commissions[0].amount_paise
    payout_record(affiliate=alice, amount_paise=amount, reference="UTR0001", paid_on=TODAY, recorded_by=treasurer)
    with pytest.raises(PayoutError, match="already recorded"):
        payout_record(affiliate=alice, amount_paise=amount, reference="UTR0001", paid_on=TODAY, recorded_by=treasurer)


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_record_a_payout(alice, commissions):
    from accounts.factories import UserFactory

    approve_all(commissions)
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    with pytest.raises(PermissionDenied):
        payout_record(
            affiliate=alice, amount_paise=commissions[0].amount_paise, reference="X", paid_on=TODAY, recorded_by=clerk
        )
    assert not Payout.objects.exists()


@pytest.mark.django_db
def test_a_full_refund_before_approval_reverses_the_commission(commissions):
    commission = commissions[0]
    order = commission.order
    commission_adjust_for_refund(order, refunded_paise=order.total_paise, refund_id="rfnd_1")
    commission.refresh_from_db()
    assert commission.status == "reversed" and commission.reversed_at
    assert CommissionEvent.objects.get(commission=commission).kind == "reversed"
    assert approve_all(commissions) == [commissions[1].pk]  # never approved afterwards


@pytest.mark.django_db
def test_a_partial_refund_before_approval_reduces_the_commission_in_proportion(commissions):
    commission = commissions[0]
    order = commission.order  # G.8GB, 1 month: subtotal 224000, total 264320; commission 22400
    commission_adjust_for_refund(order, refunded_paise=66080, refund_id="rfnd_1")  # a quarter
    commission.refresh_from_db()
    assert (commission.status, commission.amount_paise, commission.original_amount_paise) == ("pending", 16800, 22400)
    event = CommissionEvent.objects.get(commission=commission)
    assert (event.kind, event.amount_before_paise, event.amount_after_paise) == ("reduced", 22400, 16800)
    assert event.note == f"Order {order.number}: ₹660.80 of ₹2,643.20 refunded"  # staff read it in the admin

    commission_adjust_for_refund(order, refunded_paise=66080, refund_id="rfnd_1")  # the same refund again
    assert CommissionEvent.objects.filter(commission=commission).count() == 1

    commission_adjust_for_refund(order, refunded_paise=132160, refund_id="rfnd_2")  # half in all
    commission.refresh_from_db()
    assert commission.amount_paise == 11200  # from the original, not 16800 halved again

    commission_adjust_for_refund(order, refunded_paise=264320, refund_id="rfnd_3")  # the rest
    commission.refresh_from_db()
    assert commission.status == "reversed"


@pytest.mark.django_db
def test_a_refund_after_approval_leaves_the_commission_as_it_stands(commissions):
    approve_all(commissions)
    commission = commissions[0]
    commission_adjust_for_refund(commission.order, refunded_paise=commission.order.total_paise, refund_id="rfnd_1")
    commission.refresh_from_db()
    assert commission.status == "approved" and commission.amount_paise == commission.original_amount_paise


@pytest.mark.django_db
def test_an_order_found_refunded_at_approval_is_reversed_instead(commissions):
    commission = commissions[0]
    commission.order.status = "refunded"
    commission.order.save(update_fields=["status"])
    assert commissions_approve_due(commission.hold_until) == []
    commission.refresh_from_db()
    assert commission.status == "reversed"


@pytest.mark.django_db
def test_run_billing_approves_commissions_past_their_hold_once(commissions, django_capture_on_commit_callbacks):
    import io
    import json

    from django.core.management import call_command

    first, second = commissions
    Commission.objects.filter(pk=first.pk).update(hold_until=first.hold_until - timedelta(days=31))  # its hold is over

    def run_billing(*args):
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("run_billing", "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    assert run_billing("--dry-run")["errors"] == []
    assert Commission.objects.get(pk=first.pk).status == "pending"  # a dry run writes nothing

    assert run_billing()["errors"] == []
    assert dict(Commission.objects.values_list("pk", "status")) == {first.pk: "approved", second.pk: "pending"}
    run_billing()  # twice changes nothing more
    assert CommissionEvent.objects.filter(kind="approved").count() == 1
