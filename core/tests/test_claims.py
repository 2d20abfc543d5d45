"""The claim engine: backoff once, budgets by kind, compare-and-set claims, a heartbeat that keeps a lease."""

import time
from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from core.claims import MAIL_RETRIES, OPERATION_RETRIES, LeaseHeartbeat, RetryBudget, claim, lease_expired
from outbox.models import OutboundMail


def test_the_backoff_doubles_from_its_base_up_to_its_cap():
    budget = RetryBudget(max_attempts=5, base_seconds=15, cap_seconds=100)
    assert [budget.delay_seconds(n) for n in range(1, 6)] == [15, 30, 60, 100, 100]
    assert not budget.spent(4) and budget.spent(5)


def test_each_kind_keeps_its_own_budget():
    assert (OPERATION_RETRIES.max_attempts, OPERATION_RETRIES.delay_seconds(1)) == (8, 15)
    assert (MAIL_RETRIES.max_attempts, MAIL_RETRIES.delay_seconds(1), MAIL_RETRIES.delay_seconds(20)) == (10, 60, 3600)


def mail(**fields):
    return OutboundMail.objects.create(
        cause_key=f"test:{time.monotonic_ns()}", to=["a@example.com"], subject="s", body="b", **fields
    )


@pytest.mark.django_db
def test_of_two_claims_on_one_row_one_wins_and_only_an_expired_lease_is_taken_over():
    row = mail()
    now = timezone.now()
    claimable = Q(status="queued") | (Q(status="sending") & lease_expired(now))
    lease = now + timedelta(seconds=60)
    rows = OutboundMail.objects.filter(pk=row.pk)
    assert claim(rows, claimable, lease_until=lease, status="sending") == 1
    assert claim(rows, claimable, lease_until=lease, status="sending") == 0  # held
    later = lease + timedelta(seconds=1)
    expired = Q(status="sending") & lease_expired(later)
    assert claim(rows, expired, lease_until=later + timedelta(seconds=60), status="sending") == 1
    row.refresh_from_db()
    assert row.attempts == 2  # the takeover counts as an attempt


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_keeps_the_lease_alive_through_a_long_call_and_stops_when_the_row_is_no_longer_ours():
    row = mail(status="sending", lease_until=timezone.now() + timedelta(seconds=0.6))
    ours = OutboundMail.objects.filter(pk=row.pk, status="sending")
    with LeaseHeartbeat(ours, seconds=0.6) as heartbeat:
        time.sleep(1.5)  # a call longer than two leases
        row.refresh_from_db()
        assert row.lease_until > timezone.now(), "the lease ran out while the call was running"
    assert heartbeat.renewals >= 3
    OutboundMail.objects.filter(pk=row.pk).update(status="sent")
    with LeaseHeartbeat(ours, seconds=0.3) as lost:
        time.sleep(0.5)
    assert lost.renewals == 0
