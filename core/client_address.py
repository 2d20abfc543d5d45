"""The client's address as the portal can trust it. With TRUSTED_PROXY_COUNT = N, each
of our N proxies appended the address it received from to X-Forwarded-For, so the
client is the N-th entry from the right; anything left of it the client wrote itself.
With 0 the header is ignored: it is whatever the client chose to send. This is
DRF's rule for NUM_PROXIES, which the API throttles use with the same setting."""

import ipaddress

from django.conf import settings


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted == 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    candidate = hops[-min(trusted, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # not an address our proxy would write: the connection's own is all we know
        return remote
