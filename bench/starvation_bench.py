"""Can a slow Razorpay starve the web workers? (issue 18)

Starts gunicorn with the Procfile's own `web:` command (or, with --sync N, the
old N sync workers) against a fresh PostgreSQL database, Redis and the fake
Razorpay made to hang (every call sleeps 30 s; the portal gives up after its
3-4 s bound and answers verify 202). Eight verifies are kept waiting on it all
the time, and meanwhile /plans/ (anonymous) and /servers/ (signed in) are
requested two at a time. Target: their p95 under 200 ms.

    python -m bench.starvation_bench --db portal_faults --broker-db 7
    python -m bench.starvation_bench --db portal_faults --broker-db 7 --sync 3   # the old Procfile
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection

from bench.payments_world import REPO, paid_orders, plan_and_customers, start

PORT = 8766
HANGING_VERIFIES = 8


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def web_command(sync_workers):
    if sync_workers:
        return f"gunicorn hostingportal.wsgi --bind 127.0.0.1:{PORT} --workers {sync_workers} --timeout 30"
    line = next(line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.removeprefix("web:").strip().replace("0.0.0.0", "127.0.0.1").replace("--access-logfile -", "")


def keep_verifying(body, headers, stop, outcomes):
    """One customer's browser polling verify while Razorpay hangs, over and over."""
    while not stop.is_set():
        connection = HTTPConnection("127.0.0.1", PORT, timeout=60)
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/payments/verify/", body=body, headers=headers)
            status = connection.getresponse().status
        except OSError as exc:
            status = type(exc).__name__
        outcomes.append((status, time.perf_counter() - started))
        connection.close()


def time_pages(specs, concurrency):
    """[(path, status, latency ms)]: each GET on a fresh connection, `concurrency` at a time.
    A request the site cannot answer within 60 s counts as 60 s with status "timeout"."""
    results, lock, queue = [], threading.Lock(), list(reversed(specs))

    def run():
        while True:
            with lock:
                if not queue:
                    return
                path, headers = queue.pop()
            connection = HTTPConnection("127.0.0.1", PORT, timeout=60)
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except TimeoutError:
                status = "timeout"
            latency_ms = (time.perf_counter() - started) * 1000
            connection.close()
            with lock:
                results.append((path, status, latency_ms))

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="bench_starvation", help="PostgreSQL database to (re)create")
    parser.add_argument("--broker-db", type=int, default=14, help="Redis database number to empty and use")
    parser.add_argument("--sync", type=int, default=0, metavar="N", help="run N sync workers instead of the Procfile")
    parser.add_argument("--requests", type=int, default=400, help="page requests to time")
    args = parser.parse_args()

    fake, env = start(args.db, args.broker_db, PORT=str(PORT))
    # Pages need the hashed static files a deploy builds (DEBUG=False, ManifestStaticFilesStorage).
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    plan, customers = plan_and_customers()
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(customers[0][0])
    session = signed_in.cookies["sessionid"].value
    verifies = [
        (json.dumps(answer), {"Authorization": f"Token {token}", "Content-Type": "application/json"})
        for answer, token in paid_orders(fake, plan, customers[1:], HANGING_VERIFIES)
    ]
    fake.delay_seconds = 30  # Razorpay hangs

    command = web_command(args.sync)
    web = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    stop, outcomes = threading.Event(), []
    try:
        for _ in range(100):
            try:
                connection = HTTPConnection("127.0.0.1", PORT, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        threads = [threading.Thread(target=keep_verifying, args=(*v, stop, outcomes), daemon=True) for v in verifies]
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # all eight are now waiting on Razorpay
        cookie = {"Cookie": f"sessionid={session}"}
        specs = [("/plans/", {}), ("/servers/", cookie)] * (args.requests // 2)
        started = time.perf_counter()
        timed = time_pages(specs, concurrency=2)
        wall_s = time.perf_counter() - started
        stop.set()
    finally:
        web.terminate()
        web.wait(10)
        fake.stop()
    by_page, page_statuses = {}, {}
    for path, status, latency_ms in timed:
        by_page.setdefault(path, []).append(latency_ms)
        page_statuses[str(status)] = page_statuses.get(str(status), 0) + 1
    verify_statuses = {}
    for status, _ in outcomes:
        verify_statuses[str(status)] = verify_statuses.get(str(status), 0) + 1
    report = {
        "web": re.sub(r"\s+", " ", command),
        "page_statuses": page_statuses,
        "pages": {
            page: {"n": len(values), "p50_ms": round(percentile(values, 50), 1),
                   "p95_ms": round(percentile(values, 95), 1), "max_ms": round(max(values), 1)}
            for page, values in by_page.items()
        },  # fmt: skip
        "verifies_answered_meanwhile": verify_statuses,
        "verify_median_s": round(percentile([seconds for _, seconds in outcomes], 50), 2) if outcomes else None,
        "wall_s": round(wall_s, 1),
        "loadavg": os.getloadavg()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
