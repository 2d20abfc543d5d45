"""The Celery beat schedule: every periodic task of the portal, in one dict.

Add an entry per periodic task. Each expires after its own interval, so a beat
that ran while no worker was up does not leave a backlog of identical runs. The
safety-net sweeps are routed to their own queue (settings.SWEEP_TASKS), so they
never wait, and expire, behind the work they are there to rescue.
"""

from ops.schedule import BEAT_SCHEDULE as OPS_SCHEDULE

BEAT_SCHEDULE = {
    "servers-enqueue-pending": {
        "task": "servers.tasks.enqueue_pending_servers",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "outbox-sweep": {
        "task": "outbox.tasks.sweep_outbox",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "lifecycle-sweep-reminders": {
        "task": "lifecycle.tasks.sweep_reminders",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "servers-sweep-operations": {
        "task": "servers.tasks.sweep_server_operations",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # The billing day (CONTRACT: at least hourly); re-running it changes nothing more.
    "lifecycle-run-billing": {
        "task": "lifecycle.tasks.run_billing",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    **OPS_SCHEDULE,
}
