#!/usr/bin/env python3
"""The check behind `scripts/two_beats` (issue 27): two beats sent every periodic job
for a minute; did each job act once per gap and never overlap?

    python scripts/check_two_beats.py prepare
        forget the jobs' last runs (core.PeriodicJob) and make every beat entry due
        now, as for beats coming back after a day down. For CI and dev databases.
    python scripts/check_two_beats.py drain WORKER_NAME QUEUE...
        once the beats are stopped, wait until the worker has run every copy they sent:
        the queues are empty and the worker holds no task it has not run (a copy sent
        and never run would count as sent and not refused). Fails after 30 s.
    python scripts/check_two_beats.py check WORKER_LOG BEAT_LOG BEAT_LOG
        read the worker's own log lines ("Task NAME[id] succeeded in Ns: RESULT"),
        which Celery writes whether or not a guard exists, and fail unless, for
        every job: it ran, every copy sent ran or was refused, a copy was refused
        if both beats sent it, successive runs started at least half its interval
        apart and never before the previous one ended, and its row in
        core.PeriodicJob counts the same runs.
        Both beats must have sent jobs, at least one job must have been sent by
        both, and no log may hold a Traceback.
"""

import os
import pathlib
import re
import sys
import time
from datetime import datetime, timedelta
from itertools import pairwise

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")

# Celery's worker lines: "[2026-12-06 07:41:02,118: INFO/ForkPoolWorker-1] Task ops.tasks.x[uuid] succeeded in 0.01s: 0"
SUCCEEDED = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[^\]]+\] "
    r"Task (?P<task>[\w.]+)\[[\w-]+\] succeeded in (?P<seconds>[\d.e-]+)s: (?P<result>.*)$"
)
SENT = re.compile(r"Scheduler: Sending due task (?P<entry>[\w.-]+) \((?P<task>[\w.]+)\)")
# The log's clock has millisecond steps and a run's start is its end less Celery's own timing of it.
SLACK_SECONDS = 0.05


def prepare():
    import django

    django.setup()
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from core.models import PeriodicJob
    from hostingportal.celery import app
    from hostingportal.schedule import BEAT_SCHEDULE

    PeriodicJob.objects.all().delete()
    DatabaseScheduler(app=app)  # writes the schedule's rows, as a beat does at start
    due = PeriodicTask.objects.filter(name__in=BEAT_SCHEDULE).update(last_run_at=timezone.now() - timedelta(days=2))
    assert due == len(BEAT_SCHEDULE), f"{due} of {len(BEAT_SCHEDULE)} entries made due"
    print(f"{due} jobs due now, no job has run")


def drain(worker, *queues, seconds=30.0):
    """0 once `worker` has run everything sent to `queues` (seen idle twice running, as a
    message popped from a queue is in no list for a moment), 1 after `seconds`. Copies
    re-sent for later (periodic_job_resent's countdown) are not waited for."""
    import django

    django.setup()
    import redis

    from hostingportal.celery import app

    broker = redis.Redis.from_url(app.conf.broker_url)
    inspect = app.control.inspect(destination=[worker], timeout=1.0)
    deadline = time.monotonic() + seconds
    idle, held = 0, None
    while time.monotonic() < deadline:
        queued = sum(broker.llen(queue) for queue in queues)
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        held = None if worker not in active else len(active[worker]) + len(reserved.get(worker, []))
        idle = idle + 1 if queued == 0 and held == 0 else 0
        if idle == 2:
            return 0
        time.sleep(0.2)
    print(f"FAIL {worker} had not run what the beats sent within {seconds:.0f} s: {queued} queued, "
          f"{'no answer' if held is None else held} held", file=sys.stderr)  # fmt: skip
    return 1


def runs_in(worker_log):
    """{task: [(start, end, skipped)]} from the worker's succeeded lines."""
    runs = {}
    for line in worker_log.splitlines():
        found = SUCCEEDED.match(line)
        if not found:
            continue
        end = datetime.strptime(found["at"], "%Y-%m-%d %H:%M:%S,%f")
        start = end - timedelta(seconds=float(found["seconds"]))
        skipped = "'skipped': True" in found["result"]
        runs.setdefault(found["task"], []).append((start, end, skipped))
    return runs


