"""Staff suspend, unsuspend and terminate the servers selected in the server list: the
same staff actions as the server page's buttons (backoffice.actions), each with its own
permission, a confirmation page first, a required reason, a fresh code for termination,
a staff-audit row per server, and refused servers reported while the others are done."""

import time

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.utils.html import escape
from django_otp.oath import TOTP

from accounts.factories import UserFactory
from lifecycle.tests.conftest import active_server
from security.factories import verified_staff_login
from security.models import StaffAction
from servers.models import Server, ServerOperation

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/servers/server/"
REASON = "Abuse report #42"

# list action -> the permission its StaffAction names, and a server it can be done to
ACTIONS = {
    "suspend_servers": ("suspend_server", {}),
    "unsuspend_servers": ("suspend_server", {"status": "suspended", "suspension_reason": "staff"}),
    "terminate_servers": ("terminate_server", {}),
}


@pytest.fixture
def server(alice, plan):
    return active_server(alice, plan)


def server_for(alice, plan, list_action):
    server = active_server(alice, plan)
    Server.objects.filter(pk=server.pk).update(**ACTIONS[list_action][1])
    return server


def staff_client(*codenames):
    user = UserFactory(email=f"staff-{'-'.join(codenames) or 'none'}@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_server", *codenames]))
    client = Client()
    client.force_login(user)
    return client


def act(client, action, *servers, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in servers], **extra})


def snapshot(*servers):
    rows = Server.objects.filter(pk__in=[s.pk for s in servers]).order_by("pk")
    return list(rows.values("status", "suspension_reason")), ServerOperation.objects.count(), StaffAction.objects.count()


def fresh_code(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.mark.parametrize("list_action", ACTIONS)
def test_each_list_action_needs_its_own_permission(alice, plan, list_action):
    server = server_for(alice, plan, list_action)
    others = {"suspend_server", "terminate_server"} - {ACTIONS[list_action][0]}
    without = staff_client(*others)
    before = snapshot(server)
    assert f'value="{list_action}"' not in without.get(CHANGELIST).text
    page = act(without, list_action, server)
    assert "Yes, " not in page.text  # the changelist refuses an action it does not offer
    act(without, list_action, server, apply="1", reason=REASON)
    assert snapshot(server) == before

    allowed = staff_client(ACTIONS[list_action][0])
    assert f'value="{list_action}"' in allowed.get(CHANGELIST).text


@pytest.mark.parametrize("list_action", ACTIONS)
def test_each_list_action_shows_a_confirmation_page_first_and_changes_nothing(alice, plan, list_action):
    from security import staff_actions as actions

    server = server_for(alice, plan, list_action)
    before = snapshot(server)
    page = act(staff_client(ACTIONS[list_action][0]), list_action, server)
    staff_action = actions.find("server", list_action.removesuffix("_servers"))
    assert page.status_code == 200
    assert escape(staff_action.explains) in page.text and 'name="reason"' in page.text
    assert f"Yes, {staff_action.label.lower()} 1 server" in page.text
    assert f'href="/admin/servers/server/{server.pk}/change/"' in page.text and "alice@example.com" in page.text
    assert snapshot(server) == before


@pytest.mark.parametrize("list_action", ACTIONS)
def test_each_list_action_needs_a_reason(alice, plan, list_action):
    server = server_for(alice, plan, list_action)
    before = snapshot(server)
    page = act(staff_client(ACTIONS[list_action][0]), list_action, server, apply="1", reason="   ")
    assert page.status_code == 400 and "Say why" in page.text and 'name="reason"' in page.text
    assert snapshot(server) == before


def test_terminating_the_selected_servers_needs_a_fresh_code_where_staff_use_one(
    alice, plan, server, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_2FA_REQUIRED = True
    client = Client()
    device = verified_staff_login(client, UserFactory(email="boss@example.com", is_staff=True, is_superuser=True))
    before = snapshot(server)
    assert 'name="otp_code"' in act(client, "terminate_servers", server).text
    assert 'name="otp_code"' not in act(client, "suspend_servers", server).text  # suspending wants none
    page = act(client, "terminate_servers", server, apply="1", reason=REASON)
    assert page.status_code == 400 and "fresh code" in page.text
    assert snapshot(server) == before
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "terminate_servers", server, apply="1", reason=REASON, otp_code=fresh_code(device))
    server.refresh_from_db()
    assert server.status == "terminated"


def test_terminating_the_selected_servers_with_a_wrong_code_does_nothing(server, settings):
    settings.STAFF_2FA_REQUIRED = True
    client = Client()
    verified_staff_login(client, UserFactory(email="boss@example.com", is_staff=True, is_superuser=True))
    before = snapshot(server)
    page = act(client, "terminate_servers", server, apply="1", reason=REASON, otp_code="000000")
    assert page.status_code == 400 and "fresh code" in page.text
    assert snapshot(server) == before


def test_each_selected_server_gets_its_decision_and_its_own_staff_audit_row(
    alice, plan, server, django_capture_on_commit_callbacks
):
    second = active_server(alice, plan)
    client = staff_client("terminate_server")
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            CHANGELIST,
            {"action": "terminate_servers", "_selected_action": [server.pk, second.pk], "apply": "1", "reason": REASON},
            follow=True,
            REMOTE_ADDR="198.51.100.23",
        )
    for one in (server, second):
        assert f"Server #{one.pk}: termination decided" in done.text
        one.refresh_from_db()
        assert one.status == "terminated"
        operation = ServerOperation.objects.get(server=one)
        assert (operation.action, operation.source, operation.note) == ("destroy", "admin", REASON)
        assert operation.actor.email == "staff-terminate_server@example.com"
    records = list(StaffAction.objects.order_by("target_id"))
    assert [(r.action, r.target_type, r.target_id) for r in records] == [
        ("servers.terminate_server", "servers.server", str(server.pk)),
        ("servers.terminate_server", "servers.server", str(second.pk)),
    ]
    for record in records:
        assert (record.reason, record.via, record.ip_address) == (REASON, "admin", "198.51.100.23")
        assert record.actor_email == "staff-terminate_server@example.com" and record.details == {"action": "terminate"}


