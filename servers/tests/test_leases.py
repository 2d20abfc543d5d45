"""Provisioning attempts hold a lease; only an expired lease is taken over, and a
takeover finds the machine at the provider before creating anything.

Time is moved by the services' `now` argument and by the rows' data."""

from datetime import timedelta

import pytest
from django.utils import timezone
from libcloud.compute.base import Node
from libcloud.compute.types import NodeState

from servers.factories import ServerFactory
from servers.models import ProvisioningAttempt, Server, SimulatedNode
from servers.provisioning.base import ProvisionedServer
from servers.provisioning.libcloud_backend import LibcloudBackend
from servers.provisioning.simulated import SimulatedBackend, simulated_node_create
from servers.selectors import stuck_servers
from servers.services import (
    AttemptInProgress,
    pending_servers_enqueue,
    provisioning_claim,
    provisioning_lease_seconds,
    server_activate,
    server_provision,
    server_spec,
)

from .fake_cloud import fake_cloud_register

pytestmark = pytest.mark.django_db


def outcomes(server):
    return list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome"))


def claimed_long_ago(server, backend=None):
    """Worker A claimed the server and died: its lease ran out a while ago."""
    backend = backend or SimulatedBackend()
    then = timezone.now() - timedelta(seconds=provisioning_lease_seconds(backend) + 60)
    return provisioning_claim(server.pk, backend, now=then)


