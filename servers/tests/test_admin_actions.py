"""Staff suspend, unsuspend and terminate from the admin: their own permissions, a reason, a confirmation page."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.factories import UserFactory
from lifecycle.tests.conftest import active_server
from servers.models import Server, ServerOperation

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/servers/server/"


@pytest.fixture
def server(alice, plan):
    return active_server(alice, plan)


def staff_client(*codenames):
    user = UserFactory(email=f"staff-{'-'.join(codenames) or 'none'}@example.com", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_server", *codenames]))
    client = Client()
    client.force_login(user)
    return client


def act(client, action, server, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [server.pk], **extra})


def test_terminating_shows_a_confirmation_first_and_changes_nothing(server):
    client = staff_client("terminate_server")
    response = act(client, "terminate_servers", server)
    assert response.status_code == 200
    assert b"DESTROYED" in response.content and b"Yes, terminate servers" in response.content
    assert not ServerOperation.objects.exists()


def test_confirming_a_termination_with_a_reason_queues_the_destroy_and_records_who(
    server, django_capture_on_commit_callbacks
):
    client = staff_client("terminate_server")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "terminate_servers", server, apply="1", reason="Abuse report #42")
    server.refresh_from_db()
    operation = ServerOperation.objects.get(server=server)
    assert (operation.action, operation.source, server.status) == ("destroy", "admin", "terminated")
    assert operation.actor.email == "staff-terminate_server@example.com"
    assert "Abuse report #42" in operation.note and "127.0.0.1" in operation.note


def test_a_termination_without_a_reason_does_nothing(server):
    act(staff_client("terminate_server"), "terminate_servers", server, apply="1", reason="  ")
    assert not ServerOperation.objects.exists()


def test_staff_without_the_permission_cannot_terminate_or_suspend(server):
    client = staff_client("suspend_server")
    act(client, "terminate_servers", server, apply="1", reason="no")
    plain = staff_client()
    act(plain, "suspend_servers", server, apply="1", reason="no")
    assert not ServerOperation.objects.exists()
    assert b"terminate_servers" not in client.get(CHANGELIST).content


def test_staff_suspend_then_unsuspend_with_reasons(server, django_capture_on_commit_callbacks):
    client = staff_client("suspend_server")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "suspend_servers", server, apply="1", reason="Chargeback")
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("suspended", "staff")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "unsuspend_servers", server, apply="1", reason="Resolved")
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("active", "")
    assert list(ServerOperation.objects.values_list("action", flat=True)) == ["stop", "start"]


def test_a_refused_decision_is_reported_and_the_others_go_on(alice, plan, server, django_capture_on_commit_callbacks):
    pending = active_server(alice, plan)
    Server.objects.filter(pk=pending.pk).update(status=Server.Status.PENDING)
    client = staff_client("suspend_server")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "suspend_servers", "_selected_action": [pending.pk, server.pk], "apply": "1", "reason": "x"},
            follow=True,
        )
    assert b"only an active server can be suspended" in response.content
    server.refresh_from_db()
    assert server.status == "suspended"


def test_the_customer_is_mailed_when_a_staff_suspension_and_its_lifting_are_carried_out(
    server, django_capture_on_commit_callbacks
):
    from django.core import mail

    client = staff_client("suspend_server")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "suspend_servers", server, apply="1", reason="Chargeback")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "unsuspend_servers", server, apply="1", reason="Resolved")
    subjects = [m.subject for m in mail.outbox if m.to == ["alice@example.com"]]
    assert subjects == [f"Your server {server} is suspended", f"Your server {server} is running again"]


def test_each_staff_decision_is_in_the_staff_audit_with_address_and_reason(server, django_capture_on_commit_callbacks):
    from security.models import StaffAction

    client = staff_client("terminate_server")
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "terminate_servers", server, apply="1", reason="Abuse report #42")
    [record] = StaffAction.objects.all()
    assert (record.action, record.target_id, record.reason, record.via) == (
        "servers.terminate_server", str(server.pk), "Abuse report #42", "admin"
    )  # fmt: skip
    assert record.actor_email == "staff-terminate_server@example.com" and record.ip_address == "127.0.0.1"


def test_a_termination_needs_a_fresh_second_factor_code_where_staff_use_one(
    server, settings, django_capture_on_commit_callbacks
):
    import time

    from django_otp.oath import TOTP

    from security.factories import verified_staff_login

    settings.STAFF_2FA_REQUIRED = True
    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    device = verified_staff_login(client, user)
    page = act(client, "terminate_servers", server)
    assert b'name="otp_code"' in page.content
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "terminate_servers", server, apply="1", reason="Abuse", otp_code=f"{totp.token():06d}")
    assert ServerOperation.objects.filter(server=server, action="destroy").exists()


def test_a_termination_with_a_wrong_second_factor_code_does_nothing(server, settings):
    from security.factories import verified_staff_login

    settings.STAFF_2FA_REQUIRED = True
    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client()
    verified_staff_login(client, user)
    act(client, "terminate_servers", server, apply="1", reason="Abuse", otp_code="000000")
    act(client, "terminate_servers", server, apply="1", reason="Abuse")
    assert not ServerOperation.objects.exists()
