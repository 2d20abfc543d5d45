"""Backend operations (stop, start, reboot, destroy): decided under the lock, carried out
by the task through the real backends (only the cloud driver is a stand-in)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from libcloud.common.types import InvalidCredsError, ServiceUnavailableError

from billing.models import Order
from core.claims import OPERATION_RETRIES
from lifecycle.renewals import renewal_order_build
from lifecycle.tests.conftest import active_server
from servers import operations
from servers.models import Server, ServerOperation
from servers.operations import (
    OperationRefused,
    operation_claim,
    operation_run,
    server_power,
    server_suspend,
    server_terminate,
    server_unsuspend,
)
from servers.services import server_spec

from .fake_cloud import fake_cloud_register

MAX_ATTEMPTS = OPERATION_RETRIES.max_attempts

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(alice, plan):
    return active_server(alice, plan)


@pytest.fixture
def cloud(settings, server):
    """The libcloud backend on the fake provider, with the server's machine running there."""
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "fake-cloud"
    settings.LIBCLOUD_KEY = "test-key"
    driver = fake_cloud_register()
    node = driver.add_node(server_spec(server).node_name)
    server.provider_node_id = node.id
    server.save(update_fields=["provider_node_id"])
    return driver


def ops_alerts():
    return [m for m in mail.outbox if m.to == ["ops@example.com"]]


