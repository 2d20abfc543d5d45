"""Pretends to build a server: for development, demos and tests."""

import ipaddress
import time

from django.conf import settings

from .base import ProvisionedServer, ServerSpec

# Documentation ranges (RFC 5737) and domain (RFC 2606): never a real machine.
DOCUMENTATION_NETWORKS = ("192.0.2.0", "198.51.100.0", "203.0.113.0")
HOSTNAME_DOMAIN = "servers.example.net"


def simulated_ip(server_id: int) -> str:
    """Deterministic per server id: hosts .1-.254 of each documentation /24 in turn."""
    network = DOCUMENTATION_NETWORKS[(server_id // 254) % len(DOCUMENTATION_NETWORKS)]
    return str(ipaddress.IPv4Address(network) + (server_id % 254) + 1)


class SimulatedBackend:
    name = "simulated"

    def create(self, spec: ServerSpec) -> ProvisionedServer:
        time.sleep(settings.SIMULATED_PROVISIONING_DELAY_SECONDS)
        return ProvisionedServer(
            hostname=f"{spec.name}.{HOSTNAME_DOMAIN}",
            ip_address=simulated_ip(spec.server_id),
            provider_node_id=f"sim-{spec.server_id}",
        )
