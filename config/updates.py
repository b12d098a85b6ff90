"""Rows updated each to its own values by one statement: ``UPDATE ... FROM (VALUES ...)``.

Django's ``bulk_update`` writes the same in a ``CASE WHEN pk = ... THEN ...`` per field and row,
and building those expressions cost more than the database took to run them: a batch of twenty
deliveries recorded as sent spent about 40% of its time there (docs/benchmarks.md). Here the SQL
is a join with a list of values, compiled once per model, fields, condition and database, and
the values are prepared for each row as Django prepares them for ``save()``.

PostgreSQL and SQLite (3.33 and later) run the same statement; a list of values names its
columns ``column1``, ``column2`` ... on both. PostgreSQL takes each value's type from a cast,
as Django's own ``bulk_update`` does there. An older SQLite gets ``bulk_update``.

May import: Django only.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model

_SQL: dict[tuple[Any, ...], tuple[str, str]] = {}


def update_each(
    model: type[Model],
    rows: Sequence[Model],
    fields: Sequence[str],
    *,
    where: Mapping[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Set ``fields`` of each row in the table to the row's own values, where the table's row
    also matches ``where`` (field name to value; None means IS NULL): how many were updated.
    Rows whose primary key is missing from the table, or that fail ``where``, are left out."""
    if not rows:
        return 0
    connection = connections[using]
    where = dict(where or {})
    if not joins_values(connection):
        lookups = {
            f"{name}__isnull" if value is None else name: True if value is None else value
            for name, value in where.items()
        }
        return model._default_manager.using(using).filter(**lookups).bulk_update(rows, fields)
    columns = _columns(model, tuple(fields))
    nulls = tuple((name, value is None) for name, value in where.items())
    row_sql, head = _statement(model, tuple(fields), nulls, using)
    params: list[Any] = []
    for row in rows:
        params.extend(
            field.get_db_prep_save(getattr(row, field.attname), connection=connection)
            for field in columns
        )
    params.extend(
        _column(model, name).get_db_prep_value(value, connection=connection)
        for name, value in where.items()
        if value is not None
    )
    values = ", ".join([row_sql] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(head.replace("{values}", values), params)
        return int(cursor.rowcount)


def joins_values(connection: Any) -> bool:
    """Whether the database can update from a list of values (SQLite before 3.33 cannot)."""
    return connection.vendor != "sqlite" or sqlite3.sqlite_version_info >= (3, 33)


@functools.cache
def _columns(model: type[Model], fields: tuple[str, ...]) -> list[Field[Any, Any]]:
    """The primary key, then the fields set."""
    pk = model._meta.pk
    if pk is None:
        raise TypeError(f"{model.__name__} has no primary key")
    return [_column(model, pk.name), *(_column(model, name) for name in fields)]


def _column(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _name(field: Field[Any, Any]) -> str:
    return str(field.column)  # a concrete field's, checked by _column


def _statement(
    model: type[Model], fields: tuple[str, ...], where: tuple[tuple[str, bool], ...], using: str
) -> tuple[str, str]:
    """(one row's placeholders, the statement with ``{values}`` where the rows go): names from
    the model's own metadata, never from input."""
    key = (model, fields, where, using)
    if key not in _SQL:
        _SQL[key] = _compile(model, fields, where, using)
    return _SQL[key]


def _compile(
    model: type[Model], fields: tuple[str, ...], where: tuple[tuple[str, bool], ...], using: str
) -> tuple[str, str]:
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    columns = _columns(model, fields)
    cast = connection.vendor == "postgresql"
    row = (
        "("
        + ", ".join(
            f"CAST(%s AS {field.cast_db_type(connection)})" if cast else "%s" for field in columns
        )
        + ")"
    )
    sets = ", ".join(
        f'{quote(_name(field))} = "v"."column{position}"'
        for position, field in enumerate(columns[1:], start=2)
    )
    conditions = [f'{table}.{quote(_name(columns[0]))} = "v"."column1"']
    for name, is_null in where:
        column = f"{table}.{quote(_name(_column(model, name)))}"
        conditions.append(f"{column} IS NULL" if is_null else f"{column} = %s")
    return row, (
        f'UPDATE {table} SET {sets} FROM (VALUES {{values}}) AS "v"'  # noqa: S608 (metadata)
        f" WHERE {' AND '.join(conditions)}"
    )
