"""A mail sent while the database connection is lost under the sender (a PgBouncer or
PostgreSQL restart) is marked sent on a fresh connection, not sent again once its lease
expires (issue 27: the cluster trial's PgBouncer restart sent one "payment received" twice)."""

from datetime import timedelta

import psycopg
import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.utils import timezone

from outbox.models import OutboundMail
from outbox.services import LEASE_SECONDS, mail_deliver, mail_queue, outbox_sweep

pytestmark = [pytest.mark.postgres_only]

SENT = []


class ConnectionCuttingBackend(LocmemBackend):
    """Hands the message over, then ends the sender's database session from another
    connection, as a pooler's restart would between the send and the row's update."""

    def send_messages(self, messages):
        SENT.extend(message.subject for message in messages)
        backend_pid = connection.connection.info.backend_pid
        params = connection.get_connection_params()
        with psycopg.connect(
            host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"]
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        return len(messages)


def test_a_mail_whose_connection_is_lost_after_the_send_is_marked_sent_and_not_sent_again(transactional_db, settings):
    settings.EMAIL_BACKEND = f"{__name__}.ConnectionCuttingBackend"
    SENT.clear()
    queued = mail_queue("test:cut:1", to=["a@example.com"], subject="Payment received", body="b", by_sweeper=True)

    assert mail_deliver(queued.pk, first_attempt=True) == "sent"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert OutboundMail.objects.get(pk=queued.pk).status == OutboundMail.Status.SENT
    outbox_sweep(now=timezone.now() + timedelta(seconds=LEASE_SECONDS + 60), seconds=5)
    assert SENT == ["Payment received"]
