"""Fixtures shared by every app's tests: a small world of users and plans."""

import pytest
from django.db import connection

from hostingportal.celery import app as celery_app


@pytest.fixture(autouse=True)
def _celery_runs_tasks_inline(settings):
    # Tasks run in-process unless a test starts a real worker; this is Celery
    # configuration, not a patch of our code.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice(db):
    from accounts.factories import UserFactory

    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob(db):
    from accounts.factories import UserFactory

    return UserFactory(email="bob@example.com")


@pytest.fixture
def staff(db):
    from accounts.factories import UserFactory

    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def plan(db):
    from billing.factories import HostingPlanFactory

    return HostingPlanFactory(slug="g-8gb", name="G.8GB", price_paise=224000, vcpu=4, ram_gb=8, disk_gb=160)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); CI runs it")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


def is_postgres():
    return connection.vendor == "postgresql"
