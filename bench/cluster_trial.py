"""The cluster trial (issue 27), run by `bench/cluster.py --trial [--minutes N] [--write]`.

For `minutes`, the payments benchmark's traffic goes through HAProxy at concurrency 8
(bench/cluster_load.py, a process of its own): verifies and webhooks of fresh orders,
repeated verifies, verifies and webhooks paying renewals of servers bought earlier in
the run, `/healthz` beside them for the ratio, and every few seconds a full refund of a
paid order through the portal's refund service (`payments.refunds.order_refund`, what
the admin action and `refund_order` call), followed by Razorpay's `refund.processed`
webhook through HAProxy. Meanwhile, on a fixed timeline: one web node (gunicorn master
and workers), one Celery worker (all its pool children) and one beat are killed with
SIGKILL and restarted 20 s later, and PgBouncer is restarted once.

Afterwards Razorpay's part is played out as it would be: every webhook delivery that got
no 2xx is sent again, and every payment whose verify got no 200 has its
`payment.captured` webhook sent (Razorpay sends one for every capture). Then, once the
workers are done (every paid order's server active, every refunded one's terminated, no
mail waiting; at most 3 minutes), the checks: `audit_ledger`, every paid order has its
server, every payment taken at the fake is paid in the portal, no renewal extended twice
(each server's extensions chain from its first period's end to its `paid_until`), no mail
sent twice (the mail log against the outbox), `recover_servers --dry-run` empty.
"""

import contextlib
import itertools
import json
import queue
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONCURRENCY = 8
RESTART_AFTER_SECONDS = 20
QUIET_SECONDS = 5  # a fault has healed once this long passes without an error
SETTLE_SECONDS = 180  # the workers' time to finish after the load
REFUND_EVERY_SECONDS = 4
PRODUCERS = 3  # threads building requests: order_create and the fake's payment take a while

HEALTHZ = "GET /healthz"
VERIFY = "verify (fresh)"
REPEAT = "verify (repeat)"
HOOK = "webhook payment.captured"
RENEW_VERIFY = "verify (renewal)"
RENEW_HOOK = "webhook (renewal)"
REFUND_HOOK = "webhook refund.processed"
REFUND = "refund (service, in-process)"
# One round of the mix: a third /healthz, as many fresh payments as renewals and repeats.
ROUND = [HEALTHZ, VERIFY, HOOK, HEALTHZ, REPEAT, RENEW_VERIFY, HEALTHZ, VERIFY, RENEW_HOOK]
WEBHOOK_KINDS = (HOOK, RENEW_HOOK, REFUND_HOOK)


def percentile(values, pct):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))] if values else float("nan")


def first_line(exc):
    return (str(exc).splitlines() or [""])[0][:160]


def failed(status):
    return status == 0 or status >= 500


def http_failed(result):
    """A request through HAProxy that failed (the trial's own refund calls are not requests)."""
    return result["kind"] != REFUND and failed(result["status"])


