import pytest

from hostingportal.celery import app


@pytest.fixture(autouse=True)
def _tasks_imported():
    app.loader.import_default_modules()  # what a worker does at startup: import every app's tasks


def test_the_sweeper_runs_every_minute_from_the_beat_schedule():
    entry = app.conf.beat_schedule["servers-enqueue-pending"]
    assert entry["task"] == "servers.tasks.enqueue_pending_servers"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == 60.0


def test_every_beat_entry_names_a_registered_task():
    assert app.conf.beat_schedule
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
