"""`INSERT ... ON CONFLICT DO NOTHING RETURNING pk`: what the ORM cannot say.

Each replaces a read-then-write (and its savepoint) with one statement, atomic
in the database itself, and says whether the row was written (bulk_create with
ignore_conflicts cannot). Everything else is the ORM's. All work on PostgreSQL
and on SQLite (3.35+, for RETURNING).
"""

import functools

from django.db import connections, router


@functools.lru_cache(maxsize=64)
def insert_sql(model, unique_field, using):
    """The INSERT statement for `model` (all concrete fields but the primary key), built once."""
    meta = model._meta
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = tuple(field for field in meta.concrete_fields if not field.primary_key)
    conflict = f"ON CONFLICT ({quote(meta.get_field(unique_field).column)}) DO NOTHING " if unique_field else ""
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) {conflict}RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def insert_row(instance) -> None:
    """INSERT the unsaved `instance`: what Model.save() sends for a new row,
    without the ORM building the statement again each time."""
    insert_unless_exists(instance, None)


def insert_unless_exists(instance, unique_field: str | None) -> bool:
    """INSERT the unsaved `instance`, unless a row with the same `unique_field`
    value exists: `INSERT ... ON CONFLICT (column) DO NOTHING RETURNING pk`.

    True: written, and `instance` now has its primary key. False: nothing
    written (the row already existed, or a concurrent transaction committed one
    first; PostgreSQL waits for that transaction rather than failing), and the
    caller's transaction is still usable, with no savepoint needed.
    Defaults and auto_now(_add) fields are filled as Model.save() fills them;
    model save() methods and signals are not run (none exist on these models).
    """
    using = router.db_for_write(type(instance), instance=instance)
    connection = connections[using]
    sql, fields = insert_sql(type(instance), unique_field, using)
    values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, using
    return True


def insert_many_unless_exist(instances, conflict_fields: tuple[str, ...] | None) -> list:
    """INSERT the unsaved `instances` in one statement, skipping each whose
    `conflict_fields` values a row (or a concurrent transaction's row) already has:
    `INSERT ... VALUES (...), (...) ON CONFLICT (columns) DO NOTHING RETURNING pk`.
    With None, a row conflicting on any unique index is skipped (for partial
    unique indexes, which a column list cannot name).
    Returns the primary keys of the rows written. For batches (run_billing's
    reminders): the ORM's bulk_create(ignore_conflicts=True) cannot say which were written."""
    if not instances:
        return []
    model = type(instances[0])
    meta = model._meta
    using = router.db_for_write(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    row = f"({', '.join(['%s'] * len(fields))})"
    conflict = (
        "(" + ", ".join(quote(meta.get_field(name).column) for name in conflict_fields) + ") " if conflict_fields else ""
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES {', '.join([row] * len(instances))} ON CONFLICT {conflict}DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for instance in instances for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [pk for (pk,) in cursor.fetchall()]
