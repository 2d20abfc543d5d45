"""Two single-statement writes the ORM cannot express, for the payment path.

Confirming a payment must take milliseconds, and on two shared cores every
round trip and every compiled ORM statement counts. Each helper here replaces
a read-then-write (and its savepoint) with one statement, atomic in the
database itself. Both work on PostgreSQL and on SQLite (3.35+, for RETURNING).
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


def increment_and_return(model, counter_field: str, **where) -> int | None:
    """`UPDATE ... SET counter = counter + 1 WHERE ... RETURNING counter` on one
    row: the row lock is taken and released with the transaction, and the new
    value comes back in the same statement. None when no row matches."""
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    column = quote(meta.get_field(counter_field).column)
    conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in where)
    sql = f"UPDATE {quote(meta.db_table)} SET {column} = {column} + 1 WHERE {conditions} RETURNING {column}"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(where.values()))
        row = cursor.fetchone()
    return None if row is None else row[0]
