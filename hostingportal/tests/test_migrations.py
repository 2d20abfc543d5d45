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
def test_migrations_apply_from_zero_on_sqlite(tmp_path):
    result = run_manage("migrate", "--noinput", database_url=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert result.returncode == 0, result.stderr
    result = run_manage("seed_demo", database_url=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.postgres_only
def test_migrations_apply_from_zero_on_postgresql():
    import psycopg

    db = settings.DATABASES["default"]
    name = f"migrate_from_zero_{uuid.uuid4().hex[:8]}"
    conninfo = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres")
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://{db['USER']}@{conninfo['host']}:{conninfo['port']}/{name}"
        result = run_manage("migrate", "--noinput", database_url=url)
        assert result.returncode == 0, result.stderr
        back = run_manage("migrate", "billing", "zero", "--noinput", database_url=url)
        assert back.returncode == 0, back.stderr
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
