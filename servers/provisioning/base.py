"""The small interface every provisioning backend implements.

A backend turns a ServerSpec into a running machine and returns where it is:
`create(spec, *, on_node_created=None)`. It must be idempotent per
`spec.node_name`, the provider-side key carrying our server id: it looks the
machine up (by `spec.provider_node_id` when an earlier attempt learnt it, then
by name, including a machine still being built) before creating one, so a
retry or a takeover after a crash adopts the machine the first try made. It
calls `on_node_created(node_id)` as soon as the provider has answered a create
or a lookup, before waiting for the machine to boot. It must raise only the two
errors below, so the caller knows whether trying again can help.

It also acts on a machine it made: `stop(spec)`, `start(spec)`, `reboot(spec)` and
`destroy(spec)` find it the same way (provider id, then tag) and raise the same two
errors; destroying a machine the provider no longer has succeeds. `resize(spec)`
moves the machine to the spec's size (vcpu, ram_gb, disk_gb, provider_size), leaving
it as it found it, running or stopped.

A backend that can install one more public key on a running machine says so with
`adds_keys = True` and `add_key(spec)`, installing `spec.ssh_keys` beside the keys
already there; one that cannot has `adds_keys = False` and `adds_keys_refusal`, the
message for the customer.

`max_create_seconds` bounds one create call (the backend's own wait included):
an attempt's lease is longer than that (servers.services.provisioning_lease_seconds).
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
    # Known from an earlier attempt of this server ("" if none got that far).
    provider_node_id: str = ""
    # OpenSSH public key lines to install for the login user.
    ssh_keys: tuple = ()

    @property
    def node_name(self) -> str:
        # Tags the machine with our server and its order, so the provider itself can tell us it exists.
        return f"srv-{self.server_id}-{self.order_number.lower()}"

    @property
    def node_names(self) -> set:
        # Machines made before the name carried the server id were named after the order alone.
        return {self.node_name, "srv-" + self.order_number.lower()}


@dataclass(frozen=True)
class ProvisionedServer:
    hostname: str
    ip_address: str | None
    provider_node_id: str
