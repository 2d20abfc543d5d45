"""Celery tasks for servers. Thin: load by id, call a service, decide on retry."""

import logging
import random

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core.claims import OPERATION_RETRIES, PROVISIONING_RETRIES
from core.periodic import periodic_job
from core.queueing import enqueue

from .operations import operation_enqueue, operation_run, operations_sweep
from .provisioning import BACKENDS, ProvisioningTransientError
from .services import AttemptInProgress, pending_servers_enqueue, provisioning_time_limit_seconds, server_provision

logger = logging.getLogger("servers.tasks")

# Retry budget for transient provider errors (core.claims.PROVISIONING_RETRIES):
# 15 s doubling to a 10-minute cap, plus up to 25% jitter, 9 retries: roughly
# 45-60 minutes in all. A server still retrying after STUCK_SERVER_MINUTES is
# reported as stuck (its customer has been waiting that long; Server.waiting_since),
# so staff hear of a provider outage long before the budget runs out and the server fails.
MAX_RETRIES = PROVISIONING_RETRIES.max_attempts - 1


def retry_countdown(retries: int) -> float:
    delay = PROVISIONING_RETRIES.delay_seconds(retries + 1)
    return delay + random.uniform(0, delay / 4)


def provision_time_limit():
    backend = BACKENDS.get(settings.PROVISIONING_BACKEND)
    return provisioning_time_limit_seconds(backend()) if backend else None


# acks_late + reject_on_worker_lost: a worker killed mid-attempt leaves its
# message to be delivered again (at once when only a pool child died; after the
# broker's visibility timeout when the whole worker did), and the sweeper queues
# any server whose lease expired. The hard time limit sits inside the lease, so
# a hung attempt is killed before another may take its server over.
@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES, time_limit=provision_time_limit()
)
def provision_server(self, server_id):
    """Provision one server; transient errors retry with backoff, the last one fails it (and alerts).
    A server whose attempt still holds its lease is looked at again when the lease
    runs out, and taken over then if that attempt's worker is gone."""
    retry_in = retry_countdown(self.request.retries) if self.request.retries < self.max_retries else None
    try:
        server_provision(server_id, retry_in_seconds=retry_in)
    except ProvisioningTransientError as exc:
        raise self.retry(exc=exc, countdown=retry_in)
    except AttemptInProgress as busy:
        wait = max((busy.lease_until - timezone.now()).total_seconds(), 0) + 1
        if self.request.is_eager:
            # Run inline (no broker to wait on): the sweeper takes the server over once the lease expires.
            logger.info("provision_busy server=%s lease_until=%s", server_id, busy.lease_until.isoformat())
            return
        logger.info("provision_busy server=%s lease_until=%s recheck_in=%.0fs", server_id, busy.lease_until, wait)
        enqueue(provision_server, server_id, countdown=wait)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=OPERATION_RETRIES.max_attempts)
def run_server_operation(self, operation_id):
    """Carry out a stop/start/reboot/destroy decision; transient errors retry with
    backoff, the last attempt fails it and alerts (servers.operations)."""
    try:
        operation_run(operation_id, final_attempt=self.request.retries >= self.max_retries)
    except ProvisioningTransientError as exc:
        raise self.retry(exc=exc, countdown=OPERATION_RETRIES.delay_seconds(self.request.retries + 1))


@shared_task
def dispatch_server_operations(operation_ids, bulk=False):
    """A batch of operations decided together (run_billing): one task each."""
    for operation_id in operation_ids:
        if not operation_enqueue(operation_id, bulk=bulk):
            break  # the broker is down; the sweeper queues the rest


@shared_task
@periodic_job
def sweep_server_operations():
    """Every minute: operations whose task never ran, or whose worker's lease expired."""
    return operations_sweep()


@shared_task
@periodic_job
def enqueue_pending_servers():
    """Every minute: queue pending servers whose task never started."""
    return pending_servers_enqueue()
