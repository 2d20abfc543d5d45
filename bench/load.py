"""Load generator, run as its own process so its threads do not share a GIL
with the fake Razorpay server inside the benchmark process.

On this 2-core machine every millisecond the load generator spends is taken
from the server under test, so it is as lean as HTTP/1.1 allows: each request
is built into bytes before the clock starts, sent on a fresh socket with
`Connection: close` (gunicorn's sync workers close every connection anyway,
as a browser's or Razorpay's single request would see), and the answer is read
until the server closes; only its status line is parsed. That costs about a
fifth of what `requests` does per request.

Reads {"concurrency": N, "requests": [{"method", "url", "headers", "body"}]}
on stdin and prints {"latencies_ms": [...], "statuses": {...}, "wall_s": ..., "cpu_s": ...}
(cpu_s: this process's own CPU time, so the benchmark can show the load generator's share).
Every request is bounded by a 10 s timeout; the run ends when the list does.
"""

import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def request_bytes(item):
    url = urlsplit(item["url"])
    body = (item.get("body") or "").encode()
    lines = [
        f"{item['method']} {url.path or '/'} HTTP/1.1",
        f"Host: {url.hostname}:{url.port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in (item.get("headers") or {}).items()),
    ]
    return (url.hostname, url.port), ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def send(address, request):
    """(latency in ms, HTTP status) of one request."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        first = sock.recv(65536)
        answer = first
        while answer:
            answer = sock.recv(65536)
    latency_ms = (time.perf_counter() - started) * 1000
    return latency_ms, int(first[9:12])  # "HTTP/1.1 200 OK"


def main():
    spec = json.load(sys.stdin)
    prepared = [request_bytes(item) for item in spec["requests"]]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["concurrency"]) as pool:
        answers = list(pool.map(lambda args: send(*args), prepared))
    wall_s = time.perf_counter() - started
    statuses = {}
    for _, status in answers:
        statuses[status] = statuses.get(status, 0) + 1
    json.dump(
        {
            "latencies_ms": [latency for latency, _ in answers],
            "statuses": statuses,
            "wall_s": wall_s,
            "cpu_s": time.process_time(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
