"""rows_streamed: long reads keep a server-side cursor, inside one transaction, even
where settings turn server-side cursors off (behind a transaction-pooling PgBouncer)."""

import pytest
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.transaction import TransactionManagementError

from core.streams import rows_streamed


@pytest.fixture
def server_side_cursors_off(monkeypatch):
    """What DATABASE_TRANSACTION_POOLING sets: .iterator() declares no cursor."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)


def cursors_declared():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        return cursor.fetchone()[0]


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_a_stream_reads_through_a_cursor_chunk_by_chunk_with_server_side_cursors_off(server_side_cursors_off):
    applied = MigrationRecorder.Migration.objects.order_by("pk")
    stream = rows_streamed(applied, chunk_size=2)
    first = next(stream)
    assert cursors_declared() == 1  # not the whole result at once
    assert [first.pk, *(row.pk for row in stream)] == list(applied.values_list("pk", flat=True))
    values = rows_streamed(applied.values("app", "name"), chunk_size=2)
    assert next(values).keys() == {"app", "name"}
    # What .iterator() does under the same settings: no cursor, the whole result at once.
    next(MigrationRecorder.Migration.objects.iterator(chunk_size=2))
    assert cursors_declared() == 1


@pytest.mark.django_db(transaction=True)
def test_a_stream_outside_a_transaction_is_refused():
    """Outside a transaction its cursor would be WITH HOLD, left on a server connection
    that a transaction-pooling PgBouncer lends to someone else."""
    with pytest.raises(TransactionManagementError):
        next(rows_streamed(MigrationRecorder.Migration.objects.all(), chunk_size=2))
    with transaction.atomic():
        assert next(rows_streamed(MigrationRecorder.Migration.objects.all(), chunk_size=2)).pk
