"""The small interface every provisioning backend implements.

A backend turns a ServerSpec into a running machine and returns where it is.
It must be idempotent per `spec.node_name` (a retry after a crash finds the
machine the first try made) and must raise only the two errors below, so the
caller knows whether trying again can help.
"""

from dataclasses import dataclass


class ProvisioningTransientError(Exception):
    """Trying again later may succeed: network trouble, rate limits, provider outages, timeouts."""


class ProvisioningPermanentError(Exception):
    """Trying again cannot succeed without a human: bad credentials, unknown size or image, bad config."""


@dataclass(frozen=True)
class ServerSpec:
    """What to build, taken from the order's snapshot (never from the live plan)."""

    server_id: int
    name: str
    order_number: str
    vcpu: int
    ram_gb: int
    disk_gb: int
    provider_size: str = ""
    provider_image: str = ""

    @property
    def node_name(self) -> str:
        # Tags the machine with the order, so the provider itself can tell us it exists.
        return "srv-" + self.order_number.lower()


@dataclass(frozen=True)
class ProvisionedServer:
    hostname: str
    ip_address: str | None
    provider_node_id: str
