"""DATABASE_TRANSACTION_POOLING: DATABASE_URL points at a transaction-pooling PgBouncer,
where each transaction may run on another server connection. Nothing the portal leaves
on a server connection may then outlive its transaction (docs/deploy.md, PgBouncer)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POOLER_URL = "postgres://portal@pgbouncer.example:6432/portal"  # never connected to

SETTINGS_PROBE = """
import json
from hostingportal import settings
database = settings.DATABASES["default"]
print(json.dumps({
    "options": database["OPTIONS"],
    "server_side_cursors_off": database.get("DISABLE_SERVER_SIDE_CURSORS", False),
    "conn_max_age": database["CONN_MAX_AGE"],
    "health_checks": database["CONN_HEALTH_CHECKS"],
}))
"""


def run_python(code, **env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_TRANSACTION_POOLING", "DATABASE_PREPARED_STATEMENTS", "PORTAL_PROCESS")
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def database_settings(**env_overrides):
    result = run_python(SETTINGS_PROBE, DATABASE_URL=POOLER_URL, **env_overrides)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_behind_a_transaction_pooler_no_statement_is_prepared_and_no_cursor_is_held():
    database = database_settings(DATABASE_TRANSACTION_POOLING="true", PORTAL_PROCESS="web")
    # psycopg prepares after 5 runs unless told None; Django binds client-side unless told True.
    assert database["options"]["prepare_threshold"] is None
    assert database["options"]["server_side_binding"] is False
    assert database["server_side_cursors_off"] is True
    # PgBouncer refuses a connection that sends `options` ("unsupported startup parameter"):
    # the web statement timeout comes from the web nodes' database role there.
    assert "options" not in database["options"]
    # A kept connection to PgBouncer holds no server connection between transactions.
    assert (database["conn_max_age"], database["health_checks"]) == (60, True)


def test_without_the_switch_the_portal_prepares_statements_and_streams_through_server_side_cursors():
    database = database_settings(PORTAL_PROCESS="web", WEB_STATEMENT_TIMEOUT_MS="4000")
    assert (database["options"]["server_side_binding"], database["options"]["prepare_threshold"]) == (True, 2)
    assert database["server_side_cursors_off"] is False
    assert database["options"]["options"] == "-c statement_timeout=4000"


def test_prepared_statements_can_still_be_turned_off_alone():
    database = database_settings(DATABASE_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in database["options"] and "prepare_threshold" not in database["options"]
    assert database["server_side_cursors_off"] is False


def test_prepared_statements_asked_for_behind_a_transaction_pooler_refuse_to_start():
    result = run_python(
        SETTINGS_PROBE, DATABASE_URL=POOLER_URL, DATABASE_TRANSACTION_POOLING="true", DATABASE_PREPARED_STATEMENTS="true"
    )
    assert result.returncode != 0
    assert "DATABASE_PREPARED_STATEMENTS" in result.stderr and "DATABASE_TRANSACTION_POOLING" in result.stderr


CONNECTION_PROBE = """
import django
django.setup()
from django.db.migrations.recorder import MigrationRecorder
from django.db import connection
stream = MigrationRecorder.Migration.objects.iterator(chunk_size=2)  # as the ledger audit and GSTR-1 read
next(stream)
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_cursors")
    print(connection.connection.prepare_threshold, cursor.fetchone()[0])
"""


@pytest.mark.postgres_only
def test_the_switch_reaches_the_connection_no_prepare_threshold_and_no_declared_cursor(db):
    """Against the real PostgreSQL (the test database, migrated): a streamed read declares
    no cursor on the server, where it would stay on a server connection that the next
    FETCH may not get."""
    from django.db import connection

    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    env = {"DJANGO_SETTINGS_MODULE": "hostingportal.settings", "DATABASE_URL": url}
    pooled = run_python(CONNECTION_PROBE, DATABASE_TRANSACTION_POOLING="true", **env)
    assert pooled.stdout.split() == ["None", "0"], pooled.stderr[-2000:]
    direct = run_python(CONNECTION_PROBE, **env)
    assert direct.stdout.split() == ["2", "1"], direct.stderr[-2000:]
