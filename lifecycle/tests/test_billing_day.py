"""run_billing: each step, the pass as a whole, and the command. Time moves by the
`now` argument and by servers' paid_until, never by patching."""

import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from billing.models import Order
from lifecycle.billing_day import billing_run
from lifecycle.models import Reminder
from lifecycle.renewals import cancellation_set, renewal_issue
from servers.models import Server
from servers.periods import period_end

from .conftest import active_server, verify_payment

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now()


def run(capture, **kwargs):
    with capture(execute=True):
        return billing_run(**kwargs)


def customer_mail(subject_part):
    return [m for m in mail.outbox if m.to == ["alice@example.com"] and subject_part in m.subject]


def test_a_renewal_is_issued_exactly_at_the_notice_boundary_and_not_before(
    alice, plan, now, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now + timedelta(days=settings.RENEWAL_NOTICE_DAYS))
    early = run(django_capture_on_commit_callbacks, now=now - timedelta(seconds=1))
    assert early.renewals_created == [] and not Order.objects.filter(kind="renewal").exists()

    report = run(django_capture_on_commit_callbacks, now=now)

    [renewal] = Order.objects.filter(kind="renewal")
    assert report.renewals_created == [renewal.number] and report.reminders_sent == 1
    assert (renewal.renews_server_id, renewal.billing_cycle_months, renewal.status) == (server.pk, 1, "created")
    assert renewal.razorpay_order_id is None  # made when the customer pays
    [email] = customer_mail("Renewal due")
    assert renewal.number in email.body and f"/servers/{server.pk}/" in email.body


def test_running_twice_changes_nothing_more(alice, plan, now, django_capture_on_commit_callbacks):
    active_server(alice, plan, paid_until=now + 2 * DAY)
    active_server(alice, plan, paid_until=now - 4 * DAY)
    active_server(alice, plan, paid_until=now - 20 * DAY)
    first = run(django_capture_on_commit_callbacks, now=now)
    sent = len(mail.outbox)
    second = run(django_capture_on_commit_callbacks, now=now)
    assert len(first.renewals_created) == 2 and len(first.suspended) == 1 and len(first.terminated) == 1
    assert second.as_json() == {
        "dry_run": False, "renewals_created": [], "reminders_sent": 0, "suspended": [], "terminated": [],
        "autopay_requested": [], "errors": [],
    }  # fmt: skip
    assert len(mail.outbox) == sent


def test_a_server_past_its_suspension_day_with_no_renewal_gets_one_and_is_suspended_in_the_same_pass(
    alice, plan, now, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now - timedelta(days=settings.SUSPEND_AFTER_DAYS) - DAY)
    report = run(django_capture_on_commit_callbacks, now=now)
    server.refresh_from_db()
    assert len(report.renewals_created) == 1 and report.suspended == [server.pk]
    assert (server.status, server.suspension_reason, server.power_state) == ("suspended", "overdue", "stopped")
    assert set(Reminder.objects.filter(server=server).values_list("kind", flat=True)) == {"renewal_issued", "suspended"}
    assert customer_mail("suspended for non-payment")


def test_a_server_not_yet_past_its_suspension_day_stays_active(alice, plan, now, django_capture_on_commit_callbacks):
    server = active_server(
        alice, plan, paid_until=now - timedelta(days=settings.SUSPEND_AFTER_DAYS) + timedelta(minutes=1)
    )
    report = run(django_capture_on_commit_callbacks, now=now)
    server.refresh_from_db()
    assert report.suspended == [] and server.status == "active"


def test_overdue_then_suspended_then_paid_then_active(
    api, alice, plan, now, fake_razorpay, django_capture_on_commit_callbacks
):
    due = now - 4 * DAY
    server = active_server(alice, plan, paid_until=due)
    run(django_capture_on_commit_callbacks, now=now)
    server.refresh_from_db()
    assert server.status == "suspended"
    renewal = Order.objects.get(renews_server=server, status="created")

    with django_capture_on_commit_callbacks(execute=True):
        response, _ = verify_payment(api, fake_razorpay, renewal)

    assert response.status_code == 200
    server.refresh_from_db()
    assert (server.status, server.suspension_reason, server.power_state) == ("active", "", "running")
    assert server.paid_until == period_end(due, 1)
    assert run(django_capture_on_commit_callbacks, now=now).suspended == []


