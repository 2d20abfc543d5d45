"""The portal past one machine, on one machine (issue 27): two web nodes, two Celery
workers and two beats against one PostgreSQL through PgBouncer, behind HAProxy.

Network namespaces stand in for machines, joined by veth pairs on a bridge in the
root namespace:

    root      10.231.0.1   bridge pc-br0; HAProxy on 127.0.0.1:<port>; the fake Razorpay
    pc-node1  10.231.0.11  gunicorn (gthread, 2 x 4) :8000, Celery worker (-Q celery,sweeps), beat
    pc-node2  10.231.0.12  the same
    pc-data   10.231.0.20  PostgreSQL 15 :5432 (its own cluster, initdb'd into a temp dir),
                           PgBouncer :6432 (transaction pooling), Redis :6379 (broker db 0, cache db 1)

Every process it starts is recorded by pid (and in <tempdir>/pids.json) and stopped
by pid: SIGTERM (SIGINT for PostgreSQL), SIGKILL to its process group after a deadline.
Namespaces, the bridge and the temp dir go on every exit.

    .venv/bin/python bench/cluster.py --up              # start, smoke-test, print addresses, wait for Ctrl-C
    .venv/bin/python bench/cluster.py --trial [--minutes 10] [--write]   # bench/cluster_trial.py
    .venv/bin/python bench/cluster.py --cleanup         # what a crashed run left behind

Root only (namespaces, veth, running PostgreSQL as `postgres`).
"""

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SUBNET = "10.231.0"
BRIDGE = "pc-br0"
BRIDGE_ADDRESS = f"{SUBNET}.1"
ADDRESSES = {"pc-node1": f"{SUBNET}.11", "pc-node2": f"{SUBNET}.12", "pc-data": f"{SUBNET}.20"}
NODES = ("pc-node1", "pc-node2")
DATA = ADDRESSES["pc-data"]
TMP_PREFIX = "pc-cluster-"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
WEB_PORT, POSTGRES_PORT, PGBOUNCER_PORT, REDIS_PORT = 8000, 5432, 6432, 6379
DB_NAME = "portal"
OWNER_ROLE, WEB_ROLE = "portal", "portal_web"
WEB_STATEMENT_TIMEOUT_MS = 5000  # the portal's default WEB_STATEMENT_TIMEOUT_MS
SECRET_KEY = "cluster-" + "k" * 50  # the same on every node: sessions and signed values cross nodes
AS_POSTGRES = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]


def run(*command, check=True, **kwargs):
    return subprocess.run(list(command), check=check, capture_output=True, text=True, **kwargs)