def test_a_suspension_is_decided_at_once_and_the_status_follows_only_once_the_machine_stopped(
    server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        operation = server_suspend(server.pk, reason="overdue", source="billing")
    server.refresh_from_db()
    assert (server.status, server.suspension_reason, operation.status) == ("active", "overdue", "queued")

    for callback in queued:  # what the broker would run
        callback()

    server.refresh_from_db()
    operation.refresh_from_db()
    assert (server.status, server.power_state, operation.status, operation.attempts) == (
        "suspended", "stopped", "succeeded", 1
    )  # fmt: skip
    assert list(server.status_changes.values_list("to_status", "source")) == [("suspended", "worker")]


def test_suspending_twice_queues_one_stop(server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert server_suspend(server.pk, reason="overdue", source="billing") is not None
        assert server_suspend(server.pk, reason="overdue", source="billing") is None
    assert ServerOperation.objects.filter(server=server).count() == 1


def test_a_staff_suspension_replaces_an_overdue_one_without_another_stop(server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(server.pk, reason="overdue", source="billing")
        assert server_suspend(server.pk, reason="staff", source="admin") is None
    server.refresh_from_db()
    assert (server.status, server.suspension_reason) == ("suspended", "staff")
    assert ServerOperation.objects.filter(server=server).count() == 1


def test_only_an_active_server_can_be_suspended(server):
    Server.objects.filter(pk=server.pk).update(status=Server.Status.PENDING)
    with pytest.raises(OperationRefused):
        server_suspend(server.pk, reason="overdue", source="billing")


def test_lifting_a_suspension_before_the_stop_ran_cancels_the_stop(server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        stop = server_suspend(server.pk, reason="overdue", source="billing")
        assert server_unsuspend(server.pk, source="payment") is None
    stop.refresh_from_db()
    server.refresh_from_db()
    assert (stop.status, server.status, server.suspension_reason) == ("cancelled", "active", "")


def test_lifting_a_suspension_starts_the_machine_and_makes_the_server_active(
    server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        server_suspend(server.pk, reason="staff", source="admin")
    with django_capture_on_commit_callbacks(execute=True):
        start = server_unsuspend(server.pk, source="admin")
    server.refresh_from_db()
    start.refresh_from_db()
    assert (start.action, start.status) == ("start", "succeeded")
    assert (server.status, server.power_state, server.suspension_reason) == ("active", "running", "")


def test_a_stop_failing_transiently_is_retried_with_backoff_until_it_succeeds(
    cloud, server, django_capture_on_commit_callbacks
):
    cloud.action_failures["stop_node"] = [ServiceUnavailableError("busy"), ServiceUnavailableError("still busy")]
    with django_capture_on_commit_callbacks(execute=True):
        operation = server_suspend(server.pk, reason="overdue", source="billing")
    operation.refresh_from_db()
    server.refresh_from_db()
    assert (operation.status, operation.attempts) == ("succeeded", 3)
    assert [call for call, _ in cloud.action_calls] == ["stop_node"] * 3
    assert server.status == "suspended" and cloud.nodes[0].state == "stopped"
    assert not ops_alerts()


def test_a_transient_error_puts_the_operation_back_in_the_queue_due_after_the_backoff(cloud, server):
    cloud.action_failures["stop_node"] = [ServiceUnavailableError("busy")]
    operation = ServerOperation.objects.create(server=server, action="stop", purpose="suspend", source="test")
    started = timezone.now()
    with pytest.raises(operations.ProvisioningTransientError):
        operation_run(operation.pk)
    operation.refresh_from_db()
    assert operation.status == "queued" and operation.lease_until is None and "busy" in operation.last_error
    assert operation.due_at >= started + timedelta(seconds=OPERATION_RETRIES.base_seconds)


def test_a_stop_failing_permanently_alerts_staff_and_nothing_is_marked_suspended(
    cloud, server, alert_recipients, django_capture_on_commit_callbacks
):
    cloud.action_failures["stop_node"] = [InvalidCredsError("bad key")]
    with django_capture_on_commit_callbacks(execute=True):
        operation = server_suspend(server.pk, reason="overdue", source="billing")
    operation.refresh_from_db()
    server.refresh_from_db()
    assert operation.status == "failed" and "bad key" in operation.last_error
    assert server.status == "active" and server.power_state == "running"  # it still runs, and says so
    assert cloud.nodes[0].state == "running"
    [alert] = ops_alerts()
    assert f"server #{server.pk}" in alert.subject and "bad key" in alert.body
    assert server.events.filter(kind="operation_failed").exists()


def test_a_stop_failing_transiently_on_every_attempt_fails_on_the_last_and_alerts_once(
    cloud, server, alert_recipients, django_capture_on_commit_callbacks
):
    cloud.action_failures["stop_node"] = [ServiceUnavailableError(f"busy {n}") for n in range(MAX_ATTEMPTS + 5)]
    with django_capture_on_commit_callbacks(execute=True):
        operation = server_suspend(server.pk, reason="overdue", source="billing")
    operation.refresh_from_db()
    server.refresh_from_db()
    assert operation.status == "failed" and operation.attempts == MAX_ATTEMPTS
    assert server.status == "active"
    assert len(ops_alerts()) == 1


def test_an_unexpired_lease_is_not_taken_over_and_an_expired_one_is(server):
    operation = ServerOperation.objects.create(server=server, action="stop", purpose="suspend", source="test")
    first = operation_claim(operation.pk)
    assert first.attempts == 1 and first.lease_until > timezone.now()
    assert operation_claim(operation.pk) is None  # another worker holds it
    later = first.lease_until + timedelta(seconds=1)
    taken = operation_claim(operation.pk, now=later)
    assert taken is not None and taken.attempts == 2
    # The first worker's late result is not used: the operation is the second's now.
    operations.operation_succeed(first)
    operation.refresh_from_db()
    assert operation.status == "running"


def test_a_servers_operations_run_in_order(server):
    older = ServerOperation.objects.create(server=server, action="stop", purpose="power", source="test")
    newer = ServerOperation.objects.create(server=server, action="start", purpose="power", source="test")
    assert operation_claim(newer.pk) is None
    assert operation_claim(older.pk) is not None


def test_termination_destroys_the_machine_cancels_the_unpaid_renewal_and_happens_once(
    cloud, server, django_capture_on_commit_callbacks
):
    renewal = renewal_order_build(server, 1)
    renewal.save()
    with django_capture_on_commit_callbacks(execute=True):
        operation = server_terminate(server.pk, source="billing")
        assert server_terminate(server.pk, source="billing") is None
    server.refresh_from_db()
    renewal.refresh_from_db()
    operation.refresh_from_db()
    assert (server.status, server.power_state, operation.status) == ("terminated", "stopped", "succeeded")
    assert renewal.status == Order.Status.CANCELLED
    assert cloud.nodes == [] and [call for call, _ in cloud.action_calls] == ["destroy_node"]
    assert server_terminate(server.pk, source="billing") is None


def test_destroying_a_machine_the_provider_no_longer_has_succeeds(cloud, server, django_capture_on_commit_callbacks):
    cloud.nodes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        operation = server_terminate(server.pk, source="admin")
    operation.refresh_from_db()
    server.refresh_from_db()
    assert operation.status == "succeeded" and server.status == "terminated"


def test_the_machine_is_found_by_its_tag_when_the_provider_id_is_missing(
    cloud, server, django_capture_on_commit_callbacks
):
    Server.objects.filter(pk=server.pk).update(provider_node_id="")
    with django_capture_on_commit_callbacks(execute=True):
        server_power(server.pk, action="stop", source="api")
    assert cloud.nodes[0].state == "stopped"


@pytest.mark.parametrize("action,power", [("stop", "stopped"), ("start", "running"), ("reboot", "running")])
def test_a_power_action_changes_the_power_state_and_not_the_status(
    server, action, power, django_capture_on_commit_callbacks
):
    Server.objects.filter(pk=server.pk).update(power_state="stopped" if action == "start" else "running")
    with django_capture_on_commit_callbacks(execute=True):
        server_power(server.pk, action=action, source="api")
    server.refresh_from_db()
    assert (server.status, server.power_state) == ("active", power)


def test_a_power_action_is_refused_unless_the_server_is_active(server):
    Server.objects.filter(pk=server.pk).update(status=Server.Status.SUSPENDED)
    with pytest.raises(OperationRefused):
        server_power(server.pk, action="reboot", source="api")
    with pytest.raises(OperationRefused):
        server_power(server.pk, action="destroy", source="api")


def test_the_sweeper_queues_operations_whose_task_never_ran_and_expired_leases(
    server, django_capture_on_commit_callbacks
):
    now = timezone.now()
    lost = ServerOperation.objects.create(
        server=server, action="reboot", purpose="power", source="test", due_at=now - timedelta(minutes=5)
    )
    ServerOperation.objects.create(
        server=server, action="stop", purpose="power", source="test", due_at=now + timedelta(minutes=5)
    )
    assert operations.operations_sweep(now=now) == 1  # the other is waiting for its backoff
    lost.refresh_from_db()
    assert lost.status == "succeeded"  # the eager task ran it


def test_a_failed_operation_shows_on_the_dashboard_until_it_is_retried_and_succeeds(
    cloud, server, staff, alert_recipients, django_capture_on_commit_callbacks
):
    from django.test import Client

    cloud.action_failures["stop_node"] = [InvalidCredsError("bad key")]
    with django_capture_on_commit_callbacks(execute=True):
        failed = server_suspend(server.pk, reason="overdue", source="billing")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/orphaned-orders/").content.decode()
    assert "Failed server operations (1)" in page and "bad key" in page

    with django_capture_on_commit_callbacks(execute=True):
        # A retry is confirmed with a reason, as Terminate is (issue 23).
        form = {"action": "retry_operations", "_selected_action": [failed.pk], "apply": "1", "reason": "Key fixed"}
        client.post("/admin/servers/serveroperation/", form)
    server.refresh_from_db()
    assert server.status == "suspended"
    assert "Failed server operations (0)" in client.get("/admin/orphaned-orders/").content.decode()


# R2 (review): terminating a pending server must stop provisioning from building it,
# and the destroy must not crash on a server a worker claimed meanwhile.
def test_a_pending_server_whose_termination_is_decided_is_never_built(broker_down):
    from servers.factories import ServerFactory
    from servers.models import SimulatedNode
    from servers.services import server_provision

    server = ServerFactory(status=Server.Status.PENDING)
    destroy = server_terminate(server.pk, source="refund", note="Order refunded in full")
    assert destroy is not None
    server_provision(server.pk)  # the task or the sweeper reaches it before the destroy runs
    server.refresh_from_db()
    assert server.status != Server.Status.ACTIVE, "a machine was built and activated after termination was decided"
    assert not SimulatedNode.objects.filter(server_id=server.pk, destroyed_at__isnull=True).exists()
    from servers.services import pending_servers_enqueue

    assert pending_servers_enqueue(now=timezone.now() + timedelta(hours=1)) == 0  # not swept either


def test_the_destroy_of_a_server_being_provisioned_meanwhile_does_not_crash(broker_down):
    from servers.factories import ServerFactory

    server = ServerFactory(status=Server.Status.PENDING)
    destroy = server_terminate(server.pk, source="refund", note="Order refunded in full")
    Server.objects.filter(pk=server.pk).update(status=Server.Status.PROVISIONING)  # a worker claimed it meanwhile
    operation_run(destroy.pk)
    destroy.refresh_from_db()
    assert destroy.status != ServerOperation.Status.RUNNING


def test_the_destroy_of_a_pending_server_terminates_it(django_capture_on_commit_callbacks):
    from servers.factories import ServerFactory

    server = ServerFactory(status=Server.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        server_terminate(server.pk, source="refund")
    server.refresh_from_db()
    assert server.status == "terminated"


def test_a_failed_server_whose_termination_is_decided_is_not_stuck_and_not_requeued(broker_down):
    # R2 note (review): recovery must not send it back to be built.
    from ops.recovery import stuck_server_requeue
    from servers.factories import ServerFactory
    from servers.selectors import stuck_servers

    server = ServerFactory(status=Server.Status.FAILED)
    assert server in stuck_servers()
    server_terminate(server.pk, source="admin", note="Refunded")
    assert server not in stuck_servers()
    assert stuck_server_requeue(server.pk, source="recover_servers") is False
    server.refresh_from_db()
    assert server.status == Server.Status.FAILED


def test_terminating_a_server_being_provisioned_is_decided_now_and_destroys_it_once_the_build_ends(
    django_capture_on_commit_callbacks,
):
    # R9 (review): a full refund right after payment meets a server still being built.
    from servers.factories import ServerFactory

    server = ServerFactory(status=Server.Status.PROVISIONING)
    with django_capture_on_commit_callbacks(execute=True):
        destroy = server_terminate(server.pk, source="refund", note="Order refunded in full")
    assert destroy is not None
    destroy.refresh_from_db()
    assert destroy.status == "queued"  # waits for the attempt: the worker did not take it
    Server.objects.filter(pk=server.pk).update(status=Server.Status.ACTIVE)  # the build ended
    operation_run(destroy.pk)  # the sweeper's next hand-off
    server.refresh_from_db()
    assert server.status == "terminated"
