"""A provisioning attempt whose database connection is lost under it (a PgBouncer or
PostgreSQL restart) is released for a retry as soon as the database answers again,
not left holding its lease (issue 27: in the cluster trial, servers being built when
PgBouncer restarted waited for their leases to expire, minutes; 17 with Libcloud)."""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from billing.factories import OrderFactory
from billing.models import Order
from outbox.models import OutboundMail
from servers.models import ProvisioningAttempt, Server, SimulatedNode
from servers.provisioning import ProvisioningTransientError
from servers.services import server_provision

from .conftest import server_for

pytestmark = [pytest.mark.postgres_only]


def admin_connection():
    params = connection.get_connection_params()
    return psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        user=params.get("user"),
        dbname=params["dbname"],
        autocommit=True,
    )


def cut_once_the_machine_exists(server_id, backend_pid, done):
    """From another connection: once the backend has made the machine (and is waiting for
    it to boot), end the provisioning worker's database session."""
    with admin_connection() as admin:
        deadline = time.monotonic() + 20
        table = SimulatedNode._meta.db_table
        while time.monotonic() < deadline:
            if admin.execute(f"SELECT 1 FROM {table} WHERE server_id = %s", [server_id]).fetchone():
                admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
                done.set()
                return
            time.sleep(0.05)


def test_an_attempt_whose_connection_is_lost_goes_back_to_pending_and_its_retry_finishes_it(
    transactional_db, settings, broker_down, alice, plan
):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 1.5  # the boot the cut happens in
    order = OrderFactory(user=alice, plan=plan, status=Order.Status.PAID, paid_at=timezone.now())
    server = server_for(order)  # the broker is down: no task ran it; the test plays the task
    connection.ensure_connection()
    cut = threading.Event()
    cutter = threading.Thread(
        target=cut_once_the_machine_exists, args=(server.pk, connection.connection.info.backend_pid, cut)
    )
    cutter.start()

    with pytest.raises(ProvisioningTransientError):
        server_provision(server.pk, retry_in_seconds=0)
    cutter.join()
    assert cut.is_set()

    server.refresh_from_db()
    assert (server.status, server.lease_until) == (Server.Status.PENDING, None)
    server_provision(server.pk, retry_in_seconds=0)  # the task's retry
    server.refresh_from_db()
    assert server.status == Server.Status.ACTIVE
    assert SimulatedNode.objects.filter(server_id=server.pk).count() == 1
    assert list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome")) == [
        (1, "transient_error"),
        (2, "succeeded"),
    ]


def test_an_attempt_whose_connection_is_lost_while_its_activation_is_written_goes_back_to_pending(
    transactional_db, settings, broker_down, alice, plan
):
    """The cut comes inside server_activate's transaction, after the server row was
    moved to active (so the Server in memory says active) and before the commit: the
    database rolled everything back, the server is still provisioning there."""
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0
    order = OrderFactory(user=alice, plan=plan, status=Order.Status.PAID, paid_at=timezone.now())
    server = server_for(order)
    mail_table = connection.ops.quote_name(OutboundMail._meta.db_table)
    with admin_connection() as admin:
        # A session that writes the "server ready" mail ends itself, once (a sequence is not rolled back).
        admin.execute("CREATE SEQUENCE cut_once")
        admin.execute(
            "CREATE FUNCTION cut_at_ready_mail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.cause_key LIKE 'server-active:%' AND nextval('cut_once') = 1 THEN "
            "PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$"
        )
        admin.execute(
            f"CREATE TRIGGER cut_at_ready_mail BEFORE INSERT ON {mail_table} "
            "FOR EACH ROW EXECUTE FUNCTION cut_at_ready_mail()"
        )
    try:
        with pytest.raises(ProvisioningTransientError):
            server_provision(server.pk, retry_in_seconds=0)
        server.refresh_from_db()
        assert (server.status, server.lease_until) == (Server.Status.PENDING, None)
        server_provision(server.pk, retry_in_seconds=0)  # the task's retry
    finally:
        with admin_connection() as admin:
            admin.execute(f"DROP TRIGGER cut_at_ready_mail ON {mail_table}")
            admin.execute("DROP FUNCTION cut_at_ready_mail()")
            admin.execute("DROP SEQUENCE cut_once")
    server.refresh_from_db()
    assert server.status == Server.Status.ACTIVE
    assert SimulatedNode.objects.filter(server_id=server.pk).count() == 1
    assert OutboundMail.objects.filter(cause_key=f"server-active:{server.pk}").count() == 1
    assert list(ProvisioningAttempt.objects.filter(server=server).values_list("number", "outcome")) == [
        (1, "transient_error"),
        (2, "succeeded"),
    ]
