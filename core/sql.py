"""Statements for the payment path, built once and kept, instead of by the ORM
on every call.

Confirming a payment must take milliseconds, and on two shared cores every
round trip and every compiled ORM statement counts: the ORM spends about
0.5 ms of CPU building a one-row SELECT that takes PostgreSQL 0.1 ms to run.
The write helpers replace a read-then-write (and its savepoint) with one
statement, atomic in the database itself; `select_row` is the cached form of
`.get()`. All work on PostgreSQL and on SQLite (3.35+, for RETURNING).
"""

import functools

from django.db import DatabaseError, connections, router


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


@functools.lru_cache(maxsize=64)
def update_sql(model, field_names, using):
    """The UPDATE of `field_names` on one row of `model` by primary key, built once."""
    meta = model._meta
    quote = connections[using].ops.quote_name
    fields = tuple(meta.get_field(name) for name in field_names)
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s", fields


def update_row(instance, update_fields) -> None:
    """`instance.save(update_fields=...)` from a statement built once: auto_now
    fields among `update_fields` are stamped as save() stamps them. Like save(),
    raises DatabaseError when the row is gone. Model save() methods and signals
    are not run (none exist on the models it is used for)."""
    using = instance._state.db or router.db_for_write(type(instance), instance=instance)
    connection = connections[using]
    sql, fields = update_sql(type(instance), tuple(update_fields), using)
    values = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, instance.pk])
        if cursor.rowcount != 1:
            raise DatabaseError(f"Update of {instance._meta.label} {instance.pk} affected {cursor.rowcount} rows")


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


@functools.lru_cache(maxsize=64)
def select_sql(model, field_names, where_names, for_update, using):
    """The SELECT for one row of `model`, its columns' attnames and converters, built once."""
    meta = model._meta
    connection = connections[using]
    quote = connection.ops.quote_name
    # In the model's own order, the primary key always included: Model.from_db
    # places a partial row's values by that order, whatever order they were asked in.
    wanted = {meta.get_field(name) for name in field_names} | {meta.pk}
    fields = tuple(field for field in meta.concrete_fields if not field_names or field in wanted)
    conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in where_names)
    lock = " FOR UPDATE" if for_update and connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {', '.join(quote(field.column) for field in fields)} FROM {quote(meta.db_table)} "
        f"WHERE {conditions}{lock}"
    )
    # What the ORM's compiler would apply to each column (JSON decoding, SQLite's dates...).
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, column, tuple(found)))
    where_fields = tuple(meta.get_field(name) for name in where_names)
    return sql, tuple(field.attname for field in fields), where_fields, tuple(converters)


def select_row(model, *, fields: tuple[str, ...] = (), for_update: bool = False, **where):
    """`model.objects[.select_for_update()].only(*fields).get(**where)`, or None
    when no row matches, from a statement built once per shape.

    `where` names columns by field name or attname (`user_id=user.pk`) and must
    pick out at most one row (a unique column or combination). The instance is
    built by Model.from_db, as the ORM builds it: fields not asked for are
    deferred, relations load lazily.
    """
    using = router.db_for_write(model) if for_update else router.db_for_read(model)
    connection = connections[using]
    sql, attnames, where_fields, converters = select_sql(model, tuple(fields), tuple(where), for_update, using)
    params = [
        field.get_db_prep_value(value, connection) for field, value in zip(where_fields, where.values(), strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        row = list(row)
        for index, column, functions in converters:
            for function in functions:
                row[index] = function(row[index], column, connection)
    return model.from_db(using, attnames, row)


@functools.lru_cache(maxsize=64)
def exists_sql(model, where_shape, using):
    """`SELECT 1 ... LIMIT 1` for `where_shape` ((field name, None for = or the
    number of values for __in), ...), and the fields whose values it takes, built once."""
    meta = model._meta
    quote = connections[using].ops.quote_name
    conditions, where_fields = [], []
    for name, count in where_shape:
        field = meta.get_field(name)
        if count is None:
            conditions.append(f"{quote(field.column)} = %s")
            where_fields.append(field)
        else:
            conditions.append(f"{quote(field.column)} IN ({', '.join(['%s'] * count)})")
            where_fields += [field] * count
    sql = f"SELECT 1 FROM {quote(meta.db_table)} WHERE {' AND '.join(conditions)} LIMIT 1"
    return sql, tuple(where_fields)


def row_exists(model, **where) -> bool:
    """`model.objects.filter(**where).exists()` from a statement built once per
    shape. `where` takes `name=value` and `name__in=(values...)`, nothing else."""
    using = router.db_for_read(model)
    connection = connections[using]
    shape, values = [], []
    for key, value in where.items():
        if key.endswith("__in"):
            value = tuple(value)
            if not value:
                return False  # IN () matches nothing, as the ORM says
            shape.append((key.removesuffix("__in"), len(value)))
            values += value
        else:
            if value is None:  # `= NULL` matches nothing, where the ORM would ask IS NULL
                raise ValueError(f"row_exists({key}=None): ask the ORM for IS NULL")
            shape.append((key, None))
            values.append(value)
    sql, where_fields = exists_sql(model, tuple(shape), using)
    params = [field.get_db_prep_value(value, connection) for field, value in zip(where_fields, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


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
