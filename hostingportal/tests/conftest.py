"""Fixtures of the portal-wide tests."""

import shutil

import pytest


@pytest.fixture(scope="session")
def sqlite_migrated_from_zero(tmp_path_factory):
    """An embedded SQLite database migrated from empty by `manage.py migrate` (about 15 s,
    paid once for the tests that need one): the finished process, and the file."""
    from hostingportal.tests.test_migrations import run_manage

    database = tmp_path_factory.mktemp("sqlite-from-zero") / "fresh.sqlite3"
    return run_manage("migrate", "--noinput", database_url=f"sqlite:///{database}"), database


@pytest.fixture
def sqlite_migrated(sqlite_migrated_from_zero, tmp_path):
    """A copy of that database of the test's own, to change as it likes."""
    result, database = sqlite_migrated_from_zero
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "migrated.sqlite3"
    shutil.copyfile(database, copy)
    return copy
