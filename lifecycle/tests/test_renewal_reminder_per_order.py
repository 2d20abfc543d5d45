"""The "renewal issued" reminder belongs to the renewal order (issue 23, item 10).

Reminders were unique on (server, kind, paid_until): a renewal re-issued for the
same due date (after a withdrawn cancellation, or a refund moving paid_until
back) found the first renewal's reminder and was never mailed.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Order
from lifecycle.billing_day import billing_run
from lifecycle.models import Reminder
from lifecycle.renewals import cancellation_set

from .conftest import active_server

pytestmark = pytest.mark.django_db


def run(capture, now):
    with capture(execute=True):
        return billing_run(now=now)


def renewal_mails(order):
    return [m for m in mail.outbox if m.to == ["alice@example.com"] and order.number in m.body]


def test_a_renewal_reissued_for_the_same_due_date_after_a_withdrawn_cancellation_is_mailed(
    alice, plan, django_capture_on_commit_callbacks
):
    now = timezone.now()
    server = active_server(alice, plan, paid_until=now + timedelta(days=5))
    first_run = run(django_capture_on_commit_callbacks, now)
    first = Order.objects.get(number__in=first_run.renewals_created)
    assert len(renewal_mails(first)) == 1

    cancellation_set(server.pk, cancel=True, source="api", actor=alice)  # cancels the unpaid renewal
    cancellation_set(server.pk, cancel=False, source="api", actor=alice)  # changed their mind
    second_run = run(django_capture_on_commit_callbacks, now + timedelta(hours=1))
    second = Order.objects.get(number__in=second_run.renewals_created)
    assert second.pk != first.pk and second_run.reminders_sent == 1

    assert len(renewal_mails(second)) == 1  # the new renewal's mail, with its own number
    issued = Reminder.objects.filter(server=server, kind=Reminder.Kind.RENEWAL_ISSUED)
    assert sorted(issued.values_list("order_id", flat=True)) == sorted([first.pk, second.pk])

    # Still once per renewal order: a third run mails nothing more.
    assert run(django_capture_on_commit_callbacks, now + timedelta(hours=2)).reminders_sent == 0
    assert len(renewal_mails(second)) == 1


def test_the_other_reminders_stay_once_per_due_date(alice, plan, django_capture_on_commit_callbacks):
    now = timezone.now()
    server = active_server(alice, plan, paid_until=now + timedelta(hours=12))
    run(django_capture_on_commit_callbacks, now)
    run(django_capture_on_commit_callbacks, now + timedelta(hours=1))
    kinds = list(Reminder.objects.filter(server=server).values_list("kind", flat=True))
    assert sorted(kinds) == ["due_tomorrow", "renewal_issued"]
