"""Celery beat entries for the ops safety nets; merged into CELERY_BEAT_SCHEDULE.

Each entry expires after its own interval, so a beat that ran while no worker
was up does not leave a backlog of identical runs for the worker to chew on.
"""

BEAT_SCHEDULE = {
    "ops-retry-webhook-events": {
        "task": "ops.tasks.retry_webhook_events",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "ops-watch-and-recover": {
        "task": "ops.tasks.watch_and_recover",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    "ops-audit-ledger": {
        "task": "ops.tasks.audit_ledger_daily",
        "schedule": 86400.0,
        "options": {"expires": 3600},
    },
    "ops-reconcile-payments": {
        "task": "ops.tasks.reconcile_recent_payments",
        "schedule": 900.0,
        "options": {"expires": 900},
    },
}