def test_refused_servers_are_reported_each_and_the_others_are_done(alice, plan, server, django_capture_on_commit_callbacks):
    pending = active_server(alice, plan)
    Server.objects.filter(pk=pending.pk).update(status=Server.Status.PENDING)
    client = staff_client("suspend_server")
    page = act(client, "suspend_servers", pending, server)
    assert "Only an active server can be suspended; this one is pending." in page.text
    assert "Yes, suspend 1 server" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            CHANGELIST,
            {"action": "suspend_servers", "_selected_action": [pending.pk, server.pk], "apply": "1", "reason": "x"},
            follow=True,
        )
    assert f"Suspend server #{pending.pk}: not done. Only an active server can be suspended" in done.text
    assert f"Server #{server.pk}: suspension decided" in done.text
    server.refresh_from_db()
    pending.refresh_from_db()
    assert (server.status, server.suspension_reason, pending.status) == ("suspended", "staff", "pending")
    assert list(StaffAction.objects.values_list("target_id", flat=True)) == [str(server.pk)]  # none for the refused


def test_a_server_its_service_refuses_is_reported_and_the_others_are_done(alice, plan, server):
    client = staff_client("terminate_server")
    act(client, "terminate_servers", server, apply="1", reason=REASON)  # decided; the worker has not run yet
    second = active_server(alice, plan)
    done = client.post(
        CHANGELIST,
        {"action": "terminate_servers", "_selected_action": [server.pk, second.pk], "apply": "1", "reason": REASON},
        follow=True,
    )
    assert f"Terminate server #{server.pk}: not done. Server #{server.pk}: termination was already decided." in done.text
    assert f"Server #{second.pk}: termination decided" in done.text
    assert ServerOperation.objects.filter(server=server).count() == 1
    assert StaffAction.objects.filter(target_id=str(server.pk)).count() == 1


def test_a_page_where_no_selected_server_can_take_the_action_offers_no_confirmation(alice, plan, server):
    page = act(staff_client("suspend_server"), "unsuspend_servers", server)
    assert "The server is not suspended." in page.text and "Nothing to do" in page.text
    assert 'name="reason"' not in page.text


def test_the_customer_is_mailed_when_a_staff_suspension_and_its_lifting_are_carried_out(
    server, django_capture_on_commit_callbacks
):
    client = staff_client("suspend_server")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "suspend_servers", server, apply="1", reason="Chargeback")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "unsuspend_servers", server, apply="1", reason="Resolved")
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("active", "")
    assert list(ServerOperation.objects.values_list("action", flat=True)) == ["stop", "start"]
    subjects = [m.subject for m in mail.outbox if m.to == ["alice@example.com"]]
    assert subjects == [f"Your server {server} is suspended", f"Your server {server} is running again"]
