"""A row and its first child row inserted by one PostgreSQL statement.

Inside ``transaction.atomic`` two inserts cost four round trips to the database: BEGIN, each
INSERT, COMMIT. One statement is atomic by itself, so run outside a transaction it needs one round
trip, and the database commits it as it would a transaction (its deferred foreign keys are
checked at the end of the statement). For a report filed through the API that is three of the
eight round trips a filing makes to PostgreSQL and Redis, each one a write, a wake-up and a read.

The SQL of each insert is Django's own (fields' pre_save, conversions and RETURNING); the child's
row is selected from the parent insert's RETURNING, in a data-modifying WITH clause, which SQLite
lacks: ``available()`` says whether the connection can do it.

A parent that clashes with a unique constraint (a report's random ref, once in tens of thousands
of filings) is not inserted and neither is its child: ``ON CONFLICT DO NOTHING``, reported as
``Taken``. The statement raised no error, so a caller's transaction goes on unspoiled, without the
savepoint (two more round trips) that an error would need.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections
from django.db.models import Field, Model
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery

from config.compiled import fixed_statement_cursor

PARENT = "inserted_parent"


def available(using: str = DEFAULT_DB_ALIAS) -> bool:
    return connections[using].vendor == "postgresql"


class Taken(IntegrityError):
    """The parent clashed with a unique constraint: nothing was inserted, and the connection's
    transaction, if any, is as it was."""


def insert_with_child(
    parent: Model, child: Model, link: str, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Insert ``parent`` and ``child``, whose foreign key ``link`` points at the parent, in one
    statement; both get their primary keys, as after save(). Raises ``Taken`` (and inserts
    nothing) if the parent clashes with a unique constraint."""
    connection = connections[using]
    parent_pk = type(parent)._meta.pk
    link_field = type(child)._meta.get_field(link)
    if parent_pk is None or parent_pk.column is None or not isinstance(link_field, Field):
        raise TypeError(f"{link!r} is not a field of {type(child).__name__}")
    # Names from the models' own metadata, never from input.
    pick = f'"{PARENT}".{connection.ops.quote_name(parent_pk.column)}'
    setattr(child, link_field.attname, RawSQL(pick, ()))  # noqa: S611
    parent_sql, parent_params = _insert_sql(parent, using, [parent_pk], OnConflict.IGNORE)
    child_sql, child_params = _insert_sql(child, using, [type(child)._meta.pk, link_field])
    with fixed_statement_cursor(using) as cursor:
        cursor.execute(
            f'WITH "{PARENT}" AS ({parent_sql}) {_from_parent(child_sql)}',
            (*parent_params, *child_params),
        )
        inserted = cursor.fetchone()
    if inserted is None:
        setattr(child, link_field.attname, None)
        raise Taken(f"{type(parent).__name__} clashed with a unique constraint; nothing inserted")
    child_id, parent_id = inserted
    _saved(parent, parent_id, using)
    setattr(child, link_field.attname, parent_id)
    _saved(child, child_id, using)


def insert_unless_taken(obj: Model, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Insert ``obj`` unless it clashes with a unique constraint (``ON CONFLICT DO NOTHING``, on
    SQLite ``INSERT OR IGNORE``): whether it was inserted. A clash raises no database error, so
    the caller's transaction goes on; a clash with a row another transaction is inserting waits
    for that transaction, as a plain insert would."""
    pk = type(obj)._meta.pk
    sql, params = _insert_sql(obj, using, [pk], OnConflict.IGNORE)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone()
    if inserted is None:
        return False
    _saved(obj, inserted[0], using)
    return True


def _from_parent(child_sql: str) -> str:
    """``INSERT ... VALUES (v) RETURNING r`` as ``INSERT ... SELECT v FROM parent RETURNING r``:
    one child row for the parent row inserted, none if the parent was not."""
    head, values_clause, rest = child_sql.partition(" VALUES (")
    values, returning_clause, returning = rest.rpartition(") RETURNING ")
    if not (values_clause and returning_clause):
        raise TypeError(f"Unexpected INSERT from Django: {child_sql[:200]}")
    return f'{head} SELECT {values} FROM "{PARENT}" RETURNING {returning}'  # noqa: S608 (Django's SQL)


def _insert_sql(
    obj: Model, using: str, returning: list[Any], on_conflict: OnConflict | None = None
) -> tuple[str, tuple[Any, ...]]:
    """What Model.save() would send for a new ``obj`` (without a primary key yet).

    Its SQL depends on the model, the database, what it returns, the conflict rule and the SQL
    of any expression among the values (a child's link), never on the values: compiled by
    Django once per such shape (compiling cost more than the rest of an insert: the filing's
    profile in docs/benchmarks.md), the values prepared for each row as Django prepares them."""
    model = type(obj)
    fields = _fields(model)
    values = [field.pre_save(obj, True) for field in fields]  # auto_now and the like, as save()
    connection = connections[using]
    shape = _shape(fields, values, connection)
    if shape is None:  # an expression this does not know: Django's compiler, every time
        return _compiled(obj, fields, using, returning, on_conflict)
    key = (model, using, tuple(f.attname for f in returning), on_conflict, shape)
    sql = _COMPILED.get(key)
    if sql is None:
        sql, first = _compiled(obj, fields, using, returning, on_conflict)
        _COMPILED[key] = sql
        return sql, first
    params: list[Any] = []
    for field, value in zip(fields, values, strict=True):
        if isinstance(value, RawSQL):
            params.extend(value.params)
        else:
            params.append(field.get_db_prep_save(value, connection=connection))
    return sql, tuple(params)


_COMPILED: dict[tuple[Any, ...], str] = {}


@functools.cache
def _fields(model: type[Model]) -> list[Field[Any, Any]]:
    meta = model._meta
    return [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]


def _shape(
    fields: list[Field[Any, Any]], values: list[Any], connection: Any
) -> tuple[tuple[int, str], ...] | None:
    """What in the SQL depends on the row: expressions among the values, and the placeholders
    of fields that choose their own (a BinaryField's); None for an expression other than
    RawSQL, whose SQL this does not read."""
    shape = []
    for position, (field, value) in enumerate(zip(fields, values, strict=True)):
        if isinstance(value, RawSQL):
            shape.append((position, value.sql))
        elif hasattr(value, "resolve_expression"):
            return None
        elif hasattr(field, "get_placeholder"):
            shape.append((position, field.get_placeholder(value, None, connection)))
    return tuple(shape)


def _compiled(
    obj: Model,
    fields: list[Field[Any, Any]],
    using: str,
    returning: list[Any],
    on_conflict: OnConflict | None,
) -> tuple[str, tuple[Any, ...]]:
    query = InsertQuery(type(obj), on_conflict=on_conflict)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returning
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params)


def _saved(obj: Model, pk: Any, using: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using