def test_a_staff_suspension_is_not_lifted_by_paying(
    api, alice, plan, now, fake_razorpay, django_capture_on_commit_callbacks
):
    from servers.operations import server_suspend

    server = active_server(alice, plan, paid_until=now + 2 * DAY)
    run(django_capture_on_commit_callbacks, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(server.pk, reason="staff", source="admin")
        verify_payment(api, fake_razorpay, Order.objects.get(renews_server=server, status="created"))
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("suspended", "staff")


def test_termination_cancels_the_renewal_and_a_later_payment_is_flagged_and_revives_nothing(
    api, alice, plan, now, fake_razorpay, alert_recipients, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now - 10 * DAY)
    run(django_capture_on_commit_callbacks, now=now)  # renewal issued, suspended
    renewal = Order.objects.get(renews_server=server, status="created")
    from payments.services import order_gateway_ensure

    renewal = order_gateway_ensure(renewal)  # the customer opened Checkout and left it open

    report = run(django_capture_on_commit_callbacks, now=now + 5 * DAY)  # 15 days overdue

    server.refresh_from_db()
    renewal.refresh_from_db()
    assert report.terminated == [server.pk]
    assert (server.status, renewal.status) == ("terminated", "cancelled")
    assert customer_mail("is terminated")

    with django_capture_on_commit_callbacks(execute=True):
        response, _ = verify_payment(api, fake_razorpay, renewal)
    renewal.refresh_from_db()
    server.refresh_from_db()
    assert renewal.status == "paid" and renewal.needs_attention and "refund" in renewal.attention_reason
    assert server.status == "terminated" and not server.extensions.exists()
    assert [m for m in mail.outbox if m.to == ["ops@example.com"]]  # staff told


def test_a_server_found_past_its_termination_day_is_terminated_in_that_pass(
    alice, plan, now, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now - timedelta(days=settings.TERMINATE_AFTER_DAYS))
    report = run(django_capture_on_commit_callbacks, now=now)
    server.refresh_from_db()
    assert report.terminated == [server.pk] and report.suspended == [] and report.renewals_created == []
    assert server.status == "terminated"


def test_cancelled_at_period_end_gets_no_renewal_and_is_terminated_at_paid_until(
    alice, plan, now, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now + 3 * DAY)
    cancellation_set(server.pk, cancel=True, source="test", actor=alice)
    before = run(django_capture_on_commit_callbacks, now=now + 3 * DAY - timedelta(seconds=1))
    assert before.renewals_created == [] and before.terminated == []
    assert not Order.objects.filter(kind="renewal").exists()

    report = run(django_capture_on_commit_callbacks, now=now + 3 * DAY)

    server.refresh_from_db()
    assert report.terminated == [server.pk] and server.status == "terminated"


def test_the_due_tomorrow_reminder_is_sent_once(alice, plan, now, django_capture_on_commit_callbacks):
    server = active_server(alice, plan, paid_until=now + 3 * DAY)
    run(django_capture_on_commit_callbacks, now=now)  # the renewal
    assert run(django_capture_on_commit_callbacks, now=now + DAY).reminders_sent == 0  # two days left
    assert run(django_capture_on_commit_callbacks, now=now + 2 * DAY).reminders_sent == 1
    assert run(django_capture_on_commit_callbacks, now=now + 2 * DAY + timedelta(hours=1)).reminders_sent == 0
    assert len(customer_mail("due tomorrow")) == 1
    assert Reminder.objects.filter(server=server, kind="due_tomorrow").count() == 1


def test_a_renewed_server_is_not_reminded_or_suspended(
    api, alice, plan, now, fake_razorpay, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now + 3 * DAY)
    run(django_capture_on_commit_callbacks, now=now)
    verify_payment(api, fake_razorpay, Order.objects.get(renews_server=server))
    report = run(django_capture_on_commit_callbacks, now=now + 10 * DAY)
    server.refresh_from_db()
    assert report.suspended == [] and report.reminders_sent == 0 and server.status == "active"


def test_a_dry_run_reports_what_a_pass_would_do_and_writes_nothing(
    alice, plan, now, django_capture_on_commit_callbacks
):
    server = active_server(alice, plan, paid_until=now - 4 * DAY)
    dry = run(django_capture_on_commit_callbacks, now=now, dry_run=True)
    server.refresh_from_db()
    assert dry.dry_run and len(dry.renewals_created) == 1 and dry.suspended == [server.pk]
    assert (server.status, server.suspension_reason) == ("active", "")
    assert not Order.objects.filter(kind="renewal").exists() and not Reminder.objects.exists()
    assert not mail.outbox and not server.operations.exists()


def test_batches_cover_every_server(alice, plan, now, django_capture_on_commit_callbacks):
    servers = [active_server(alice, plan, paid_until=now + DAY) for _ in range(7)]
    report = run(django_capture_on_commit_callbacks, now=now, batch_size=3)
    assert len(report.renewals_created) == 7
    assert Order.objects.filter(renews_server__in=servers, status="created").count() == 7


@pytest.mark.postgres_only
def test_one_failing_server_is_reported_and_the_others_go_on(alice, plan, now, django_capture_on_commit_callbacks):
    good = [active_server(alice, plan, paid_until=now + DAY) for _ in range(3)]
    bad = active_server(alice, plan, paid_until=now + DAY)
    with connection.cursor() as cursor:  # the database refuses this one server's renewal
        cursor.execute(
            "CREATE FUNCTION refuse_renewal() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.renews_server_id = {bad.pk} THEN RAISE EXCEPTION 'refused for the test'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_renewal BEFORE INSERT ON billing_order FOR EACH ROW EXECUTE FUNCTION refuse_renewal()"
        )
    report = run(django_capture_on_commit_callbacks, now=now)
    assert len(report.renewals_created) == 3
    assert [error["server"] for error in report.errors] == [bad.pk]
    assert "refused for the test" in report.errors[0]["error"]
    assert Order.objects.filter(renews_server__in=good).count() == 3

    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("run_billing", "--json", stdout=out)
    assert raised.value.returncode == 1
    assert json.loads(out.getvalue())["errors"][0]["server"] == bad.pk


def test_the_command_prints_the_contract_json(alice, plan, now, capsys):
    server = active_server(alice, plan, paid_until=now - 4 * DAY)
    call_command("run_billing", "--json")
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {
        "dry_run",
        "renewals_created",
        "reminders_sent",
        "suspended",
        "terminated",
        "autopay_requested",
        "errors",
    }
    assert body["suspended"] == [server.pk] and body["dry_run"] is False
    call_command("run_billing", "--dry-run")
    assert "Dry run" in capsys.readouterr().out


def test_bad_arguments_exit_2():
    result = subprocess.run(
        [sys.executable, "manage.py", "run_billing", "--no-such-flag"], cwd=settings.BASE_DIR, capture_output=True
    )
    assert result.returncode == 2


def test_renew_early_then_run_billing_issues_no_second_renewal(alice, plan, now, django_capture_on_commit_callbacks):
    server = active_server(alice, plan, paid_until=now + 2 * DAY)
    early = renewal_issue(server.pk, billing_cycle_months=3, source="api")
    report = run(django_capture_on_commit_callbacks, now=now)
    assert report.renewals_created == []
    assert list(Order.objects.filter(renews_server=server).values_list("number", flat=True)) == [early.number]
    assert Server.objects.get(pk=server.pk).status == "active"
