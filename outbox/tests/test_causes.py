"""The portal's mail is written with its cause: a broker that is down when the cause
commits delays a mail, it never loses one (issue 18: 4 of 40 "server active" mails lost)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from outbox.models import OutboundMail
from outbox.services import outbox_sweep
from servers.models import Server
from servers.services import server_provision
from servers.tests.conftest import paid_order, server_for  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _instant_simulated_provisioning(settings):
    settings.SIMULATED_PROVISIONING_DELAY_SECONDS = 0


def test_server_mails_written_while_the_broker_is_down_are_sent_once_by_the_sweeper(
    paid_order,  # noqa: F811
    broker_down,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        server = server_for(paid_order)
        server_provision(server.pk)  # the worker runs it: its own hand-offs of the mails fail
    server.refresh_from_db()
    assert server.status == Server.Status.ACTIVE
    assert mail.outbox == [], "the broker was down: nothing could be handed to the worker"
    rows = dict(OutboundMail.objects.values_list("cause_key", "status"))
    assert rows == {f"payment-received:{paid_order.pk}": "queued", f"server-active:{server.pk}": "queued"}

    later = timezone.now() + timedelta(minutes=2)
    assert outbox_sweep(now=later) == {"sent": 2}
    assert outbox_sweep(now=later + timedelta(minutes=10)) == {}
    assert sorted(m.subject for m in mail.outbox) == [
        f"Payment received for order {paid_order.number}",
        f"Your server {server.hostname} is ready",
    ]
