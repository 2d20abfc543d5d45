"""Load generator, run as its own process so its threads do not share a GIL
with the fake Razorpay server inside the benchmark process.

Reads {"concurrency": N, "requests": [{"method", "url", "headers", "body"}]}
on stdin and prints {"latencies_ms": [...], "statuses": {...}, "wall_s": ..., "cpu_s": ...}
(cpu_s: this process's own CPU time, so the benchmark can subtract the load generator).
Every request is bounded by a 10 s timeout; the run ends when the list does.
"""

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests


def main():
    spec = json.load(sys.stdin)
    local = threading.local()
    latencies, statuses = [], {}

    def send(item):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = session.request(
            item["method"],
            item["url"],
            headers=item.get("headers") or {},
            data=(item.get("body") or "").encode(),
            timeout=10,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

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
