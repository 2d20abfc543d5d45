"""Issue 23 item 8: a staff unsuspend of an overdue server was undone within the hour
by the next run_billing, silently. Lifting an overdue suspension now asks for a grace
date, the confirmation page says what will happen, and run_billing respects it.
Through the admin's Unsuspend page and the real billing run; time moves by `now`."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.factories import UserFactory
from lifecycle.billing_day import billing_run
from security.models import StaffAction

from .conftest import active_server

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def helpdesk():
    user = UserFactory(email="helpdesk@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_server", "suspend_server"]))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def overdue_suspended(alice, plan, django_capture_on_commit_callbacks):
    now = timezone.now()
    server = active_server(alice, plan, paid_until=now - timedelta(days=settings.SUSPEND_AFTER_DAYS) - DAY)
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(now=now)
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("suspended", "overdue")
    return server


def test_lifting_an_overdue_suspension_with_a_grace_date_survives_the_next_billing_runs(
    helpdesk, overdue_suspended, django_capture_on_commit_callbacks
):
    server = overdue_suspended
    url = f"/admin/actions/server/{server.pk}/unsuspend/"
    page = helpdesk.get(url).text
    assert "What will happen:" in page and "without a grace date the next billing run" in page
    assert 'name="grace_until"' in page

    grace = timezone.localdate() + 3 * DAY
    with django_capture_on_commit_callbacks(execute=True):
        done = helpdesk.post(url, {"reason": "Customer paying by NEFT on Monday", "grace_until": grace.isoformat()})
    assert done.status_code == 302
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("active", "")

    for hours in (1, 24, 48):  # the next runs, within the grace
        with django_capture_on_commit_callbacks(execute=True):
            report = billing_run(now=timezone.now() + timedelta(hours=hours))
        assert server.pk not in report.suspended + report.terminated, f"re-suspended {hours} h later"
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("active", "")
    audit = StaffAction.objects.get(target_id=str(server.pk))
    assert audit.details["action"] == "unsuspend"

    after = timezone.now() + 4 * DAY + timedelta(hours=1)  # past the grace, still unpaid
    with django_capture_on_commit_callbacks(execute=True):
        assert billing_run(now=after).suspended == [server.pk]


def test_lifting_an_overdue_suspension_without_a_grace_date_is_refused_and_says_why(helpdesk, overdue_suspended):
    server = overdue_suspended
    url = f"/admin/actions/server/{server.pk}/unsuspend/"
    refused = helpdesk.post(url, {"reason": "Goodwill"})
    assert refused.status_code == 400 and "suspends it again" in refused.text
    past = helpdesk.post(url, {"reason": "Goodwill", "grace_until": timezone.localdate().isoformat()})
    assert past.status_code == 400 and "A grace date is after today." in past.text
    server.refresh_from_db()
    assert server.suspension_reason == "overdue" and not StaffAction.objects.exists()
