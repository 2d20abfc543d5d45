"""Long reads streamed through a server-side cursor inside one transaction.

Behind a transaction-pooling PgBouncer (DATABASE_TRANSACTION_POOLING) Django's
`.iterator()` may not declare a cursor: outside a transaction it would be a
`WITH HOLD` cursor, left on a server connection that the next FETCH may not get,
so settings turn server-side cursors off and `.iterator()` receives its whole
result at once. For the few reads that walk every order or a month's documents
that costs hundreds of megabytes (docs/benchmarks.md, "Behind PgBouncer"). A cursor
declared inside a transaction lives and dies on that transaction's one server
connection, whatever the pooler, so these reads declare theirs there.
"""

from django.db import connections
from django.db.transaction import TransactionManagementError


def rows_streamed(queryset, *, chunk_size):
    """Yield the rows of `queryset` (instances, or dicts for .values()) as
    `.iterator(chunk_size=...)` does, through a server-side cursor even when
    DISABLE_SERVER_SIDE_CURSORS is set. Only inside transaction.atomic(): the
    cursor must not outlive the transaction."""
    connection = connections[queryset.db]
    if not connection.in_atomic_block:
        raise TransactionManagementError("rows_streamed() needs a transaction: wrap the read in transaction.atomic()")
    # The iterable classes are what QuerySet.iterator() itself uses; it only
    # decides chunked_fetch from the setting, which this read overrides.
    yield from queryset._iterable_class(queryset, chunked_fetch=True, chunk_size=chunk_size)
