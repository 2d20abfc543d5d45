"""Builds real servers through Apache Libcloud (any compute provider it supports).

Configured by LIBCLOUD_PROVIDER / LIBCLOUD_KEY / LIBCLOUD_SECRET / LIBCLOUD_OPTIONS
/ LIBCLOUD_LOCATION / LIBCLOUD_IMAGE / LIBCLOUD_WAIT_SECONDS /
LIBCLOUD_IDEMPOTENCY_KWARG. The node is named after our server and its order
and looked up (by the id an earlier attempt recorded, then by that name, a node
still being built included) before anything is created, so a retry after a
timeout or a takeover after a crashed worker adopts the machine the first try
made instead of buying a second one. Where the driver takes a client token
(EC2's `ex_clienttoken`), LIBCLOUD_IDEMPOTENCY_KWARG names it and the node name
is passed there too, so the provider itself refuses a second machine even for a
create it has not listed yet.
"""

import ipaddress
from contextlib import contextmanager

from django.conf import settings
from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import InvalidCredsError, LibcloudError, ProviderError
from libcloud.compute.base import NodeAuthSSHKey
from libcloud.compute.providers import get_driver

from .base import ProvisionedServer, ProvisioningPermanentError, ProvisioningTransientError, ServerSpec

WAIT_PERIOD_SECONDS = 5
# Time for the API calls around the wait (list, create): part of max_create_seconds.
API_CALLS_SECONDS = 120
RETRYABLE_HTTP_CODES = {408, 409, 425, 429}


def error_is_transient(exc) -> bool:
    if isinstance(exc, InvalidCredsError):
        return False
    code = getattr(exc, "http_code", None) or getattr(exc, "code", None)
    if isinstance(exc, (ProviderError, BaseHTTPError)) and isinstance(code, int):
        return code >= 500 or code in RETRYABLE_HTTP_CODES
    # Network errors (requests' errors are OSErrors), timeouts, malformed answers, "timed out waiting".
    return True


@contextmanager
def provider_errors(step):
    """Re-raise what Libcloud and the network throw as our two error kinds."""
    try:
        yield
    except (LibcloudError, BaseHTTPError, OSError) as exc:
        kind = ProvisioningTransientError if error_is_transient(exc) else ProvisioningPermanentError
        raise kind(f"{step}: {type(exc).__name__}: {exc}") from exc
    except NotImplementedError as exc:  # Libcloud's answer when a driver cannot do this at all
        raise ProvisioningPermanentError(f"{step}: this provider's driver cannot do it ({exc})") from exc


def driver_connect():
    try:
        driver_class = get_driver(settings.LIBCLOUD_PROVIDER)
    except AttributeError as exc:  # libcloud's answer for an unknown provider name
        raise ProvisioningPermanentError(f"Unknown LIBCLOUD_PROVIDER {settings.LIBCLOUD_PROVIDER!r}") from exc
    credentials = [settings.LIBCLOUD_KEY] + ([settings.LIBCLOUD_SECRET] if settings.LIBCLOUD_SECRET else [])
    with provider_errors("connect"):
        return driver_class(*credentials, **settings.LIBCLOUD_OPTIONS)


def find_by_id_or_name(items, wanted, what):
    for item in items:
        if str(item.id) == wanted or item.name == wanted:
            return item
    raise ProvisioningPermanentError(f"The provider has no {what} {wanted!r}")


def size_for(driver, spec: ServerSpec):
    with provider_errors("list_sizes"):
        sizes = driver.list_sizes()
    if spec.provider_size:
        return find_by_id_or_name(sizes, spec.provider_size, "size")
    # No explicit mapping: the cheapest size with at least the plan's RAM (and vCPUs, where the provider says).
    ram_mb = spec.ram_gb * 1024
    fitting = [
        size for size in sizes if (size.ram or 0) >= ram_mb and (size.extra or {}).get("vcpus", spec.vcpu) >= spec.vcpu
    ]
    if not fitting:
        raise ProvisioningPermanentError(f"The provider has no size with {spec.vcpu} vCPU and {spec.ram_gb} GB RAM")
    return min(fitting, key=lambda size: (size.ram, size.price or 0))


def image_for(driver, spec: ServerSpec):
    wanted = spec.provider_image or settings.LIBCLOUD_IMAGE
    if not wanted:
        raise ProvisioningPermanentError("No image: set the plan's provider_image or LIBCLOUD_IMAGE")
    with provider_errors("list_images"):
        return find_by_id_or_name(driver.list_images(), wanted, "image")


def location_options(driver):
    if not settings.LIBCLOUD_LOCATION:
        return {}
    with provider_errors("list_locations"):
        return {"location": find_by_id_or_name(driver.list_locations(), settings.LIBCLOUD_LOCATION, "location")}


