"""Staff see every provisioning attempt and operation with its lease, outcome and error."""

from datetime import timedelta

import pytest
from django.utils import timezone

from servers.factories import ServerFactory
from servers.models import ServerOperation
from servers.provisioning.simulated import SimulatedBackend
from servers.services import provisioning_claim, server_provision

pytestmark = pytest.mark.django_db


def test_attempts_show_their_lease_outcome_worker_and_error(client, staff):
    dead = ServerFactory()
    provisioning_claim(dead.pk, SimulatedBackend(), now=timezone.now() - timedelta(hours=1))
    server_provision(dead.pk)  # takes the expired lease over
    running = ServerFactory()
    provisioning_claim(running.pk, SimulatedBackend())
    client.force_login(staff)
    page = client.get("/admin/servers/provisioningattempt/").content.decode()
    assert "Lease Expired" in page
    assert "Lease expired; attempt 2 took over" in page
    assert "held, " in page and " left" in page  # the running attempt's live lease
    assert "Succeeded" in page


def test_operations_show_their_lease_outcome_and_error(client, staff, alice):
    server = ServerFactory(order__user=alice, status="active")
    ServerOperation.objects.create(
        server=server, action="reboot", purpose="power", status="failed", source="api", actor=alice,
        last_error="Provider said: node is locked", finished_at=timezone.now(),
    )  # fmt: skip
    ServerOperation.objects.create(
        server=server, action="stop", purpose="power", status="running", source="api",
        lease_until=timezone.now() - timedelta(minutes=1),
    )  # fmt: skip
    client.force_login(staff)
    page = client.get("/admin/servers/serveroperation/").content.decode()
    assert "Provider said: node is locked" in page and "expired" in page and "alice@example.com" in page
