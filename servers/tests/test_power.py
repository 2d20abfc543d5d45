"""The customer's reboot, stop and start: POST /api/v1/servers/<id>/actions/ and the server page.

Carried out by lifecycle's operations through the (simulated) backend; these
tests check who may ask, when, how often, and that power_state and the
timeline follow."""

import pytest
from django.utils import timezone

from billing.factories import OrderFactory
from servers.models import Server, ServerEvent, ServerOperation, SimulatedNode
from servers.services import server_provision

from .conftest import server_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_server(alice, plan):
    order = OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now())
    server = server_for(order)
    server_provision(server.pk)
    server.refresh_from_db()
    assert server.status == "active"
    return server


def act(api, server, action, capture):
    with capture(execute=True):  # the operation's task runs after commit (inline here)
        return api.post(f"/api/v1/servers/{server.pk}/actions/", {"action": action}, format="json")


def test_stop_then_start_are_queued_carried_out_and_power_state_follows(
    api, alice, active_server, django_capture_on_commit_callbacks
):
    response = act(api, active_server, "stop", django_capture_on_commit_callbacks)
    assert response.status_code == 202 and response.json() == {"action": "stop", "status": "queued"}
    active_server.refresh_from_db()
    assert active_server.power_state == "stopped"
    assert SimulatedNode.objects.get(server_id=active_server.pk).power_state == "stopped"
    assert api.get(f"/api/v1/servers/{active_server.pk}/").json()["power_state"] == "stopped"

    assert act(api, active_server, "start", django_capture_on_commit_callbacks).status_code == 202
    active_server.refresh_from_db()
    assert active_server.power_state == "running"
    operation = ServerOperation.objects.filter(server=active_server).order_by("pk").first()
    assert (operation.action, operation.purpose, operation.status, operation.actor) == (
        "stop",
        "power",
        "succeeded",
        alice,
    )
    kinds = list(ServerEvent.objects.filter(server=active_server).values_list("kind", "actor"))
    assert kinds == [
        ("stop_requested", alice.pk),
        ("power_stop", None),
        ("start_requested", alice.pk),
        ("power_start", None),
    ]


def test_a_reboot_is_on_the_timeline_with_who_asked_and_that_it_was_done(
    client, alice, active_server, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(f"/servers/{active_server.pk}/actions/", {"action": "reboot", "confirmed": "yes"})
    assert posted.status_code == 302
    response = client.get(posted["Location"])
    page = response.content.decode()
    assert response.status_code == 200 and "Reboot requested" in page and "Rebooted" in page
    assert "by alice@example.com" in page


def test_another_customers_server_is_404_on_the_api_and_the_page(client, bob, bob_api, active_server):
    assert bob_api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": "reboot"}).status_code == 404
    client.force_login(bob)
    assert client.post(f"/servers/{active_server.pk}/actions/", {"action": "reboot"}).status_code == 404
    assert not ServerOperation.objects.exists()


@pytest.mark.parametrize("status", ["suspended", "terminated", "pending", "failed"])
def test_a_server_that_is_not_active_is_409_with_the_reason(api, active_server, status):
    Server.objects.filter(pk=active_server.pk).update(status=status)
    response = api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": "reboot"}, format="json")
    assert response.status_code == 409 and "need an active server" in response.json()["detail"]
    assert not ServerOperation.objects.exists()


@pytest.mark.parametrize("body", [{"action": "destroy"}, {"action": ""}, {}, {"action": ["reboot"]}])
def test_another_action_is_400(api, active_server, body):
    assert api.post(f"/api/v1/servers/{active_server.pk}/actions/", body, format="json").status_code == 400
    assert not ServerOperation.objects.exists()


def test_at_most_one_operation_is_in_flight_per_server(api, active_server, broker_down):
    """The broker is down: the first operation stays queued, as while a worker is busy with it."""
    assert api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": "reboot"}).status_code == 202
    second = api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": "stop"})
    assert second.status_code == 409 and "already has a reboot queued" in second.json()["detail"]
    assert ServerOperation.objects.count() == 1


def test_starting_a_running_server_or_stopping_a_stopped_one_is_409(api, active_server):
    assert api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": "start"}).status_code == 409
    Server.objects.filter(pk=active_server.pk).update(power_state="stopped")
    for action in ("stop", "reboot"):
        assert api.post(f"/api/v1/servers/{active_server.pk}/actions/", {"action": action}).status_code == 409


def test_a_customer_is_limited_to_so_many_power_actions_an_hour_over_all_their_servers(
    settings, api, alice, plan, active_server, django_capture_on_commit_callbacks
):
    settings.POWER_ACTIONS_PER_HOUR = 2
    other = server_for(OrderFactory(user=alice, plan=plan, status="paid", paid_at=timezone.now()))
    server_provision(other.pk)
    assert act(api, active_server, "reboot", django_capture_on_commit_callbacks).status_code == 202
    assert act(api, other, "reboot", django_capture_on_commit_callbacks).status_code == 202
    limited = act(api, active_server, "reboot", django_capture_on_commit_callbacks)
    assert limited.status_code == 429 and "2 power actions in the last hour" in limited.json()["detail"]
    assert 3500 < int(limited["Retry-After"]) <= 3601
    assert ServerOperation.objects.count() == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_requests_on_one_server_make_one_operation(alice, broker_down):
    from conftest import in_threads
    from servers.factories import ServerFactory
    from servers.power import PowerActionRefused, power_request

    server = ServerFactory(order__user=alice, status="active")

    def ask():
        try:
            return power_request(server.pk, action="reboot", user=alice, source="api")
        except PowerActionRefused as exc:
            return exc

    results, errors = in_threads([ask] * 10)
    assert not errors, errors
    assert len([r for r in results if isinstance(r, ServerOperation)]) == 1
    assert ServerOperation.objects.filter(server=server).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_for_concurrent_requests_on_several_servers(settings, alice, broker_down):
    from conftest import in_threads
    from servers.factories import ServerFactory
    from servers.power import PowerRateLimited, power_request

    settings.POWER_ACTIONS_PER_HOUR = 3
    servers = [ServerFactory(order__user=alice, status="active") for _ in range(8)]

    def ask(server):
        try:
            return power_request(server.pk, action="reboot", user=alice, source="api")
        except PowerRateLimited as exc:
            return exc

    results, errors = in_threads([lambda s=s: ask(s) for s in servers])
    assert not errors, errors
    assert ServerOperation.objects.filter(actor=alice).count() == 3
    assert len([r for r in results if isinstance(r, PowerRateLimited)]) == 5


@pytest.mark.parametrize(
    "action, says", [("stop", "anything they held only in memory is lost"), ("reboot", "connections to it drop")]
)
def test_stop_and_reboot_from_the_page_ask_once_more_saying_what_happens_to_running_work(
    client, alice, active_server, action, says
):
    client.force_login(alice)
    asked = client.post(f"/servers/{active_server.pk}/actions/", {"action": action})
    page = asked.content.decode()
    assert asked.status_code == 200 and says in page
    assert 'name="confirmed" value="yes"' in page and "No, leave it running" in page
    assert not ServerOperation.objects.exists()
    done = client.post(f"/servers/{active_server.pk}/actions/", {"action": action, "confirmed": "yes"})
    assert done.status_code == 302
    assert ServerOperation.objects.filter(server=active_server, action=action).count() == 1
