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

    sender.conf.CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
