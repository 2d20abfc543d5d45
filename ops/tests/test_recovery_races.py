"""Recovery beside itself and beside the periodic task, on PostgreSQL with real row locks."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from billing.models import OrderEvent
from conftest import in_threads
from ops.recovery import recover
from servers.models import Server

from .conftest import paid_order_without_server


def command_run():
    out = io.StringIO()
    call_command("recover_servers", "--yes", "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def periodic_run():
    return recover(source="periodic", include_stuck=False).as_json()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_yes_runs_recover_the_order_exactly_once(alice, plan):
    orphan = paid_order_without_server(user=alice, plan=plan)
    dry = io.StringIO()
    call_command("recover_servers", "--dry-run", "--json", stdout=dry)
    assert json.loads(dry.getvalue())["orphaned_orders"] == [orphan.number]
    assert not Server.objects.exists()

    results, errors = in_threads([command_run, command_run])
    assert not errors, errors
    created = [item for result in results for item in result["created"]]
    assert created == [{"order": orphan.number, "server": Server.objects.get(order=orphan).pk}]
    assert all(result["errors"] == [] for result in results)
    assert OrderEvent.objects.filter(order=orphan, kind="server_recovered").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_commands_and_periodic_runs_together_never_make_a_second_server(alice, plan):
    orphans = [paid_order_without_server(user=alice, plan=plan) for _ in range(5)]
    results, errors = in_threads([command_run] * 4 + [periodic_run] * 4)
    assert not errors, errors
    created = sorted(item["order"] for result in results for item in result["created"])
    assert created == sorted(order.number for order in orphans)
    for order in orphans:
        assert Server.objects.filter(order=order).count() == 1
    assert not any(result["errors"] for result in results)


def shell(*args):
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        # Provisioning messages go nowhere instead of into the shared dev queue.
        "CELERY_BROKER_URL": "memory://",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "recover_servers", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_exit_statuses_from_the_shell_are_0_then_2_then_1(alice, plan):
    orphan = paid_order_without_server(user=alice, plan=plan)
    listed = shell("--json")  # no terminal, no --yes: a dry run that says so
    assert listed.returncode == 0
    assert json.loads(listed.stdout)["dry_run"] is True and "No terminal" in listed.stderr
    assert not Server.objects.exists()

    done = shell("--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"][0]["order"] == orphan.number

    unknown = shell("--yes", "--order", "ORD-ZZZZZZZZZZ")
    assert unknown.returncode == 2
    assert "No such order: ORD-ZZZZZZZZZZ" in unknown.stderr

    broken = paid_order_without_server(user=alice, plan=plan)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION ops_test_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'simulated storage failure'; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER ops_test_refuse BEFORE INSERT ON {Server._meta.db_table} "
            "FOR EACH ROW EXECUTE FUNCTION ops_test_refuse()"
        )
    try:
        failed = shell("--yes", "--json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER ops_test_refuse ON {Server._meta.db_table}")
            cursor.execute("DROP FUNCTION ops_test_refuse()")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errors"][0]["order"] == broken.number


def expired_lease_server():
    """A server whose worker died mid-attempt an hour ago, its customer waiting since."""
    from datetime import timedelta

    from django.utils import timezone

    from servers.factories import ServerFactory
    from servers.provisioning.simulated import SimulatedBackend
    from servers.services import provisioning_claim

    server = ServerFactory(order__paid_at=timezone.now())
    long_ago = timezone.now() - timedelta(hours=1)
    provisioning_claim(server.pk, SimulatedBackend(), now=long_ago)
    Server.objects.filter(pk=server.pk).update(waiting_since=long_ago)
    return server


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_requeues_of_one_expired_lease_make_one_attempt():
    from ops.recovery import stuck_server_requeue
    from servers.models import SimulatedNode

    server = expired_lease_server()
    results, errors = in_threads([lambda: stuck_server_requeue(server.pk, source="dashboard")] * 10)
    assert not errors, errors
    server.refresh_from_db()
    assert server.status == "active"  # the requeue's task ran inline (eager Celery)
    assert list(server.attempts.values_list("number", "outcome")) == [(1, "lease_expired"), (2, "succeeded")]
    assert SimulatedNode.objects.filter(server_id=server.pk).count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_takeovers_of_one_expired_lease_make_one_attempt():
    """Redelivered tasks and sweeps racing for one expired lease: one compare-and-set wins."""
    from servers.provisioning.simulated import SimulatedBackend
    from servers.services import AttemptInProgress, provisioning_claim

    server = expired_lease_server()

    def takeover():
        try:
            return provisioning_claim(server.pk, SimulatedBackend())[1]
        except AttemptInProgress:
            return None

    results, errors = in_threads([takeover] * 10)
    assert not errors, errors
    assert [attempt.number for attempt in results if attempt] == [2]
    assert list(server.attempts.values_list("number", "outcome")) == [(1, "lease_expired"), (2, "running")]
