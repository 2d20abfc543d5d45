"""Celery beat starts on a fresh deploy (issue 18: with a Redis broker it exited at once
with FileNotFoundError for var/celerybeat-schedule, so no safety net ever ran)."""

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.conf import settings

from servers.tests.test_worker import REDIS_URL, redis_reachable, worker_database_url

BEAT_STAYS_UP_SECONDS = 8


def fresh_clone(target):
    """The repository's files as a deploy gets them: no var/, nothing generated."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=settings.BASE_DIR, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = settings.BASE_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.postgres_only
@pytest.mark.slow
def test_beat_starts_from_a_fresh_clone_against_redis_and_stays_up(transactional_db, tmp_path):
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / "var").exists()
    queue = f"test-beat-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log_path = tmp_path / "beat.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hostingportal", "beat", "--loglevel=INFO"],
            cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + BEAT_STAYS_UP_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        output = log_path.read_text()
        assert process.poll() is None, f"beat exited with {process.returncode}:\n{output[-3000:]}"
        assert "Traceback" not in output, output[-3000:]
        # The schedule lives in the database (editable in the admin), not in a file.
        from django_celery_beat.models import PeriodicTask

        names = set(PeriodicTask.objects.values_list("name", flat=True))
        assert {"servers-enqueue-pending", "outbox-sweep", "ops-reconcile-payments"} <= names
        assert not (clone / "var").exists()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        redis.Redis.from_url(REDIS_URL).delete(queue, f"_kombu.binding.{queue}")


def test_every_safety_net_sweep_runs_on_the_sweep_queue_and_the_procfiles_start_a_sweeper():
    from django.conf import settings

    from hostingportal.schedule import BEAT_SCHEDULE

    sweeps = {entry["task"] for entry in BEAT_SCHEDULE.values() if entry["schedule"] <= 300}
    assert sweeps <= set(settings.SWEEP_TASKS)
    assert {settings.CELERY_TASK_ROUTES[task]["queue"] for task in sweeps} == {settings.CELERY_SWEEP_QUEUE}
    for procfile in ("Procfile", "Procfile.dev"):
        text = (settings.BASE_DIR / procfile).read_text()
        assert "sweeper: celery -A hostingportal worker -Q ${CELERY_SWEEP_QUEUE:-sweeps}" in text


def test_every_job_of_the_beat_schedule_runs_under_its_lease_and_only_they_do():
    """Two beats send every entry twice; each task body must sit behind core.periodic's lease."""
    from hostingportal.celery import app
    from hostingportal.schedule import BEAT_SCHEDULE

    app.loader.import_default_modules()
    guarded = {name for name, task in app.tasks.items() if getattr(task.run, "periodic_job_task", None) == name}
    assert guarded == {entry["task"] for entry in BEAT_SCHEDULE.values()}


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections, as beat does
def test_the_beat_writes_only_the_schedule_s_entries_so_none_runs_unguarded():
    """Celery adds `celery.backend_cleanup` to a beat's schedule while results expire; with
    no result backend it only cleans nothing, but every beat would send it, outside the lease."""
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from hostingportal.celery import app
    from hostingportal.schedule import BEAT_SCHEDULE

    DatabaseScheduler(app=app)  # writes its entries, as beat does when it starts

    assert set(PeriodicTask.objects.values_list("name", flat=True)) == set(BEAT_SCHEDULE)
