"""Issue 23 item 12: running operations past their expected time are shown to staff (the ops
dashboard, recover_servers, an incident) and one whose worker is gone is handed on.
Failed on the code before: only provisioning was looked at."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lifecycle.tests.conftest import active_server
from ops.incidents import incidents_sync
from servers.models import ServerOperation
from servers.operations import operation_claim

from .test_recover_servers import CONTRACT_KEYS, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _instant_simulated_backend(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


@pytest.fixture
def stranded(alice, plan):
    """A stop claimed 20 minutes ago by a worker that is gone: its lease ran out."""
    server = active_server(alice, plan)
    operation = ServerOperation.objects.create(server=server, action="stop", purpose="suspend", source="test")
    operation_claim(operation.pk)
    ServerOperation.objects.filter(pk=operation.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=20), lease_until=timezone.now() - timedelta(minutes=18)
    )
    operation.refresh_from_db()
    assert operation.status == "running" and operation.lease_until < timezone.now()
    return operation


def test_recover_servers_lists_an_overdue_operation_and_hands_on_the_one_whose_lease_ran_out(stranded):
    status, out, _ = run("--dry-run", "--json")
    body = json.loads(out)
    assert status == 0 and CONTRACT_KEYS <= set(body)
    assert body["overdue_operations"] == [stranded.pk] and body["operations_requeued"] == []

    status, out, _ = run("--dry-run")
    assert f"op #{stranded.pk}" in out and "lease expired" in out

    status, out, _ = run("--yes", "--json")
    body = json.loads(out)
    assert body["operations_requeued"] == [stranded.pk]
    stranded.refresh_from_db()
    assert stranded.status == "succeeded" and stranded.attempts == 2  # taken over, and done


def test_the_dashboard_and_the_detectors_show_an_operation_running_past_its_expected_time(staff, stranded):
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/orphaned-orders/").content.decode()
    assert "Server operations running past their expected time (1)" in page
    assert f"#{stranded.pk}</a>" in page
    assert f"operation-overdue:{stranded.pk}" in incidents_sync()["open"]


def test_an_operation_within_its_expected_time_and_lease_is_not_overdue(alice, plan):
    server = active_server(alice, plan)
    operation = ServerOperation.objects.create(server=server, action="stop", purpose="suspend", source="test")
    operation_claim(operation.pk)
    status, out, _ = run("--dry-run", "--json")
    assert "overdue_operations" not in json.loads(out)