def check(worker_log_path, *beat_log_paths):
    import django

    django.setup()
    from core.models import PeriodicJob
    from hostingportal.schedule import BEAT_SCHEDULE

    logs = {path: pathlib.Path(path).read_text() for path in (worker_log_path, *beat_log_paths)}
    problems = [f"{path}: Traceback" for path, text in logs.items() if "Traceback" in text]
    for path in beat_log_paths:
        if not SENT.search(logs[path]):
            problems.append(f"{path}: this beat sent nothing")
    runs = runs_in(logs[worker_log_path])
    rows = {job.name: job for job in PeriodicJob.objects.all()}
    senders, notes = {}, []
    print(f"{'job':32} {'sent':>4} {'ran':>3} {'skipped':>7}  closest starts (s)  gap (s)")
    for name, entry in BEAT_SCHEDULE.items():
        gap = entry["schedule"] / 2
        sent_by_beat = [sum(m["entry"] == name for m in SENT.finditer(logs[path])) for path in beat_log_paths]
        sent = sum(sent_by_beat)
        senders[name] = sum(1 for count in sent_by_beat if count)
        copies = sorted(runs.get(entry["task"], []))
        ran = [(start, end) for start, end, skipped in copies if not skipped]
        closest = min(((b[0] - a[0]).total_seconds() for a, b in pairwise(ran)), default=None)
        spacing = "-" if closest is None else f"{closest:.1f}"
        print(f"{name:32} {sent:>4} {len(ran):>3} {len(copies) - len(ran):>7}  {spacing:>18}  {gap:>7.0f}")
        if not ran:
            problems.append(f"{name}: never ran (every job was due at the start)")
        # Every copy a beat sent ran (ran or was refused), and at most the re-sent ones besides:
        # a copy left unrun would count as sent and not refused.
        resent = logs[worker_log_path].count(f"periodic_job_resent name={name} ")
        if not sent <= len(copies) <= sent + resent:
            problems.append(f"{name}: {sent} copies sent and {resent} re-sent, but {len(copies)} ran or were refused")
        # A beat that reads the schedule after the other has sent a job and saved its
        # last run (Celery saves on a beat's first tick) finds the job not due and sends
        # nothing: one copy, nothing to refuse. A job both beats sent must show a refusal.
        if senders[name] == len(beat_log_paths) and len(copies) == len(ran):
            problems.append(f"{name}: both beats sent it and no copy was refused, so both were run")
        if senders[name] < len(beat_log_paths):
            notes.append(f"{name}: only one beat sent it (the other found it run already)")
        for (start_a, end_a), (start_b, _) in pairwise(ran):
            if start_b < end_a - timedelta(seconds=SLACK_SECONDS):
                problems.append(f"{name}: a run started at {start_b} while the one from {start_a} ran (to {end_a})")
            if (start_b - start_a).total_seconds() < gap - SLACK_SECONDS:
                problems.append(f"{name}: ran at {start_a} and again at {start_b}, within its gap of {gap:.0f} s")
        row = rows.get(name)
        if row is None or row.runs != len(ran) or row.lease_until is not None or row.last_outcome != "succeeded":
            state = row and (row.runs, row.lease_until, row.last_outcome)
            problems.append(f"{name}: its job row (runs, lease, outcome) {state} does not match {len(ran)} runs")
    if not any(count == len(beat_log_paths) for count in senders.values()):
        problems.append("no job was sent by both beats, so the guard was never tried")
    for note in notes:
        print("note", note)
    for problem in problems:
        print("FAIL", problem, file=sys.stderr)
    print("two beats: every job ran once per gap, never overlapping" if not problems else "two beats: FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    command, *arguments = sys.argv[1:] or ["help"]
    if command == "prepare" and not arguments:
        prepare()
    elif command == "drain" and len(arguments) >= 2:
        sys.exit(drain(*arguments))
    elif command == "check" and len(arguments) >= 2:
        sys.exit(check(*arguments))
    else:
        sys.exit(__doc__)
