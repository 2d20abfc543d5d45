import pytest
from django.test import RequestFactory

from billing.factories import OrderFactory
from security.audit import staff_action_record
from security.models import StaffAction

pytestmark = pytest.mark.django_db


def test_a_staff_action_records_who_when_from_where_what_and_why(staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    order = OrderFactory()
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    request.user = staff
    record = staff_action_record(
        "billing.refund_order", target=order, request=request, via="admin", reason="customer asked", details={"a": 1}
    )
    record.refresh_from_db()
    assert (record.actor, record.actor_email, record.ip_address, record.via) == (
        staff,
        staff.email,
        "203.0.113.7",
        "admin",
    )
    assert (record.action, record.target_type, record.target_id, record.target_label) == (
        "billing.refund_order",
        "billing.order",
        str(order.pk),
        str(order),
    )
    assert record.reason == "customer asked" and record.details == {"a": 1} and record.created_at


def test_an_ops_command_records_without_a_request(staff):
    order = OrderFactory()
    record = staff_action_record("billing.refund_order", target=order, actor=None, via="command", reason="r")
    assert record.actor is None and record.ip_address is None and record.actor_email == ""


def test_the_record_is_read_only_in_the_admin(client, staff, settings):
    settings.STAFF_2FA_REQUIRED = False
    record = staff_action_record("billing.refund_order", target=OrderFactory(), actor=staff, via="command")
    client.force_login(staff)
    assert client.get("/admin/security/staffaction/").status_code == 200
    assert client.get("/admin/security/staffaction/add/").status_code == 403
    assert client.post(f"/admin/security/staffaction/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StaffAction.objects.count() == 1


def test_the_staff_audit_shows_what_was_done_the_object_as_a_link_and_portal_times(client, staff, settings):
    # Issue 28: an unsuspend was listed as "servers.suspend_server", and the change page's
    # header gave the time in UTC while the list gave it in the portal's time zone.
    import datetime
    from zoneinfo import ZoneInfo

    from servers.factories import ServerFactory

    settings.STAFF_2FA_REQUIRED = False
    server = ServerFactory()
    record = staff_action_record(
        "servers.suspend_server", target=server, actor=staff, via="admin", reason="paid by NEFT",
        details={"action": "unsuspend"},
    )  # fmt: skip
    at = datetime.datetime(2026, 12, 1, 23, 30, tzinfo=datetime.UTC)  # 2 Dec 05:00 in Kolkata
    StaffAction.objects.filter(pk=record.pk).update(created_at=at)
    client.force_login(staff)
    listing = client.get("/admin/security/staffaction/").text
    assert '<td class="field-done">Unsuspend</td>' in listing
    assert f'href="/admin/servers/server/{server.pk}/change/"' in listing
    assert "2 Dec 2026, 05:00" in listing
    page = client.get(f"/admin/security/staffaction/{record.pk}/change/").text
    assert "02 Dec 2026 05:00" in page and "2026-12-01 23:30" not in page
    assert "Unsuspend" in page
    assert settings.TIME_ZONE == str(ZoneInfo("Asia/Kolkata"))