def test_a_claim_writes_a_lease_longer_than_the_backends_own_wait_on_the_server_and_the_attempt(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 30
    settings.PROVISIONING_LEASE_MARGIN_SECONDS = 300
    now = timezone.now()
    server, attempt = provisioning_claim(ServerFactory().pk, SimulatedBackend(), now=now)
    assert server.lease_until == attempt.lease_until == now + timedelta(seconds=330)
    stored = Server.objects.get(pk=server.pk)
    assert (stored.status, stored.lease_until) == ("provisioning", now + timedelta(seconds=330))
    assert attempt.worker.rsplit(":", 1)[1].isdigit()
    # Libcloud waits LIBCLOUD_WAIT_SECONDS for the node, plus its API calls: the lease outlasts both.
    assert provisioning_lease_seconds(LibcloudBackend()) > settings.LIBCLOUD_WAIT_SECONDS + 300


def test_a_live_lease_is_never_taken_over(settings):
    server = ServerFactory()
    now = timezone.now()
    _, attempt = provisioning_claim(server.pk, SimulatedBackend(), now=now)
    just_before_expiry = attempt.lease_until - timedelta(seconds=1)
    with pytest.raises(AttemptInProgress):
        server_provision(server.pk, now=just_before_expiry)
    assert outcomes(server) == [(1, "running")]
    assert not SimulatedNode.objects.filter(server_id=server.pk).exists()


def test_an_expired_lease_is_taken_over_and_the_server_ends_active_with_one_machine():
    server = ServerFactory()
    claimed_long_ago(server)
    server_provision(server.pk)
    server.refresh_from_db()
    assert (server.status, server.lease_until, server.provisioning_attempts) == ("active", None, 2)
    assert outcomes(server) == [(1, "lease_expired"), (2, "succeeded")]
    assert "took over" in ProvisioningAttempt.objects.get(server=server, number=1).error
    assert SimulatedNode.objects.filter(server_id=server.pk).count() == 1
    # A takeover keeps the status: the customer's timeline shows one provisioning, one active.
    assert list(server.status_changes.values_list("to_status", flat=True)) == ["provisioning", "active"]


def test_a_takeover_adopts_the_machine_the_dead_attempt_started_while_it_is_still_being_built(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 1
    server = ServerFactory()
    dead, _ = claimed_long_ago(server)
    building = simulated_node_create(server_spec(dead))  # the dead worker's create call got that far
    assert building.ready_at > timezone.now()
    server_provision(server.pk)
    server.refresh_from_db()
    assert server.status == "active"
    assert list(SimulatedNode.objects.filter(server_id=server.pk).values_list("node_id", flat=True)) == [
        building.node_id
    ]
    assert server.provider_node_id == building.node_id
    assert timezone.now() >= building.ready_at  # it waited for the build instead of starting another


def test_the_sweeper_hands_an_expired_lease_to_a_worker_and_leaves_a_live_one_alone():
    dead = ServerFactory()
    claimed_long_ago(dead)
    alive = ServerFactory()
    provisioning_claim(alive.pk, SimulatedBackend())
    assert pending_servers_enqueue() == 1  # the task runs inline here and takes the dead one over
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == "active" and outcomes(dead) == [(1, "lease_expired"), (2, "succeeded")]
    assert alive.status == "provisioning" and outcomes(alive) == [(1, "running")]


def test_a_slow_worker_whose_lease_was_taken_over_changes_nothing_when_it_finishes():
    server = ServerFactory()
    slow_server, slow_attempt = claimed_long_ago(server)
    new_server, new_attempt = provisioning_claim(server.pk, SimulatedBackend())
    assert (slow_attempt.number, new_attempt.number) == (1, 2)

    server_activate(slow_server, slow_attempt, ProvisionedServer("slow.example.net", "192.0.2.9", "node-slow"))
    stored = Server.objects.get(pk=server.pk)
    assert (stored.status, stored.provider_node_id) == ("provisioning", "")
    assert outcomes(server) == [(1, "lease_expired"), (2, "running")]

    server_activate(new_server, new_attempt, ProvisionedServer("new.example.net", "192.0.2.10", "node-new"))
    stored.refresh_from_db()
    assert (stored.status, stored.provider_node_id) == ("active", "node-new")


def test_stuck_means_an_expired_lease_never_a_running_attempt(settings):
    running, expired = ServerFactory(), ServerFactory()
    provisioning_claim(running.pk, SimulatedBackend())
    claimed_long_ago(expired)
    long_ago = timezone.now() - timedelta(minutes=40)
    Server.objects.filter(pk__in=[running.pk, expired.pk]).update(waiting_since=long_ago)
    assert list(stuck_servers()) == [expired]


@pytest.fixture
def fake_cloud(settings):
    settings.PROVISIONING_BACKEND = "libcloud"
    settings.LIBCLOUD_PROVIDER = "fake-cloud"
    settings.LIBCLOUD_KEY = "test-key"
    settings.LIBCLOUD_IMAGE = "Ubuntu 9.10"
    return fake_cloud_register()


def test_a_libcloud_takeover_finds_the_node_still_being_built_by_its_name_and_creates_nothing(fake_cloud):
    server = ServerFactory()
    dead, _ = claimed_long_ago(server, LibcloudBackend())
    building = Node(
        id="fake-77",
        name=server_spec(dead).node_name,
        state=NodeState.PENDING,
        public_ips=["198.51.100.77"],
        private_ips=[],
        driver=fake_cloud("test-key"),
    )
    fake_cloud.nodes.append(building)
    server_provision(server.pk)
    server.refresh_from_db()
    assert (server.status, server.provider_node_id, server.ip_address) == ("active", "fake-77", "198.51.100.77")
    assert fake_cloud.create_calls == 0 and len(fake_cloud.nodes) == 1


def test_a_libcloud_takeover_finds_the_node_by_the_id_the_dead_attempt_recorded(fake_cloud):
    server = ServerFactory()
    claimed_long_ago(server, LibcloudBackend())
    # The provider renamed it (or lists it under another name): the recorded id still finds it.
    fake_cloud.nodes.append(
        Node(
            id="fake-5",
            name="renamed",
            state=NodeState.RUNNING,
            public_ips=["198.51.100.5"],
            private_ips=[],
            driver=fake_cloud("test-key"),
        )
    )
    Server.objects.filter(pk=server.pk).update(provider_node_id="fake-5")
    server_provision(server.pk)
    server.refresh_from_db()
    assert (server.status, server.provider_node_id) == ("active", "fake-5")
    assert fake_cloud.create_calls == 0


def test_every_libcloud_create_carries_the_idempotency_key_and_the_node_id_is_recorded_before_the_wait(
    fake_cloud, settings
):
    settings.LIBCLOUD_IDEMPOTENCY_KWARG = "ex_clienttoken"
    server = ServerFactory()
    server_provision(server.pk)
    server.refresh_from_db()
    [node] = fake_cloud.nodes
    assert fake_cloud.create_kwargs == [{"ex_clienttoken": f"srv-{server.pk}-{server.order.number.lower()}"}]
    assert node.name == f"srv-{server.pk}-{server.order.number.lower()}"
    assert ProvisioningAttempt.objects.get(server=server).provider_node_id == node.id == server.provider_node_id
