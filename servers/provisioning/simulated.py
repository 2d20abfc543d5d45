"""Pretends to build a server: for development, demos and tests.

Its "provider" is the SimulatedNode table, so it behaves like a real one where
it matters: a node outlives the worker that asked for it, keeps booting after
that worker is killed, is found again by its tag, and a second create for the
same tag makes nothing new (the unique tag is the idempotency key).
"""

import ipaddress
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .base import ProvisionedServer, ProvisioningPermanentError, ProvisioningTransientError, ServerSpec

# Documentation ranges (RFC 5737) and domain (RFC 2606): never a real machine.
DOCUMENTATION_NETWORKS = ("192.0.2.0", "198.51.100.0", "203.0.113.0")
HOSTNAME_DOMAIN = "servers.example.net"


def simulated_ip(server_id: int) -> str:
    """Deterministic per server id: hosts .1-.254 of each documentation /24 in turn."""
    network = DOCUMENTATION_NETWORKS[(server_id // 254) % len(DOCUMENTATION_NETWORKS)]
    return str(ipaddress.IPv4Address(network) + (server_id % 254) + 1)


def simulated_size(spec: ServerSpec) -> str:
    return spec.provider_size or f"{spec.vcpu} vCPU, {spec.ram_gb} GB RAM, {spec.disk_gb} GB disk"


def simulated_failure_take(node):
    """Raise the node's next injected failure, if any (taken under its row lock: once)."""
    from servers.models import SimulatedNode

    with transaction.atomic():
        locked = SimulatedNode.objects.select_for_update().get(pk=node.pk)
        if not locked.failures:
            return
        failure, locked.failures = locked.failures[0], locked.failures[1:]
        locked.save(update_fields=["failures"])
    error = ProvisioningPermanentError if failure == "permanent" else ProvisioningTransientError
    raise error(f"The simulated provider failed on node {node.node_id} ({failure}, injected)")


def simulated_node_find(spec: ServerSpec):
    from servers.models import SimulatedNode

    nodes = SimulatedNode.objects.filter(destroyed_at__isnull=True)
    if spec.provider_node_id:
        node = nodes.filter(node_id=spec.provider_node_id).first()
        if node is not None:
            return node
    return nodes.filter(tag__in=spec.node_names).first()


def simulated_node_create(spec: ServerSpec):
    """The provider's create call: returns at once with a node that boots for
    SIMULATED_PROVISIONING_DELAY_SECONDS. A create racing another for the same
    tag gets the other's node."""
    from servers.models import SimulatedNode

    node = SimulatedNode(
        tag=spec.node_name,
        node_id=f"sim-{spec.server_id}",
        server_id=spec.server_id,
        hostname=f"{spec.name}.{HOSTNAME_DOMAIN}",
        ip_address=simulated_ip(spec.server_id),
        ssh_keys=list(spec.ssh_keys),
        size=simulated_size(spec),
        ready_at=timezone.now() + timedelta(seconds=settings.SIMULATED_PROVISIONING_DELAY_SECONDS),
    )
    try:
        with transaction.atomic():
            node.save()
    except IntegrityError:
        return SimulatedNode.objects.get(tag=spec.node_name)
    return node


class SimulatedBackend:
    name = "simulated"
    adds_keys = True
    adds_keys_refusal = ""

    @property
    def max_create_seconds(self) -> float:
        return settings.SIMULATED_PROVISIONING_DELAY_SECONDS

    def create(self, spec: ServerSpec, *, on_node_created=None) -> ProvisionedServer:
        node = simulated_node_find(spec) or simulated_node_create(spec)
        if on_node_created is not None:
            on_node_created(node.node_id)
        # Wait for the boot, however much of it an earlier (killed) attempt already waited.
        remaining = (node.ready_at - timezone.now()).total_seconds()
        if remaining > 0:
            time.sleep(remaining)
        return ProvisionedServer(hostname=node.hostname, ip_address=node.ip_address, provider_node_id=node.node_id)

    # Acting on a pretend machine: the node row changes as a provider's console would show it.
    def node_act(self, spec: ServerSpec, **changes):
        from servers.models import SimulatedNode

        node = simulated_node_find(spec)
        if node is None:
            if "destroyed_at" in changes:
                return  # already gone
            raise ProvisioningPermanentError(
                f"The simulated provider has no node {spec.provider_node_id or spec.node_name!r}"
            )
        simulated_failure_take(node)
        time.sleep(settings.SIMULATED_PROVISIONING_DELAY_SECONDS)
        SimulatedNode.objects.filter(pk=node.pk).update(**changes)

    def stop(self, spec: ServerSpec) -> None:
        self.node_act(spec, power_state="stopped")

    def start(self, spec: ServerSpec) -> None:
        self.node_act(spec, power_state="running")

    def reboot(self, spec: ServerSpec) -> None:
        self.node_act(spec, power_state="running")

    def resize(self, spec: ServerSpec) -> None:
        """Resize to the spec's size; the machine comes back as it was (running or stopped)."""
        self.node_act(spec, size=simulated_size(spec))

    def destroy(self, spec: ServerSpec) -> None:
        self.node_act(spec, power_state="stopped", destroyed_at=timezone.now())

    def add_key(self, spec: ServerSpec) -> None:
        """Append `spec.ssh_keys` to the node's authorized keys, each once (a retry adds nothing twice)."""
        node = simulated_node_find(spec)
        installed = list(node.ssh_keys) if node is not None else []
        self.node_act(spec, ssh_keys=installed + [line for line in spec.ssh_keys if line not in installed])
