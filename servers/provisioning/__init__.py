"""Provisioning backends, chosen by settings.PROVISIONING_BACKEND."""

from django.conf import settings

from .base import ProvisionedServer, ProvisioningPermanentError, ProvisioningTransientError, ServerSpec
from .libcloud_backend import LibcloudBackend
from .simulated import SimulatedBackend

BACKENDS = {"simulated": SimulatedBackend, "libcloud": LibcloudBackend}

__all__ = [
    "BACKENDS",
    "ProvisionedServer",
    "ProvisioningPermanentError",
    "ProvisioningTransientError",
    "ServerSpec",
    "get_backend",
]


def get_backend():
    try:
        return BACKENDS[settings.PROVISIONING_BACKEND]()
    except KeyError:
        raise ProvisioningPermanentError(f"Unknown PROVISIONING_BACKEND {settings.PROVISIONING_BACKEND!r}") from None
