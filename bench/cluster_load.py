"""The cluster trial's load generator: a process of its own (its threads share no GIL
with the fake Razorpay in the trial's process), fed while it runs.

Reads one request a line on stdin, {"id", "kind", "method", "url", "headers", "body"},
sends each on a fresh connection with `Connection: close` (as bench/load.py does),
`CONCURRENCY` at a time, and writes one answer a line on stdout as soon as it has it:
{"id", "kind", "start" (epoch seconds), "ms", "status" (0: no answer), "node"
(HAProxy's X-Served-By), "error"}. Ends when stdin ends and every request is answered.

    python bench/cluster_load.py CONCURRENCY
"""

import json
import queue
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import request_bytes  # noqa: E402 - needs the repo on the path

TIMEOUT_SECONDS = 40  # above HAProxy's 35 s server timeout: HAProxy answers first


def exchange(address, request):
    """(status, X-Served-By) of one request; raises OSError when no answer came."""
    with socket.create_connection(address, timeout=TIMEOUT_SECONDS) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    if not lines[0].startswith("HTTP/"):
        raise OSError(f"not an HTTP answer: {lines[0][:40]!r}")
    node = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-served-by":
            node = value.strip()
    return int(lines[0][9:12]), node


def sender(work, out, lock):
    while (item := work.get()) is not None:
        address, request = request_bytes(item)
        start = time.time()
        started = time.perf_counter()
        status, node, error = 0, "", ""
        try:
            status, node = exchange(address, request)
        except OSError as exc:  # reset by a killed node, timed out: recorded as status 0
            error = f"{type(exc).__name__}: {exc}"[:200]
        result = {
            "id": item["id"],
            "kind": item["kind"],
            "start": start,
            "ms": (time.perf_counter() - started) * 1000,
            "status": status,
            "node": node,
            "error": error,
        }
        with lock:
            out.write(json.dumps(result) + "\n")
            out.flush()


def main():
    concurrency = int(sys.argv[1])
    work = queue.Queue()
    lock = threading.Lock()
    threads = [threading.Thread(target=sender, args=(work, sys.stdout, lock)) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for line in sys.stdin:
        work.put(json.loads(line))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
