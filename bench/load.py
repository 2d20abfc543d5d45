"""Load generator, run as its own process so its threads do not share a GIL
with the fake Razorpay server inside the benchmark process.

It speaks HTTP through the standard library's http.client rather than
requests: on this 2-core machine the load generator's own CPU is taken from
the server under test, and http.client costs about a quarter as much per
request. Gunicorn's sync workers close every connection, so each request
opens its own, as a browser or Razorpay's webhook sender would.

Reads {"concurrency": N, "requests": [{"method", "url", "headers", "body"}]}
on stdin and prints {"latencies_ms": [...], "statuses": {...}, "wall_s": ..., "cpu_s": ...}
(cpu_s: this process's own CPU time, so the benchmark can subtract the load generator).
Every request is bounded by a 10 s timeout; the run ends when the list does.
"""

import http.client
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def main():
    spec = json.load(sys.stdin)
    latencies, statuses = [], {}

    def send(item):
        url = urlsplit(item["url"])
        body = (item.get("body") or "").encode()
        started = time.perf_counter()
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            connection.request(item["method"], url.path, body=body or None, headers=item.get("headers") or {})
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["concurrency"]) as pool:
        list(pool.map(send, spec["requests"]))
    json.dump(
        {
            "latencies_ms": latencies,
            "statuses": statuses,
            "wall_s": time.perf_counter() - started,
            "cpu_s": time.process_time(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