def process_start_time(pid):
    """The kernel's start time of a process (field 22 of /proc/<pid>/stat), or None if it
    has gone: with the pid it names one process, never a later one that reused the pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[19])


def wait_for(what, probe, seconds=30.0, interval=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(interval)
    raise RuntimeError(f"{what} not ready after {seconds:.0f} s")


def tcp_open(host, port):
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class Cluster:
    """The machines, their processes and how to stop them."""

    def __init__(self, lb_port):
        self.lb_port = lb_port
        self.dir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.dir.chmod(0o755)  # PostgreSQL and PgBouncer run as `postgres` under it
        self.processes = {}  # name -> Popen; the process leads its own process group
        self.fake = None
        self.node_env = self.web_env = None  # workers' and beats', web nodes'
        self.down_done = False

    # --- addresses ---------------------------------------------------------------
    @property
    def lb_url(self):
        return f"http://127.0.0.1:{self.lb_port}"

    def database_url(self, *, direct=False, role=OWNER_ROLE):
        port = POSTGRES_PORT if direct else PGBOUNCER_PORT
        return f"postgres://{role}@{DATA}:{port}/{DB_NAME}"

    # --- the network -------------------------------------------------------------
    def network_up(self):
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        for namespace, address in ADDRESSES.items():
            outside, inside = f"{namespace}-h", f"{namespace}-n"
            run("ip", "netns", "add", namespace)
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            run("ip", "link", "set", inside, "netns", namespace)
            run("ip", "link", "set", outside, "master", BRIDGE, "up")
            run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", inside)
            run("ip", "-n", namespace, "link", "set", inside, "up")
            run("ip", "-n", namespace, "link", "set", "lo", "up")
            run("ip", "-n", namespace, "route", "add", "default", "via", BRIDGE_ADDRESS)

    # --- processes ---------------------------------------------------------------
    def spawn(self, name, command, *, namespace=None, as_postgres=False, env=None):
        """Start `command` as its own process group, output to <dir>/<name>.log.
        `ip netns exec` and `setpriv` exec in place: the pid is the command's own."""
        if as_postgres:
            command = [*AS_POSTGRES, *command]
        if namespace:
            command = ["ip", "netns", "exec", namespace, *command]
        with open(self.dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env=env or os.environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes[name] = process
        self.pids_record()
        return process

    def pids_record(self):
        """pids.json: what `--cleanup` stops if this run dies without stopping them."""
        live = {
            name: [process.pid, process_start_time(process.pid)]
            for name, process in self.processes.items()
            if process.poll() is None
        }
        (self.dir / "pids.json").write_text(json.dumps(live))

    def signal_group(self, name, signum):
        with contextlib.suppress(ProcessLookupError):  # it had gone already
            os.killpg(self.processes[name].pid, signum)

    def stop(self, name, *, signum=signal.SIGTERM, deadline=20.0):
        """Ask the process to stop (`signum` to it alone), SIGKILL its whole group after
        `deadline`; wait for it. Returns its exit status."""
        process = self.processes[name]
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)
            try:
                process.wait(deadline)
            except subprocess.TimeoutExpired:
                self.signal_group(name, signal.SIGKILL)
                process.wait(10)
        self.signal_group(name, signal.SIGKILL)  # children left behind by a leader that exited
        self.pids_record()
        return process.returncode

    def kill(self, name):
        """SIGKILL to the process and every process of its group (gunicorn's workers,
        Celery's pool children), as a machine losing power would."""
        self.signal_group(name, signal.SIGKILL)
        self.processes[name].wait(10)
        self.pids_record()

    # --- the data machine --------------------------------------------------------
    def postgres_start(self):
        data = self.dir / "pgdata"
        socket_dir = self.dir / "pgsocket"
        for path in (data, socket_dir):
            path.mkdir()
            shutil.chown(path, "postgres", "postgres")
        run(*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync")  # fmt: skip
        with open(data / "pg_hba.conf", "a") as hba:  # initdb trusts only local connections
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        self.spawn(
            "postgres",
            [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={DATA}",
             "-c", f"port={POSTGRES_PORT}", "-c", f"unix_socket_directories={socket_dir}",
             "-c", "max_connections=100", "-c", "shared_buffers=128MB"],
            namespace="pc-data",
            as_postgres=True,
        )  # fmt: skip
        wait_for("PostgreSQL", lambda: run(str(PG_BIN / "pg_isready"), "-q", "-h", DATA, check=False).returncode == 0)
        # docs/deploy.md, "PgBouncer": the portal's role owns the database and runs `migrate`,
        # workers and beat; the web nodes' role is a member of it with a statement timeout.
        roles = (
            f"CREATE ROLE {OWNER_ROLE} LOGIN;"
            f"CREATE ROLE {WEB_ROLE} LOGIN IN ROLE {OWNER_ROLE};"
            f"ALTER ROLE {WEB_ROLE} SET statement_timeout = '{WEB_STATEMENT_TIMEOUT_MS}ms';"
        )
        run("psql", "-h", DATA, "-U", "postgres", "-q", "-c", roles)
        run("psql", "-h", DATA, "-U", "postgres", "-q", "-c", f'CREATE DATABASE "{DB_NAME}" OWNER {OWNER_ROLE}')

    def pgbouncer_config(self):
        users = self.dir / "pgbouncer-users.txt"
        users.write_text("".join(f'"{role}" ""\n' for role in ("postgres", OWNER_ROLE, WEB_ROLE)))
        config = self.dir / "pgbouncer.ini"
        config.write_text(
            f"""[databases]
{DB_NAME} = host={DATA} port={POSTGRES_PORT} dbname={DB_NAME}

[pgbouncer]
listen_addr = {DATA}
listen_port = {PGBOUNCER_PORT}
unix_socket_dir = {self.dir / "pgsocket"}
auth_type = trust
auth_file = {users}
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
reserve_pool_size = 5
server_lifetime = 3600
admin_users = postgres
"""
        )
        shutil.chown(config, "postgres", "postgres")
        return config

    def pgbouncer_start(self):
        config = self.dir / "pgbouncer.ini"
        if not config.exists():
            config = self.pgbouncer_config()
        self.spawn("pgbouncer", ["/usr/sbin/pgbouncer", str(config)], namespace="pc-data", as_postgres=True)
        wait_for("PgBouncer", lambda: tcp_open(DATA, PGBOUNCER_PORT), seconds=15, interval=0.05)

    def redis_start(self):
        (self.dir / "redis").mkdir()
        self.spawn(
            "redis",
            ["redis-server", "--bind", DATA, "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--dir", str(self.dir / "redis")],
            namespace="pc-data",
        )  # fmt: skip
        wait_for("Redis", lambda: tcp_open(DATA, REDIS_PORT))

    # --- the portal --------------------------------------------------------------
    def portal_env(self, *, direct=False, role=OWNER_ROLE):
        """What every portal process gets: production settings (DEBUG off), the
        database through PgBouncer as `role`, one Redis for broker and cache, the fake Razorpay."""
        fake = self.fake
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "CELERY_", "CACHE_", "RAZORPAY_", "EMAIL_", "DJANGO_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="hostingportal.settings",
            DATABASE_URL=self.database_url(direct=direct, role=role),
            # Transaction pooling: no statement kept prepared, no server-side cursor, no
            # `options` startup parameter (the web's statement_timeout is its role's).
            DATABASE_TRANSACTION_POOLING="False" if direct else "True",
            CELERY_BROKER_URL=f"redis://{DATA}:{REDIS_PORT}/0",
            CACHE_URL=f"redis://{DATA}:{REDIS_PORT}/1",
            DEBUG="False",
            SECRET_KEY=SECRET_KEY,
            SECURE_SSL_REDIRECT="False",
            ALLOWED_HOSTS=",".join(["127.0.0.1", "localhost", *ADDRESSES.values()]),
            TRUSTED_PROXY_COUNT="1",  # HAProxy appends X-Forwarded-For
            SITE_URL=self.lb_url,
            RAZORPAY_KEY_ID=fake.key_id,
            RAZORPAY_KEY_SECRET=fake.key_secret,
            RAZORPAY_WEBHOOK_SECRET=fake.webhook_secret,
            RAZORPAY_API_BASE=fake.base_url,
            PROVISIONING_BACKEND="simulated",
            SIMULATED_PROVISIONING_DELAY_SECONDS="0.5",
            EMAIL_BACKEND="bench.cluster_mail.JsonLinesEmailBackend",
            CLUSTER_MAIL_LOG=str(self.dir / "mail.jsonl"),
            ALERT_EMAILS="ops@example.com",
            LOG_LEVEL="WARNING",
        )
        return env

    def migrate(self):
        """Once, before any node starts, through PgBouncer as the owner (docs/deploy.md,
        "PgBouncer": each migration is one transaction, no advisory lock)."""
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=self.portal_env(), check=True)

    def web_start(self, node):
        address = ADDRESSES[node]
        command = [sys.executable, "-m", "gunicorn", "hostingportal.wsgi", "--bind", f"{address}:{WEB_PORT}",
                   "--worker-class", "gthread", "--workers", "2", "--threads", "4", "--timeout", "30",
                   "--log-level", "warning"]  # fmt: skip
        self.spawn(f"web-{node}", command, namespace=node, env=self.web_env)

    def worker_start(self, node):
        command = [sys.executable, "-m", "celery", "-A", "hostingportal", "worker", "-Q", "celery,sweeps",
                   "-n", f"worker-{node}@%h", "--concurrency", "2", "--loglevel", "WARNING"]  # fmt: skip
        self.spawn(f"worker-{node}", command, namespace=node, env=self.node_env)

    def beat_start(self, node):
        # INFO: each "Sending due task" line, which the trial reads to time a restarted beat.
        command = [sys.executable, "-m", "celery", "-A", "hostingportal", "beat", "--loglevel", "INFO"]
        self.spawn(f"beat-{node}", command, namespace=node, env=self.node_env)

    def haproxy_start(self):
        config = self.dir / "haproxy.cfg"
        servers = "\n".join(
            f"    server {node} {ADDRESSES[node]}:{WEB_PORT} check inter 500ms fastinter 250ms fall 3 rise 2"
            for node in NODES
        )
        config.write_text(
            f"""global
    maxconn 2000
    stats socket {self.dir / "haproxy.sock"} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 35s
    timeout server 35s
    # A connection refused by a dead node is tried once more, on the other node
    retries 2
    option redispatch
    option forwardfor
    # A new connection to the node per request: reusing an idle one that gunicorn
    # closes at that moment (its keep-alive is 2 s) answers the client 502
    option http-server-close

frontend portal
    bind 127.0.0.1:{self.lb_port}
    default_backend web

backend web
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    http-response set-header X-Served-By %s
{servers}
"""
        )
        self.spawn("haproxy", ["/usr/sbin/haproxy", "-db", "-f", str(config)])

    def haproxy_states(self):
        """{server name: "UP" | "DOWN" | ...} from HAProxy's stats socket; {} while it has none."""
        data = b""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            try:
                sock.connect(str(self.dir / "haproxy.sock"))
            except (FileNotFoundError, ConnectionRefusedError):  # HAProxy starting (or stopped)
                return {}
            sock.sendall(b"show stat\n")
            while chunk := sock.recv(65536):
                data += chunk
        states = {}
        for line in data.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "web" and fields[1] in NODES:
                states[fields[1]] = fields[17].split(" ")[0]
        return states

    def node_start(self, node):
        self.web_start(node)
        self.worker_start(node)
        self.beat_start(node)

    # --- the whole ---------------------------------------------------------------
    def up(self):
        from payments.tests.fake_razorpay import FakeRazorpay

        self.network_up()
        self.postgres_start()
        self.pgbouncer_start()
        self.redis_start()
        self.fake = FakeRazorpay().start(host=BRIDGE_ADDRESS)
        self.migrate()
        # The build step of a deploy: DEBUG off serves static files from the manifest.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=REPO,
            env=self.portal_env(),
            check=True,
        )
        self.web_env = self.portal_env(role=WEB_ROLE)
        self.node_env = self.portal_env()
        for node in NODES:
            self.node_start(node)
        self.haproxy_start()
        wait_for(
            "both web nodes UP in HAProxy", lambda: list(self.haproxy_states().values()) == ["UP", "UP"], seconds=60
        )
        # This process works on the portal too (orders, payments at the fake, checks).
        os.environ.update(self.portal_env())
        import django

        django.setup()

    def down(self, logs_to=None):
        if self.down_done:
            return
        self.down_done = True
        order = ["haproxy", *(f"{kind}-{node}" for node in NODES for kind in ("web", "beat", "worker")),
                 "pgbouncer", "redis", "postgres"]  # fmt: skip
        for name in order:
            if name in self.processes:
                self.stop(name, signum=signal.SIGINT if name == "postgres" else signal.SIGTERM)
        if self.fake:
            self.fake.stop()
        network_remove()
        if logs_to:
            shutil.copytree(self.dir, logs_to, dirs_exist_ok=True, ignore=shutil.ignore_patterns("pgdata", "*.sock"))
            print(f"logs kept in {logs_to}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)


def network_remove():
    """Delete our namespaces (their veth ends go with them) and the bridge, if there."""
    existing = run("ip", "netns", "list", check=False).stdout
    for namespace in ADDRESSES:
        if namespace in existing.split():
            run("ip", "netns", "del", namespace, check=False)
    run("ip", "link", "del", BRIDGE, check=False)


def cleanup_leftovers():
    """After a run that died without stopping: every process recorded in a leftover
    temp dir (checked by its start time, so a reused pid is left alone), every process
    still inside our namespaces, then the namespaces, the bridge and the temp dirs."""
    stopped = 0
    for directory in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        pids = directory / "pids.json"
        recorded = json.loads(pids.read_text()) if pids.exists() else {}
        for name, (pid, started) in recorded.items():
            if started is not None and process_start_time(pid) == started:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                    stopped += 1
                    print(f"killed {name} (pid {pid})")
        shutil.rmtree(directory, ignore_errors=True)
        print(f"removed {directory}")
    existing = run("ip", "netns", "list", check=False).stdout.split()
    for namespace in ADDRESSES:
        if namespace in existing:
            for pid in run("ip", "netns", "pids", namespace, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
                    stopped += 1
                    print(f"killed pid {pid} in {namespace}")
    network_remove()
    print(f"cleanup: {stopped} processes killed; namespaces {', '.join(ADDRESSES)} and bridge {BRIDGE} removed")


def smoke(cluster):
    """One order paid through HAProxy: verify answers 200 and its server turns active."""
    import requests

    from bench.payments_world import plan_and_customers
    from payments.services import order_create
    from servers.models import Server

    plan, customers = plan_and_customers()
    user, key = customers[0]
    order = order_create(user=user, plan=plan, billing_cycle_months=1)
    body = cluster.fake.checkout_response(cluster.fake.pay(order.razorpay_order_id))
    started = time.monotonic()
    answer = requests.post(
        f"{cluster.lb_url}/api/v1/payments/verify/", json=body, headers={"Authorization": f"Token {key}"}, timeout=15
    )
    answer.raise_for_status()
    server_id = answer.json()["server"]["id"]
    wait_for("the smoke order's server active",
             lambda: Server.objects.filter(pk=server_id, status="active").exists(), seconds=60)  # fmt: skip
    print(f"smoke: {order.number} verified through HAProxy ({answer.headers.get('X-Served-By')}), "
          f"server {server_id} active after {time.monotonic() - started:.1f} s")  # fmt: skip
    return plan, customers


def addresses_print(cluster):
    print(f"""
load balancer  {cluster.lb_url}  (HAProxy stats: echo 'show stat' | socat - {cluster.dir / 'haproxy.sock'})
web nodes      {', '.join(f'{node} {ADDRESSES[node]}:{WEB_PORT}' for node in NODES)}
PostgreSQL     {cluster.database_url(direct=True)}
PgBouncer      {cluster.database_url()} (role {OWNER_ROLE}: migrate, workers, beats;
               {WEB_ROLE}: the web nodes, statement_timeout {WEB_STATEMENT_TIMEOUT_MS} ms)
Redis          redis://{DATA}:{REDIS_PORT}/0 (broker), /1 (cache)
fake Razorpay  {cluster.fake.base_url}
logs           {cluster.dir}/*.log""")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--up", action="store_true", help="start, smoke-test, print addresses, wait for Ctrl-C")
    action.add_argument("--trial", action="store_true", help="the trial under load and faults")
    action.add_argument("--cleanup", action="store_true", help="remove what a crashed run left")
    parser.add_argument("--minutes", type=float, default=10.0, help="trial length (default 10)")
    parser.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="requests a second (default 20: a third buy a server, about what the two workers build on 2 cores)",
    )
    parser.add_argument("--write", action="store_true", help="put the trial's summary in docs/benchmarks.md")
    parser.add_argument("--port", type=int, default=8280, help="HAProxy's port on 127.0.0.1")
    parser.add_argument("--logs", metavar="DIR", help="copy the processes' logs here before removing the temp dir")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root (network namespaces, PostgreSQL as postgres)")
    if args.cleanup:
        cleanup_leftovers()
        return
    if run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        parser.error(f"bridge {BRIDGE} exists: another run is going, or run --cleanup first")

    cluster = Cluster(args.port)
    atexit.register(cluster.down, args.logs)
    # Ctrl-C even when started in the background (where SIGINT comes ignored), and
    # SIGTERM and SIGHUP, unwind through the finally below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, frame: sys.exit(128 + signum))
    try:
        cluster.up()
        plan, customers = smoke(cluster)
        if args.up:
            addresses_print(cluster)
            print("\nup; Ctrl-C stops everything")
            while True:
                time.sleep(3600)
        else:
            from bench.cluster_trial import trial_run

            trial_run(cluster, plan, customers, minutes=args.minutes, rate=args.rate, write=args.write)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping", file=sys.stderr)
    finally:
        cluster.down(args.logs)


if __name__ == "__main__":
    main()
