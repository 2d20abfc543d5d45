"""Celery tasks for servers. Thin: load by id, call a service, decide on retry."""

import logging
import random

from celery import shared_task

from .provisioning import ProvisioningTransientError
from .services import pending_servers_enqueue, server_provision

logger = logging.getLogger("servers.tasks")

# Retry budget for transient provider errors: 15 s doubling to a 10-minute cap,
# plus up to 25% jitter, 9 retries: roughly 45-60 minutes in all. A server still
# retrying after STUCK_SERVER_MINUTES is reported as stuck (its customer has been
# waiting that long; Server.waiting_since), so staff hear of a provider outage
# long before the budget runs out and the server fails.
RETRY_BASE_SECONDS = 15
RETRY_CAP_SECONDS = 600
MAX_RETRIES = 9


def retry_countdown(retries: int) -> float:
    delay = min(RETRY_BASE_SECONDS * 2**retries, RETRY_CAP_SECONDS)
    return delay + random.uniform(0, delay / 4)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def provision_server(self, server_id):
    """Provision one server; transient errors retry with backoff, the last one fails it (and alerts)."""
    retry_in = retry_countdown(self.request.retries) if self.request.retries < self.max_retries else None
    try:
        server_provision(server_id, retry_in_seconds=retry_in)
    except ProvisioningTransientError as exc:
        raise self.retry(exc=exc, countdown=retry_in)


@shared_task
def enqueue_pending_servers():
    """Every minute: queue pending servers whose task never started."""
    return pending_servers_enqueue()