class Trial:
    def __init__(self, cluster, plan, customers, minutes, rate):
        self.cluster, self.plan, self.fake = cluster, plan, cluster.fake
        self.rate = rate
        self.customers = customers  # [(user, API key)]
        self.auth = {user.pk: {"Authorization": f"Token {key}"} for user, key in customers}
        self.duration = minutes * 60
        self.ready = queue.Queue(maxsize=32)  # specs built ahead of the load
        self.urgent = queue.Queue()  # refund webhooks: sent next
        self.sent = {}  # id -> what was sent (kind, spec, payment)
        self.results = []
        self.lock = threading.Lock()
        self.outstanding = 0
        self.in_flight_sum = self.in_flight_samples = 0
        self.verified = []  # verify bodies answered 200, for repeats
        self.renewing = set()  # servers with a renewal on its way
        self.refunded_servers = set()
        self.own_failures = []
        self.faults = []
        self.transitions = []  # (time, node, state) from HAProxy
        self.stop = threading.Event()
        self.ids = itertools.count(1)
        self.candidates, self.candidates_read_at = [], 0.0
        self.customer_turn = itertools.cycle(customers)

    # --- building requests ----------------------------------------------------------
    def spec(self, kind, method, path, *, headers=None, body="", payment=None, server=None):
        spec_id = next(self.ids)
        spec = {
            "id": spec_id,
            "kind": kind,
            "method": method,
            "url": self.cluster.lb_url + path,
            "headers": headers or {},
            "body": body,
        }
        with self.lock:
            self.sent[spec_id] = {"kind": kind, "spec": spec, "payment": payment, "server": server}
        return spec

    def verify_spec(self, kind, payment, user_id, server=None):
        body = self.fake.checkout_response(payment)
        headers = {**self.auth[user_id], "Content-Type": "application/json"}
        return self.spec(
            kind,
            "POST",
            "/api/v1/payments/verify/",
            headers=headers,
            body=json.dumps(body),
            payment=payment,
            server=server,
        )

    def webhook_spec(self, kind, event, *, payment=None, refund=None, server=None):
        body, headers = self.fake.webhook(event, payment, refund=refund)
        return self.spec(
            kind,
            "POST",
            "/webhooks/razorpay/",
            headers={
                "X-Razorpay-Signature": headers["HTTP_X_RAZORPAY_SIGNATURE"],
                "X-Razorpay-Event-Id": headers["HTTP_X_RAZORPAY_EVENT_ID"],
                "Content-Type": "application/json",
            },
            body=body.decode(),
            payment=payment,
            server=server,
        )

    def renewal_candidate(self):
        """An active server of the trial with no renewal on its way (refunded ones left
        out), from a list read again at most once a second."""
        from servers.models import Server

        with self.lock:
            fresh = time.monotonic() - self.candidates_read_at < 1 and self.candidates
        if not fresh:
            found = list(
                Server.objects.filter(status="active", cancel_at_period_end=False)
                .exclude(renewal_orders__status="created")
                .order_by("-pk")
                .values_list("pk", "user_id")[:200]
            )
            with self.lock:
                self.candidates, self.candidates_read_at = found, time.monotonic()
        with self.lock:
            while self.candidates:
                server_id, user_id = self.candidates.pop(random.randrange(len(self.candidates)))
                if server_id not in self.renewing and server_id not in self.refunded_servers:
                    self.renewing.add(server_id)
                    return server_id, user_id
        return None

    def build(self, kind):
        from lifecycle.renewals import RenewalRefused, renewal_issue
        from payments.services import order_create, order_gateway_ensure

        if kind == HEALTHZ:
            return self.spec(kind, "GET", "/healthz")
        if kind == REPEAT:
            with self.lock:
                chosen = random.choice(self.verified) if self.verified else None
            return self.spec(kind, "POST", "/api/v1/payments/verify/", **chosen) if chosen else None
        if kind in (VERIFY, HOOK):
            user, _key = next(self.customer_turn)
            order = order_create(user=user, plan=self.plan, billing_cycle_months=1)
            payment = self.fake.pay(order.razorpay_order_id)
            if kind == VERIFY:
                return self.verify_spec(kind, payment, user.pk)
            return self.webhook_spec(kind, "payment.captured", payment=payment)
        candidate = self.renewal_candidate()
        if candidate is None:
            return None
        server_id, user_id = candidate
        try:
            order = order_gateway_ensure(renewal_issue(server_id, source="checkout"))
        except RenewalRefused:  # refunded (terminated) meanwhile
            with self.lock:
                self.renewing.discard(server_id)
            return None
        payment = self.fake.pay(order.razorpay_order_id)
        if kind == RENEW_VERIFY:
            return self.verify_spec(kind, payment, user_id, server=server_id)
        return self.webhook_spec(kind, "payment.captured", payment=payment, server=server_id)

    def producer(self, offset):
        """Builds the mix ahead of the load (PRODUCERS of these, each starting the round
        at its own `offset`). A failure (PgBouncer restarting under this process too)
        skips that request and is counted."""
        from django.db import close_old_connections

        for kind in itertools.islice(itertools.cycle(ROUND), offset, None):
            if self.stop.is_set():
                return
            try:
                spec = self.build(kind)
            except Exception as exc:  # noqa: BLE001 - the trial goes on; counted in the summary
                self.own_failures.append(f"building {kind}: {type(exc).__name__}: {first_line(exc)}")
                close_old_connections()
                time.sleep(0.2)
                continue
            while spec is not None and not self.stop.is_set():
                try:
                    self.ready.put(spec, timeout=0.2)
                    break
                except queue.Full:
                    continue

    def refunder(self):
        """Every REFUND_EVERY_SECONDS: a full refund of a paid new order whose server is
        active, through the refund service; then Razorpay's refund.processed webhook."""
        from django.db import close_old_connections

        from billing.models import Order, Refund
        from payments.refunds import order_refund

        while not self.stop.wait(REFUND_EVERY_SECONDS):
            with self.lock:
                taken = self.renewing | self.refunded_servers
            started, number = time.time(), "?"
            try:
                candidates = list(
                    Order.objects.filter(kind="new", status="paid", server__status="active")
                    .exclude(server__pk__in=taken)
                    .exclude(server__renewal_orders__isnull=False)
                    .values_list("number", "server__pk")[:20]
                )
                if not candidates:
                    continue
                number, server_id = random.choice(candidates)
                with self.lock:
                    self.refunded_servers.add(server_id)
                started = time.time()
                refund = order_refund(number, reason="cluster trial", source="admin")
            except Exception as exc:  # noqa: BLE001 - recorded, the trial goes on
                self.own_failures.append(f"refund {number}: {type(exc).__name__}: {first_line(exc)}")
                self.record({"id": 0, "kind": REFUND, "start": started, "ms": 0, "status": 0, "node": "", "error": ""})
                close_old_connections()
                continue
            self.record(
                {
                    "id": 0,
                    "kind": REFUND,
                    "start": started,
                    "ms": (time.time() - started) * 1000,
                    "status": 200,
                    "node": "",
                    "error": "",
                }
            )
            entity = dict(self.fake.refunds[refund.razorpay_refund_id])
            entity["status"] = Refund.Status.PROCESSED
            self.urgent.put(self.webhook_spec(REFUND_HOOK, "refund.processed", refund=entity))

    # --- sending ---------------------------------------------------------------------
    def record(self, result):
        with self.lock:
            self.results.append(result)

    def reader(self, load):
        for line in load.stdout:
            result = json.loads(line)
            with self.lock:
                self.results.append(result)
                self.outstanding -= 1
                sent = self.sent[result["id"]]
                if result["kind"] == VERIFY and result["status"] == 200:
                    spec = sent["spec"]
                    self.verified.append({"headers": spec["headers"], "body": spec["body"]})
                if sent["server"] is not None:
                    self.renewing.discard(sent["server"])

    def feeder(self, load, end):
        """Requests arrive at `rate` a second, at most CONCURRENCY in flight (and 2 waiting
        their turn); a cluster slower than the rate is not made up for in a burst."""
        due = time.time()
        while time.time() < end:
            with self.lock:
                busy = self.outstanding
            now = time.time()
            if now < due:
                time.sleep(min(0.05, due - now))
                continue
            if busy >= CONCURRENCY + 2:
                time.sleep(0.002)
                continue
            due = max(due, now - 1.0) + 1.0 / self.rate
            try:
                spec = self.urgent.get_nowait()
            except queue.Empty:
                try:
                    spec = self.ready.get(timeout=0.1)
                except queue.Empty:
                    continue
            with self.lock:
                self.outstanding += 1
            load.stdin.write(json.dumps(spec) + "\n")
            load.stdin.flush()

    def haproxy_watch(self):
        """HAProxy's view of the nodes, and how many requests are in flight, every 0.1 s."""
        last = {}
        while not self.stop.is_set():
            with self.lock:
                self.in_flight_sum += min(self.outstanding, CONCURRENCY)
                self.in_flight_samples += 1
            with contextlib.suppress(OSError):
                for node, state in self.cluster.haproxy_states().items():
                    if last.get(node) != state:
                        self.transitions.append((time.time(), node, state))
                        last[node] = state
            time.sleep(0.1)

    # --- faults ----------------------------------------------------------------------
    def fault_timeline(self, start):
        timeline = [
            (0.10, self.web_fault),
            (0.30, self.worker_fault),
            (0.45, self.beat_fault),
            (0.60, self.pgbouncer_fault),
        ]
        for fraction, fault in timeline:
            if self.stop.wait(max(0.0, start + fraction * self.duration - time.time())):
                return
            fault()

    def web_fault(self, node="pc-node1"):
        fault = {"name": f"web node {node}: SIGKILL (master and workers), restart after {RESTART_AFTER_SECONDS} s"}
        fault["at"] = time.time()
        self.cluster.kill(f"web-{node}")
        time.sleep(RESTART_AFTER_SECONDS)
        fault["restarted"] = time.time()
        self.cluster.web_start(node)
        deadline = time.time() + 60
        while time.time() < deadline and self.cluster.haproxy_states().get(node) != "UP":
            time.sleep(0.1)
        fault["back"] = time.time()
        self.faults.append(fault)

    def worker_fault(self, node="pc-node2"):
        from servers.models import ProvisioningAttempt

        name = f"worker-{node}"
        fault = {"name": f"Celery worker {node}: SIGKILL (all children), restart after {RESTART_AFTER_SECONDS} s"}
        leader = self.cluster.processes[name].pid
        identities = {f"{socket.gethostname()}:{pid}" for pid in group_pids(leader)}
        fault["at"] = time.time()
        self.cluster.kill(name)
        held = set(
            ProvisioningAttempt.objects.filter(worker__in=identities, outcome="running").values_list(
                "server_id", flat=True
            )
        )
        fault["held"] = len(held)
        time.sleep(RESTART_AFTER_SECONDS)
        fault["restarted"] = time.time()
        self.cluster.worker_start(node)
        self.faults.append(fault)
        threading.Thread(target=self.held_servers_watch, args=(fault, held), daemon=True).start()

    def held_servers_watch(self, fault, held):
        """When every server the killed worker was provisioning is active (or terminated)."""
        from django.db import close_old_connections

        from servers.models import Server

        while held:
            try:
                if Server.objects.filter(pk__in=held, status__in=("active", "terminated")).count() == len(held):
                    break
            except Exception as exc:  # noqa: BLE001 - PgBouncer restarting: ask again
                print(f"held servers watch: {type(exc).__name__}: {exc}", file=sys.stderr)
                close_old_connections()
            time.sleep(1)
        fault["back"] = time.time()

    def beat_fault(self, node="pc-node1"):
        name = f"beat-{node}"
        fault = {"name": f"beat {node}: SIGKILL, restart after {RESTART_AFTER_SECONDS} s"}
        fault["at"] = time.time()
        self.cluster.kill(name)
        time.sleep(RESTART_AFTER_SECONDS)
        log = self.cluster.dir / f"{name}.log"
        offset = log.stat().st_size
        fault["restarted"] = time.time()
        self.cluster.beat_start(node)
        self.faults.append(fault)
        threading.Thread(target=self.beat_watch, args=(fault, log, offset), daemon=True).start()

    def beat_watch(self, fault, log, offset):
        """When the restarted beat sends its first due task (its log says so)."""
        deadline = time.time() + 300
        while time.time() < deadline:
            with open(log, "rb") as file:
                file.seek(offset)
                if b"Sending due task" in file.read():
                    fault["back"] = time.time()
                    return
            time.sleep(0.2)

    def pgbouncer_fault(self):
        fault = {"name": "PgBouncer: stopped (SIGTERM, immediate shutdown) and started again"}
        fault["at"] = time.time()
        self.cluster.stop("pgbouncer")
        self.cluster.pgbouncer_start()
        fault["restarted"] = fault["back"] = time.time()
        self.faults.append(fault)

    # --- the run -----------------------------------------------------------------------
    def run(self):
        load = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "cluster_load.py"), str(CONCURRENCY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        reader = threading.Thread(target=self.reader, args=(load,), daemon=True)
        threads = [
            reader,
            threading.Thread(target=self.refunder, daemon=True),
            threading.Thread(target=self.haproxy_watch, daemon=True),
            *(threading.Thread(target=self.producer, args=(3 * n,), daemon=True) for n in range(PRODUCERS)),
        ]
        for thread in threads:
            thread.start()
        while self.ready.qsize() < 16:  # a head start for the producer
            time.sleep(0.1)
        self.start = time.time()
        end = self.start + self.duration
        faults = threading.Thread(target=self.fault_timeline, args=(self.start,), daemon=True)
        faults.start()
        print(
            f"trial: load for {self.duration / 60:.1f} min from {time.strftime('%H:%M:%S', time.gmtime())} UTC",
            flush=True,
        )
        self.feeder(load, end)
        self.end = time.time()
        load.stdin.close()
        load.wait(60)
        faults.join()  # a fault still restarting something finishes first
        self.stop.set()
        reader.join(10)
        print(f"trial: load done, {len(self.results)} requests; Razorpay's retries, then settling", flush=True)
        self.razorpay_retries()
        self.settled_after = self.settle()

    def razorpay_retries(self):
        """Razorpay sends a webhook again until it gets a 2xx, and sends payment.captured
        for every captured payment: the door for the payments whose verify failed."""
        import requests

        resend = []
        with self.lock:
            last = {}
            for result in self.results:
                if result["id"]:
                    last[result["id"]] = result
        # Payments made at the fake whose request was still being built or waiting its turn
        # when the load ended: the customer paid and closed the page; the webhook brings it.
        unsent = [sent for spec_id, sent in list(self.sent.items()) if spec_id not in last and sent["payment"]]
        self.never_sent = len(unsent)
        for sent in unsent:
            resend.append(self.webhook_spec("retry", "payment.captured", payment=sent["payment"]))
        for spec_id, result in last.items():
            sent = self.sent[spec_id]
            if sent["kind"] in WEBHOOK_KINDS and result["status"] != 200:
                resend.append(sent["spec"])
            elif sent["kind"] in (VERIFY, RENEW_VERIFY) and result["status"] != 200:
                resend.append(self.webhook_spec("retry", "payment.captured", payment=sent["payment"]))
        with open(self.cluster.dir / "results.jsonl", "w") as file:  # kept by --logs, for a post-mortem
            file.writelines(json.dumps(result) + "\n" for result in self.results)
        self.retries = Counter()
        for spec in resend:
            for _attempt in range(5):
                try:
                    answer = requests.request(
                        spec["method"], spec["url"], data=spec["body"].encode(), headers=spec["headers"], timeout=30
                    )
                    status = answer.status_code
                except requests.RequestException:
                    status = 0
                if status == 200:
                    break
                time.sleep(2)
            self.retries[status] += 1
        self.retries_sent = len(resend)

    def settle(self):
        """Seconds until the workers were done (None: not within SETTLE_SECONDS)."""
        from django.db import close_old_connections

        from billing.models import Order
        from outbox.models import OutboundMail
        from servers.models import Server

        close_old_connections()  # this thread's connection predates PgBouncer's restart
        started = time.time()
        while time.time() - started < SETTLE_SECONDS:
            unfinished = (
                Server.objects.filter(order__status="paid").exclude(status="active").count()
                + Server.objects.filter(order__status="refunded").exclude(status="terminated").count()
                + Order.objects.filter(kind="new", status="paid", server__isnull=True).count()
                + OutboundMail.objects.filter(status__in=("queued", "sending")).count()
            )
            if unfinished == 0:
                return time.time() - started
            time.sleep(2)
        return None


def group_pids(leader):
    """Pids of every process in the process group `leader` leads."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[2]) == leader:
                    pids.append(int(entry.name))
    return pids


# --- the checks --------------------------------------------------------------------------
def command_json(cluster, *arguments):
    """A management command run on pc-node1 as an operator would: (exit status, its JSON)."""
    answer = subprocess.run(
        ["ip", "netns", "exec", "pc-node1", sys.executable, "manage.py", *arguments],
        cwd=REPO,
        env=cluster.node_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        return answer.returncode, json.loads(answer.stdout)
    except json.JSONDecodeError:
        return answer.returncode, {"unparsed": (answer.stdout + answer.stderr)[-800:]}


def checks(trial):
    from django.db.models import Count

    from billing.models import Order
    from outbox.models import OutboundMail
    from servers.models import RenewalExtension, Server
    from servers.periods import period_end

    results = {}
    code, audit = command_json(trial.cluster, "audit_ledger", "--json")
    results["audit_ledger"] = (
        code == 0,
        f"exit {code}, {audit.get('orders_checked')} orders checked, problems: {audit.get('problems', audit)}"[:600],
    )

    paid_new = Order.objects.filter(kind="new", status__in=("paid", "refunded"))
    missing = paid_new.filter(server__isnull=True).count()
    not_active = Server.objects.filter(order__status="paid").exclude(status="active").count()
    not_terminated = Server.objects.filter(order__status="refunded").exclude(status="terminated").count()
    results["every paid order has its server"] = (
        missing == 0 and not_active == 0 and not_terminated == 0,
        f"{paid_new.count()} paid or refunded new orders; {missing} without a server, "
        f"{not_active} paid ones not active, {not_terminated} refunded ones not terminated",
    )

    paid_at_fake = [order_id for order_id, order in trial.fake.orders.items() if order["status"] == "paid"]
    unpaid_in_portal = list(
        Order.objects.filter(razorpay_order_id__in=paid_at_fake)
        .exclude(status__in=("paid", "refunded"))
        .values_list("number", "kind", "status")
    )
    results["no payment lost"] = (
        not unpaid_in_portal,
        f"{len(paid_at_fake)} orders paid at Razorpay; {len(unpaid_in_portal)} of them not paid in the portal "
        f"{unpaid_in_portal[:5] or ''}",
    )

    renewals_paid = Order.objects.filter(kind="renewal", status__in=("paid", "refunded")).count()
    extensions = RenewalExtension.objects.count()
    broken = []
    renewed = Server.objects.annotate(n=Count("extensions")).filter(n__gt=0).select_related("order")
    for server in renewed:
        first_end = period_end(server.order.paid_at, server.order.billing_cycle_months)
        chain = list(server.extensions.order_by("old_paid_until"))
        expected = first_end
        for extension in chain:
            if extension.old_paid_until != expected:
                broken.append(server.pk)
                break
            expected = extension.new_paid_until
        else:
            if server.paid_until != expected:
                broken.append(server.pk)
    results["no renewal extended twice"] = (
        renewals_paid == extensions and not broken,
        f"{renewals_paid} renewal orders paid, {extensions} extensions; {renewed.count()} servers renewed, "
        f"{len(broken)} whose paid_until is not their first period's end plus each renewal once",
    )

    sends = Counter()
    mail_log = trial.cluster.dir / "mail.jsonl"
    lines = mail_log.read_text().splitlines() if mail_log.exists() else []
    for line in lines:
        mail = json.loads(line)
        sends[(tuple(mail["to"]), mail["subject"], mail["body_sha256"])] += 1
    rows = Counter()
    for to, subject, body in OutboundMail.objects.filter(status="sent").values_list("to", "subject", "body"):
        rows[(tuple(sorted(to)), subject, sha256(body))] += 1
    twice = sum(max(0, count - rows.get(key, 0)) for key, count in sends.items())
    unsent = OutboundMail.objects.exclude(status="sent").count()
    results["no mail sent twice"] = (
        twice == 0,
        f"{len(lines)} messages sent, {sum(rows.values())} outbox rows sent, {unsent} not sent; "
        f"{twice} sends more than their outbox rows",
    )

    results["sessions, lockouts, throttles and TOTP across both nodes"] = across_nodes()

    code, recovery = command_json(trial.cluster, "recover_servers", "--dry-run", "--json")
    empty = not any(recovery.get(key) for key in ("orphaned_orders", "stuck_servers", "created", "requeued", "errors"))
    results["recover_servers --dry-run empty"] = (code == 0 and empty, f"exit {code}: {json.dumps(recovery)[:400]}")
    return results


def across_nodes():
    """bench/cross_node.py against the two nodes directly (one of them restarted during the
    load), as HAProxy would send: sessions, lockouts, throttles and the second factor
    are the same on both."""
    from bench.cluster import ADDRESSES, WEB_PORT
    from bench.cross_node import cross_node_accounts, cross_node_checks

    node_a, node_b = (f"http://{ADDRESSES[node]}:{WEB_PORT}" for node in ("pc-node1", "pc-node2"))
    try:
        seen = cross_node_checks(node_a, node_b, accounts=cross_node_accounts(), anon_budget=60)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        return False, f"{type(exc).__name__}: {first_line(exc)}"
    return seen["ok"], ", ".join(
        f"{name} {'ok' if value['ok'] else json.dumps(value)[:300]}" for name, value in seen.items() if name != "ok"
    )


def sha256(text):
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


# --- the summary -------------------------------------------------------------------------
def fault_windows(trial):
    """Per fault: (start, end) of the window its errors are counted in: from the fault
    until QUIET_SECONDS pass without a failed request after its restart (at least)."""
    # When each failed request ended: one in flight on a node as it died started before the kill.
    failures = sorted(r["start"] + r["ms"] / 1000 for r in trial.results if http_failed(r))
    windows = []
    for fault in trial.faults:
        restarted = fault.get("restarted", fault["at"])
        end, last_failure = restarted, None
        for moment in failures:
            if moment < fault["at"]:
                continue
            if moment > end + QUIET_SECONDS:
                break
            end, last_failure = max(end, moment), moment
        fault["errors_end"], fault["last_failure"] = end, last_failure
        windows.append((fault["at"], end + QUIET_SECONDS))
    return windows


def log_errors(cluster):
    counts = {}
    for log in sorted(cluster.dir.glob("*.log")):
        text = log.read_text(errors="replace")
        counts[log.stem] = (len(re.findall(r"\bERROR\b", text)), text.count("Traceback"))
    return counts


def summary(trial, results, minutes):
    windows = fault_windows(trial)

    def in_fault(result):  # in flight at any moment of a fault's window
        began, ended = result["start"], result["start"] + result["ms"] / 1000
        return any(began <= end and ended >= start for start, end in windows)

    by_kind = defaultdict(list)
    for result in trial.results:
        by_kind[result["kind"]].append(result)
    healthz_steady = [r["ms"] for r in by_kind[HEALTHZ] if not in_fault(r) and r["status"] == 200]
    healthz_p95 = percentile(healthz_steady, 95)
    wall = trial.end - trial.start
    total = sum(len(v) for k, v in by_kind.items() if k != REFUND)
    concurrency = trial.in_flight_sum / max(1, trial.in_flight_samples)
    lines = [
        f"{total} requests through HAProxy in {wall:.0f} s ({total / wall:.1f} req/s, paced at {trial.rate:g}; "
        f"{concurrency:.1f} in flight on average, at most {CONCURRENCY}), "
        f"and {len(by_kind[REFUND])} refunds through the refund service.",
        "",
        f"| request | n | p50 ms | p95 ms | p95 steady ms | × `/healthz` p95 steady ({healthz_p95:.1f} ms) | statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for kind in (HEALTHZ, VERIFY, REPEAT, HOOK, RENEW_VERIFY, RENEW_HOOK, REFUND_HOOK, REFUND):
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        ok = [r["ms"] for r in rows if not failed(r["status"])]
        steady = [r["ms"] for r in rows if not in_fault(r) and not failed(r["status"])]
        statuses = Counter(r["status"] for r in rows)
        ratio = percentile(steady, 95) / healthz_p95 if kind != HEALTHZ else 1.0
        lines.append(
            f"| {kind} | {len(rows)} | {statistics.median(ok) if ok else float('nan'):.1f} | "
            f"{percentile(ok, 95):.1f} | {percentile(steady, 95):.1f} | {ratio:.2f} | "
            f"{dict(sorted(statuses.items()))} |"
        )
    lines += [
        "",
        "Answers by status and phase (during a fault: from it until 5 s without a failure after its restart):",
        "",
    ]
    phase_counts = {"steady": Counter(), "during faults": Counter()}
    for result in trial.results:
        if result["kind"] == REFUND:
            continue
        phase_counts["during faults" if in_fault(result) else "steady"][result["status"]] += 1
    statuses = sorted(set(phase_counts["steady"]) | set(phase_counts["during faults"]))
    lines += [
        "| phase | " + " | ".join(str(s) if s else "no answer" for s in statuses) + " |",
        "| --- | " + " | ".join("---:" for _ in statuses) + " |",
    ]
    for phase, counts in phase_counts.items():
        lines.append(f"| {phase} | " + " | ".join(str(counts.get(s, 0)) for s in statuses) + " |")
    lines += ["", "| fault | at s | failed requests (statuses) | heal |", "| --- | ---: | --- | --- |"]
    for fault in trial.faults:
        at = fault["at"] - trial.start
        errors = [
            r
            for r in trial.results
            if http_failed(r) and r["start"] <= fault["errors_end"] and r["start"] + r["ms"] / 1000 >= fault["at"]
        ]
        lines.append(f"| {fault['name']} | {at:.0f} | {len(errors)} {dict(Counter(r['status'] for r in errors))} | "
                     f"{heal_text(trial, fault)} |")  # fmt: skip
    lines += ["", "After the load:", ""]
    lines.append(
        f"- Razorpay's part: {trial.retries_sent} deliveries sent after the load (webhooks that got no 2xx, "
        f"payment.captured for payments whose verify got no 200, and for {trial.never_sent} payments made "
        f"whose request was still waiting when the load ended): statuses {dict(trial.retries)}."
    )
    settled = f"{trial.settled_after:.0f} s" if trial.settled_after is not None else f"not within {SETTLE_SECONDS} s"
    lines.append(f"- Workers done (servers active or terminated, no mail waiting) after {settled}.")
    if trial.own_failures:
        lines.append(f"- The trial's own calls that failed ({len(trial.own_failures)}): "
                     f"{'; '.join(sorted(set(trial.own_failures))[:5])}")  # fmt: skip
    for name, (passed, detail) in results.items():
        lines.append(f"- {'**pass**' if passed else '**FAIL**'} {name}: {detail}")
    lines.append(f"- {beat_line(trial)}")
    errors = {name: counts for name, counts in log_errors(trial.cluster).items() if any(counts)}
    lines.append(
        "- ERROR lines / tracebacks in the processes' logs: "
        + (", ".join(f"{name} {e}/{t}" for name, (e, t) in errors.items()) or "none")
    )
    return "\n".join(lines)


def beat_line(trial):
    """What the two beats sent against what ran (core.PeriodicJob: a run per job per gap,
    half its interval, however many beats send it)."""
    from core.models import PeriodicJob

    sent = Counter()
    for log in trial.cluster.dir.glob("beat-*.log"):
        sent.update(re.findall(r"Sending due task (\S+)", log.read_text(errors="replace")))
    runs = dict(PeriodicJob.objects.values_list("name", "runs"))
    minutes = (time.time() - trial.start) / 60
    per_job = ", ".join(f"{name} {count}/{runs.get(name, 0)}" for name, count in sorted(sent.items()))
    return (
        f"Periodic jobs over the {minutes:.0f} minutes since the load began, sent by the two beats / "
        f"runs started (the others skipped as held or recent): {per_job}."
    )


def heal_text(trial, fault):
    last = fault["last_failure"]
    parts = [f"last failure {last - fault['at']:.1f} s after the fault" if last else "no failed request"]
    if fault["name"].startswith("web node"):
        node = fault["name"].split()[2].rstrip(":")
        down = next((t for t, n, s in trial.transitions if n == node and s == "DOWN" and t >= fault["at"]), None)
        if down:
            parts.append(f"out of HAProxy's rotation after {down - fault['at']:.1f} s")
        parts.append(f"back in rotation {fault['back'] - fault['restarted']:.1f} s after its restart")
        served = [r["start"] for r in trial.results if r["node"] == node and r["start"] > fault["restarted"]]
        if served:
            parts.append(f"first answer from it {min(served) - fault['restarted']:.1f} s after its restart")
    elif fault["name"].startswith("Celery"):
        if "back" in fault:
            parts.append(
                f"the {fault['held']} servers it was provisioning active {fault['back'] - fault['at']:.0f} s "
                "after the kill (their leases expired, the sweeper took them over)"
            )
        else:
            parts.append(f"the {fault['held']} servers it was provisioning not all active by the end")
    elif fault["name"].startswith("beat"):
        if "back" in fault:
            parts.append(f"first due task sent {fault['back'] - fault['restarted']:.1f} s after its restart")
        else:
            parts.append("the restarted beat sent no task by the end")
    else:
        parts.append(f"PgBouncer listening again {fault['restarted'] - fault['at']:.1f} s after the stop")
    return "; ".join(parts)


def trial_run(cluster, plan, customers, *, minutes, rate, write):
    trial = Trial(cluster, plan, customers, minutes, rate)
    trial.run()
    results = checks(trial)
    text = summary(trial, results, minutes)
    print(text)
    if write:
        from bench.payments_world import docs_section_replace

        heading = "## Cluster trial (issue 27)"
        body = (
            f"{heading}\n\nCommand: `.venv/bin/python bench/cluster.py --trial --minutes {minutes:g} "
            f"--rate {rate:g} --write` (run as root: network namespaces). Two web nodes (gunicorn gthread "
            "2 × 4), two Celery workers (`-Q celery,sweeps`, concurrency 2) and two beats in namespaces "
            "`pc-node1` and `pc-node2`; PostgreSQL 15, PgBouncer 1.18 (transaction pooling) and Redis in "
            "`pc-data`; HAProxy and the fake Razorpay in the root namespace; the load generator through "
            f"HAProxy, {rate:g} requests a second, at most {CONCURRENCY} in flight. All of it on this "
            "machine's 2 cores, which other engineers' tests may share while it runs. "
            'See docs/deploy.md, "Several machines".\n\n'
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:\n\n{text}\n"
        )
        docs_section_replace(heading, body)
    return all(passed for passed, _detail in results.values())