def address_of(node) -> str | None:
    addresses = [ip for ip in [*node.public_ips, *node.private_ips] if ip]
    valid = []
    for ip in addresses:
        try:
            valid.append(ipaddress.ip_address(ip))
        except ValueError:
            continue
    valid.sort(key=lambda ip: (ip.is_private, ip.version))  # public IPv4 first
    return str(valid[0]) if valid else None


def node_find(driver, spec: ServerSpec):
    """The server's node at the provider, whatever state it is in (a node still being built included)."""
    with provider_errors("list_nodes"):
        nodes = driver.list_nodes()
    by_id = [node for node in nodes if spec.provider_node_id and str(node.id) == spec.provider_node_id]
    by_name = [node for node in nodes if node.name in spec.node_names]
    return (by_id or by_name or [None])[0]


def create_options(driver, spec: ServerSpec) -> dict:
    options = {"size": size_for(driver, spec), "image": image_for(driver, spec), **location_options(driver)}
    if spec.ssh_keys:
        # One authorized_keys text: drivers take a single NodeAuthSSHKey, cloud-init installs every line.
        options["auth"] = NodeAuthSSHKey("\n".join(spec.ssh_keys))
    if settings.LIBCLOUD_IDEMPOTENCY_KWARG:
        options[settings.LIBCLOUD_IDEMPOTENCY_KWARG] = spec.node_name
    return options


class LibcloudBackend:
    name = "libcloud"
    # Libcloud has no call that adds a key to a running node (keys go in at create_node, and the few
    # provider-specific ex_ methods are untested here): the customer is told how to do it instead.
    adds_keys = False
    adds_keys_refusal = (
        "Our cloud provider cannot add a key to a running server. Sign in with a key already installed and "
        "append the new one to ~/.ssh/authorized_keys, or open a support ticket and we will help."
    )

    @property
    def max_create_seconds(self) -> float:
        return settings.LIBCLOUD_WAIT_SECONDS + API_CALLS_SECONDS

    def create(self, spec: ServerSpec, *, on_node_created=None) -> ProvisionedServer:
        driver = driver_connect()
        node = node_find(driver, spec)
        if node is None:
            options = create_options(driver, spec)
            with provider_errors("create_node"):
                node = driver.create_node(name=spec.node_name, **options)
        if on_node_created is not None:
            on_node_created(str(node.id))
        with provider_errors("wait_until_running"):
            [(node, _ips)] = driver.wait_until_running(
                [node], wait_period=WAIT_PERIOD_SECONDS, timeout=settings.LIBCLOUD_WAIT_SECONDS
            )
        ip_address = address_of(node)
        if ip_address is None:
            raise ProvisioningTransientError(f"Node {node.id} is running but has no address yet")
        return ProvisionedServer(
            hostname=(node.extra or {}).get("fqdn") or node.name, ip_address=ip_address, provider_node_id=str(node.id)
        )

    def node_act(self, spec: ServerSpec, step: str):
        """Find the server's node (by the provider's id, else by its tag) and call the driver's `step` on it."""
        driver = driver_connect()
        node = node_find(driver, spec)
        if node is None:
            if step == "destroy_node":
                return  # already gone: what destroying it would have achieved
            raise ProvisioningPermanentError(
                f"{step}: the provider has no node {spec.provider_node_id or spec.node_name!r}"
            )
        with provider_errors(step):
            done = getattr(driver, step)(node)
        if done is False:  # Libcloud drivers answer False when the provider declined for now
            raise ProvisioningTransientError(f"{step}: the provider did not do it for node {node.id}")

    def stop(self, spec: ServerSpec) -> None:
        self.node_act(spec, "stop_node")

    def start(self, spec: ServerSpec) -> None:
        self.node_act(spec, "start_node")

    def reboot(self, spec: ServerSpec) -> None:
        self.node_act(spec, "reboot_node")

    def resize(self, spec: ServerSpec) -> None:
        """Move the node to the spec's size with the driver's resize call. Libcloud's
        NodeDriver has none: drivers that can (DigitalOcean, Linode, OpenStack, Vultr, ...)
        offer `ex_resize_node(node, size)`; any other provider fails permanently, naming it."""
        driver = driver_connect()
        if not callable(getattr(driver, "ex_resize_node", None)):
            raise ProvisioningPermanentError(
                f"resize: the {settings.LIBCLOUD_PROVIDER!r} provider ({driver.name}) cannot resize a machine "
                "through Libcloud; resize it at the provider by hand"
            )
        node = node_find(driver, spec)
        if node is None:
            raise ProvisioningPermanentError(
                f"resize: the provider has no node {spec.provider_node_id or spec.node_name!r}"
            )
        size = size_for(driver, spec)
        if node.size is not None and str(node.size.id) == str(size.id):
            return  # an earlier attempt's resize went through: nothing left to do
        with provider_errors("ex_resize_node"):
            done = driver.ex_resize_node(node, size)
        if done is False:
            raise ProvisioningTransientError(f"ex_resize_node: the provider did not resize node {node.id} for now")

    def destroy(self, spec: ServerSpec) -> None:
        self.node_act(spec, "destroy_node")
