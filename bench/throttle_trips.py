"""What the API throttle's count costs a request: Redis round trips and time, in process.

Anonymous GET /api/v1/plans/ through Django's test client (the whole request: middlewares,
both throttles, anon and user, which count an anonymous client by its address; one query),
then the anon throttle's `allow_request` alone, against the Redis
that CACHE_URL names and the migrated database DATABASE_URL names. The budget is set out of
reach so every request is counted and let through. Round trips are counted at the driver
boundary (each send of a command to Redis). Run it on two trees to compare before and after:

    DATABASE_URL=postgres://… CACHE_URL=redis://127.0.0.1:6379/<n> python bench/throttle_trips.py [N]
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")
os.environ.setdefault("API_THROTTLE_ANON", "100000000/min")
os.environ.setdefault("API_THROTTLE_USER", "100000000/min")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from core.throttles import AnonThrottle  # noqa: E402

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def counting_sends():
    sent = [0]
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, *args, **kwargs):
        sent[0] += 1
        return send(connection, command, *args, **kwargs)

    redis.connection.AbstractConnection.send_packed_command = counted
    return sent


def timed(call, n):
    took = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def main():
    sent = counting_sends()
    client = Client()

    def plans():
        assert client.get("/api/v1/plans/", REMOTE_ADDR="198.51.100.9").status_code == 200

    request = RequestFactory().get("/api/v1/plans/", REMOTE_ADDR="198.51.100.10")
    request.user = AnonymousUser()

    def count():
        assert AnonThrottle().allow_request(request, None)

    for name, call in (("GET /api/v1/plans/", plans), ("throttle count alone", count)):
        timed(call, 50)  # connections, the script loaded, Django's first-request work
        sent[0] = 0
        took = timed(call, REQUESTS)
        print(
            f"{name}: {REQUESTS} requests, {sent[0] / REQUESTS:.2f} Redis round trips each, "
            f"median {statistics.median(took) * 1e6:.0f} µs, mean {statistics.fmean(took) * 1e6:.0f} µs"
        )


if __name__ == "__main__":
    main()
