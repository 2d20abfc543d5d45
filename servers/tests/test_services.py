"""From a paid order to an active server: creation, queueing, the sweeper, the state machine."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conftest import celery_configure
from servers.factories import ServerFactory
from servers.models import ProvisioningAttempt, Server, ServerStatusChange
from servers.services import (
    AttemptInProgress,
    InvalidServerTransition,
    pending_servers_enqueue,
    provisioning_enqueue,
    server_provision,
    server_transition,
)

from .conftest import server_for

pytestmark = pytest.mark.django_db


def history(server):
    return list(server.status_changes.values_list("from_status", "to_status", "source"))


def test_a_paid_order_gets_an_active_server_with_history_and_one_email(paid_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(paid_order)
    server.refresh_from_db()
    assert server.status == "active"
    assert server.user == paid_order.user
    assert server.name == f"g-8gb-{paid_order.number[-6:].lower()}"
    assert server.hostname == f"{server.name}.servers.example.net"
    assert server.ip_address.rsplit(".", 1)[0] in ("192.0.2", "198.51.100", "203.0.113")
    assert server.provider_node_id == f"sim-{server.pk}"
    assert server.activated_at is not None and server.queued_at is not None
    assert history(server) == [
        ("", "pending", "verify"),
        ("pending", "provisioning", "worker"),
        ("provisioning", "active", "worker"),
    ]
    attempt = ProvisioningAttempt.objects.get(server=server)
    assert (attempt.number, attempt.backend, attempt.outcome) == (1, "simulated", "succeeded")
    assert attempt.finished_at >= attempt.started_at
    active_mails = [m for m in mail.outbox if "is ready" in m.subject]
    assert len(active_mails) == 1
    assert active_mails[0].to == ["alice@example.com"]
    assert server.hostname in active_mails[0].body and server.ip_address in active_mails[0].body


def test_nothing_is_queued_before_the_payment_transaction_commits(paid_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        server = server_for(paid_order)
    server.refresh_from_db()
    # Tasks run inline in tests: a task sent before commit would have provisioned it.
    assert server.status == "pending" and not ProvisioningAttempt.objects.filter(server=server).exists()
    assert len(callbacks) == 1


def test_a_second_call_for_the_same_order_returns_the_same_server(paid_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = server_for(paid_order)
        second = server_for(paid_order, source="webhook")
    assert first.pk == second.pk
    assert Server.objects.filter(order=paid_order).count() == 1
    assert ServerStatusChange.objects.filter(server=first, from_status="").count() == 1


def test_an_order_that_is_not_paid_gets_no_server(alice, plan):
    from billing.factories import OrderFactory

    order = OrderFactory(user=alice, plan=plan)
    with pytest.raises(ValueError, match="not paid"):
        server_for(order)
    assert not Server.objects.filter(order=order).exists()


def test_with_the_broker_down_enqueue_fails_fast_and_the_sweeper_provisions_later(
    paid_order, broker_down, django_capture_on_commit_callbacks
):
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(paid_order)
    assert provisioning_enqueue(server.pk) is False
    assert time.monotonic() - started < 2
    server.refresh_from_db()
    assert server.status == "pending" and server.queued_at is None

    celery_configure(task_always_eager=True)  # the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_servers_enqueue() == 1
    server.refresh_from_db()
    assert server.status == "active"


def test_the_sweeper_requeues_only_pending_servers_whose_task_never_started(django_capture_on_commit_callbacks):
    now = timezone.now()
    never_queued = ServerFactory(queued_at=None)
    queued_long_ago = ServerFactory(queued_at=now - timedelta(minutes=5))
    just_queued = ServerFactory(queued_at=now - timedelta(seconds=30))
    retry_due_later = ServerFactory(queued_at=now + timedelta(minutes=4))
    active = ServerFactory(status="active", queued_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_servers_enqueue(now=now) == 2
    statuses = dict(Server.objects.values_list("pk", "status"))
    assert statuses[never_queued.pk] == statuses[queued_long_ago.pk] == "active"
    assert statuses[just_queued.pk] == statuses[retry_due_later.pk] == "pending"
    assert statuses[active.pk] == "active"
    assert not ServerStatusChange.objects.filter(server=active).exists()


def test_a_server_another_attempt_holds_under_a_live_lease_is_not_provisioned_again():
    lease_until = timezone.now() + timedelta(minutes=5)
    server = ServerFactory(status="provisioning", lease_until=lease_until)
    with pytest.raises(AttemptInProgress) as busy:
        server_provision(server.pk)
    assert busy.value.lease_until == lease_until
    assert not ProvisioningAttempt.objects.filter(server=server).exists()
    server.refresh_from_db()
    assert server.status == "provisioning"


def test_a_transition_on_a_stale_copy_changes_nothing():
    server = ServerFactory()
    stale = Server.objects.get(pk=server.pk)
    assert server_transition(server, "provisioning", source="worker") is True
    assert server_transition(stale, "provisioning", source="worker") is False
    assert ServerStatusChange.objects.filter(server=server).count() == 1


def test_a_transition_the_state_machine_does_not_allow_is_refused():
    server = ServerFactory(status="active")
    with pytest.raises(InvalidServerTransition):
        server_transition(server, "pending", source="admin")
    server.refresh_from_db()
    assert server.status == "active"
    assert not ServerStatusChange.objects.filter(server=server).exists()


def test_every_transition_records_who_and_why(staff):
    server = ServerFactory(status="active")
    assert server_transition(server, "suspended", source="admin", actor=staff, note="abuse report")
    change = ServerStatusChange.objects.get(server=server)
    assert (change.from_status, change.to_status, change.source, change.actor, change.note) == (
        "active",
        "suspended",
        "admin",
        staff,
        "abuse report",
    )
    server.refresh_from_db()
    assert server.status == "suspended"


def test_waiting_since_survives_retries_and_restarts_when_a_failed_server_is_requeued():
    server = ServerFactory(status="pending")
    started = timezone.now() - timedelta(minutes=30)
    Server.objects.filter(pk=server.pk).update(waiting_since=started)
    server.refresh_from_db()

    for status in ("provisioning", "pending", "provisioning"):  # a transient error and its retry
        assert server_transition(server, status, source="worker")
    assert server.waiting_since == started

    assert server_transition(server, "failed", source="worker")
    assert server_transition(server, "pending", source="recover_servers")
    server.refresh_from_db()
    assert server.waiting_since > started + timedelta(minutes=29)


def test_a_worker_whose_server_was_requeued_and_claimed_again_changes_nothing(staff):
    """The ABA case: worker A's attempt is still running when staff requeue the
    server and worker B claims it; the status is "provisioning" again, but B's."""
    from servers.provisioning.base import ProvisionedServer
    from servers.provisioning.simulated import SimulatedBackend
    from servers.services import provisioning_claim, server_activate, server_provisioning_fail

    server = ServerFactory(status="pending")
    server_a, attempt_a = provisioning_claim(server.pk, SimulatedBackend())
    requeue_target = Server.objects.get(pk=server.pk)
    assert server_transition(requeue_target, "pending", source="admin", actor=staff)
    server_b, attempt_b = provisioning_claim(server.pk, SimulatedBackend())
    assert (attempt_a.number, attempt_b.number) == (1, 2)

    server_activate(server_a, attempt_a, ProvisionedServer("a.example.net", "192.0.2.1", "node-a"))
    assert server_provisioning_fail(server.pk, "A gave up", attempt=attempt_a.number).status == "provisioning"

    stored = Server.objects.get(pk=server.pk)
    assert (stored.status, stored.provisioning_attempts, stored.provider_node_id) == ("provisioning", 2, "")
    server_activate(server_b, attempt_b, ProvisionedServer("b.example.net", "192.0.2.2", "node-b"))
    stored.refresh_from_db()
    assert (stored.status, stored.provider_node_id) == ("active", "node-b")
