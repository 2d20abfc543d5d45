import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")

app = Celery("hostingportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def beat_schedule_install(sender, **kwargs):
    # Settings are read with the CELERY_ namespace, so the prefixed key is the one
    # that counts (a plain `beat_schedule` would be shadowed by settings' empty dict).
    from .schedule import BEAT_SCHEDULE

    sender.conf.CELERY_BEAT_SCHEDULE = beat_entries(BEAT_SCHEDULE)


def beat_entries(schedule):
    """The schedule as django-celery-beat reads it: it keeps an entry's expiry
    (Celery's `expires` option, in seconds) under the name `expire_seconds`, and
    would silently drop `expires`."""
    entries = {}
    for name, entry in schedule.items():
        options = dict(entry.get("options", {}))
        if "expires" in options:
            options.setdefault("expire_seconds", options.pop("expires"))
        entries[name] = {**entry, "options": options}
    return entries
