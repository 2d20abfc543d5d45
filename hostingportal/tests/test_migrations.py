"""Migrations apply from an empty database, on SQLite and (when reachable) PostgreSQL."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]


def run_manage(*args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "True"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_migrations_apply_from_zero_on_sqlite(sqlite_migrated_from_zero, sqlite_migrated):
    result, _ = sqlite_migrated_from_zero
    assert result.returncode == 0, result.stderr
    result = run_manage("seed_demo", database_url=f"sqlite:///{sqlite_migrated}")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.postgres_only
def test_migrations_apply_from_zero_on_postgresql_and_back(django_db_setup):
    """Forwards from empty is what made this run's test database (pytest-django migrates it);
    a copy of it, made by PostgreSQL from that database as a template, is taken back."""
    import psycopg
    from django.db import connections

    db = settings.DATABASES["default"]
    name = f"migrate_from_zero_{uuid.uuid4().hex[:8]}"
    conninfo = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres")
    connections.close_all()  # a template must have no other session
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        try:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{db["NAME"]}"')
            migrated = True
        except psycopg.errors.ObjectInUse:  # a process of an earlier test still connected: start empty
            conn.execute(f'CREATE DATABASE "{name}"')
            migrated = False
    try:
        url = f"postgres://{db['USER']}@{conninfo['host']}:{conninfo['port']}/{name}"
        if not migrated:
            result = run_manage("migrate", "--noinput", database_url=url)
            assert result.returncode == 0, result.stderr
        back = run_manage("migrate", "billing", "zero", "--noinput", database_url=url)
        assert back.returncode == 0, back.stderr
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
