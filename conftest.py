"""Fixtures shared by every app's tests: a small world of users and plans."""

import contextlib
import os
import shutil
import threading
import types

import kombu.pools
import pytest
from django.db import connection, connections, transaction

from hostingportal.celery import app as celery_app


def celery_configure(**values):
    """Change Celery settings at run time. The app reads Django settings with the
    CELERY_ namespace, so keys must be set by their prefixed names."""
    for key, value in values.items():
        setattr(celery_app.conf, f"CELERY_{key.upper()}", value)
    # Forget pooled connections to the previous broker (kombu pools them per URL
    # and the app caches its pools); a closed pool would refuse even eager sends.
    kombu.pools.reset()
    celery_app._after_fork()


@pytest.fixture(autouse=True)
def _celery_runs_tasks_inline(settings):
    # Tasks run in-process unless a test starts a real worker; this is Celery
    # configuration, not a patch of our code.
    original_broker = celery_app.conf.broker_url
    celery_configure(task_always_eager=True, task_eager_propagates=False)
    yield
    celery_configure(task_always_eager=False, broker_url=original_broker)


@pytest.fixture
def broker_down():
    """The broker is unreachable and tasks really go to it (nothing runs inline)."""
    celery_configure(task_always_eager=False, broker_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield
    celery_configure(task_always_eager=True)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache; each test starts with none.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Production hashes passwords with PBKDF2, slow on purpose (0.45 s on this
    machine); the suite creates and signs in hundreds of users. Checks of the
    password rules and of sign-in itself are unchanged."""
    from django.test.utils import override_settings

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


@pytest.fixture
def alice(db):
    from accounts.factories import UserFactory

    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    from accounts.factories import UserFactory

    return UserFactory(email="bob@example.com")


def periodic_job_interval_passes(name):
    """The beat's next send of periodic job `name` (core.periodic): its last start
    moves back one schedule interval, as if the next minute (or hour) had come.
    Time moves for the gap only; a lease still held stays held."""
    from datetime import timedelta

    from django.db.models import F

    from core.models import PeriodicJob
    from hostingportal.schedule import BEAT_SCHEDULE

    interval = timedelta(seconds=BEAT_SCHEDULE[name]["schedule"])
    assert PeriodicJob.objects.filter(name=name).update(last_started_at=F("last_started_at") - interval) == 1


def api_client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(alice):
    """The REST API as alice (her own objects only, as for any customer)."""
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob):
    return api_client_for(bob)


@pytest.fixture
def staff(db):
    from accounts.factories import UserFactory

    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def plan(db):
    from billing.factories import HostingPlanFactory

    return HostingPlanFactory(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)


@pytest.fixture
def portal_order(api, plan, fake_razorpay):
    """An order created through the API, with its Razorpay order at the fake (here,
    not in payments' tests: billing's document tests and others pay orders too)."""
    from billing.models import Order

    response = api.post("/api/v1/orders/", {"plan": plan.slug, "billing_cycle_months": 1}, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(number=response.json()["number"])


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    """One line at the end when tests were skipped for a missing browser or database,
    so a run that looks green says what it did not try."""
    reasons = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        for known in ("no Chromium binary", "needs PostgreSQL"):
            if known in reason:
                reasons[reason.removeprefix("Skipped: ")] = reasons.get(reason.removeprefix("Skipped: "), 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} test(s) skipped: {reason}", yellow=True)


def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def fake_razorpay(settings):
    """Real Razorpay SDK calls, answered by a local fake Razorpay server."""
    from payments.tests.fake_razorpay import FakeRazorpay

    fake = FakeRazorpay().start()
    settings.PAYMENTS_SIMULATED = False
    settings.RAZORPAY_KEY_ID = fake.key_id
    settings.RAZORPAY_KEY_SECRET = fake.key_secret
    settings.RAZORPAY_WEBHOOK_SECRET = fake.webhook_secret
    settings.RAZORPAY_API_BASE = fake.base_url
    yield fake
    fake.stop()


def in_threads(callables):
    """Start all callables at once (a barrier) in threads with their own database
    connections; returns (results, errors). For race tests on PostgreSQL."""
    barrier = threading.Barrier(len(callables))
    results, errors = [], []

    def run(fn):
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - collected for the test to assert on
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in callables]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@contextlib.contextmanager
def transaction_held_open(work):
    """Run `work` in a transaction in another thread (its own connection) and keep
    that transaction open, with its row locks and uncommitted rows, until the block
    ends or `held.commit(after=seconds)` lets it go while the caller is blocked on it.
    Yields `held`, with `held.result` from `work`. For lock and race tests on PostgreSQL."""
    held = types.SimpleNamespace(result=None, error=None)
    done, release = threading.Event(), threading.Event()

    def commit(after=0):
        threading.Timer(after, release.set).start()

    def run():
        try:
            with transaction.atomic():
                held.result = work()
                done.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001 - raised again in the test's thread
            held.error = exc
        finally:
            done.set()
            connections.close_all()

    held.commit = commit
    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert done.wait(10), "the work in the held transaction did not finish"
        if held.error:
            raise held.error
        yield held
    finally:
        release.set()
        thread.join(10)


# --- Browser tests (Playwright driving Debian's Chromium) ---------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
# Mark a browser test module with `pytestmark = browser_test`. CI installs Debian's
# Chromium (.ci/run), so there a missing browser fails instead of skipping.
browser_test = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"), reason="no Chromium binary (apt-get install chromium)"),
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium; `browser.new_page(**PHONE)` for a 390 px phone."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Without the background-networking flags Chromium keeps dialling Google on this closed network.
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection
        # (Django's connections are context-local); close it, or PostgreSQL
        # refuses to drop the test database.
        connections.close_all()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_default_timeout(10_000)
    return page


def browser_sign_in(page, base_url, email, password):
    """Sign in through the real login form."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@contextlib.contextmanager
def silent_server():
    """A TCP server that accepts connections, reads what it is sent and never answers:
    a frozen broker (Redis under SIGSTOP: the kernel still accepts). Yields its port."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.setblocking(False)  # read nothing back; the kernel buffers what is sent
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


@contextlib.contextmanager
def hard_deadline(seconds):
    """Fail the test if the block is still running after `seconds` (SIGALRM interrupts a
    blocking socket read in the main thread), so a hang is a failure, not a stuck suite."""
    import signal

    def expire(signum, frame):
        raise AssertionError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
