"""ORM queries compiled to SQL once per process, for the few reads on every filing's path.

Building and compiling a small ORM query costs more than the database takes to plan and run it
(an API key lookup: docs/benchmarks.md). Where the SQL of a query never changes, only its
parameters, it is compiled once and run with new values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import JSONField, Model, QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


class CompiledQuery:
    """A values() query compiled once, then run with other values for some of its parameters.

    ``build`` makes the query from ``samples``: values of the right types that a caller would
    never send. Each must appear exactly once among the compiled parameters, as it is or as the
    database gets it (SQLite gets datetimes as text); run() puts its values, made the same way,
    in their places, in the same order.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet[Any, dict[str, Any]]],
        *samples: Any,
        prepared: bool = True,
        primary: bool = False,
    ) -> None:
        self._build = build
        self._samples = samples
        # Not where the best plan depends on the values (how much of the table a box holds):
        # after five runs PostgreSQL may settle on one generic plan, slow for most of them.
        self._prepared = prepared
        self._primary = primary  # a read that locks rows (FOR UPDATE): never the replica
        self._compiled: tuple[str, list[Any], list[Slot], list[str], Any, Any] | None = None

    def run(self, *values: Any) -> list[dict[str, Any]]:
        sql, params, slots, names, compiler, converters = self._compiled or self._compile()
        params = params.copy()
        for (slot, prepare), value in zip(slots, values, strict=True):
            params[slot] = prepare(value)
        # Where the router sends a read of this model: the replica inside a view that opted in
        # (config.replica), the primary everywhere else. The SQL is the same on both.
        model = compiler.query.model
        using = router.db_for_write(model) if self._primary else router.db_for_read(model)
        cursor = fixed_statement_cursor(using) if self._prepared else connections[using].cursor()
        with cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:  # e.g. SQLite's datetimes arrive as text
            rows = compiler.apply_converters(rows, converters)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _compile(self) -> tuple[str, list[Any], list[Slot], list[str], Any, Any]:
        query = self._build(*self._samples).query
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        params = list(params)
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        converters = _faster(compiler.get_converters([col for col, _, _ in compiler.select]))
        self._compiled = (sql, params, self._slots(params), names, compiler, converters)
        return self._compiled

    def _slots(self, params: list[Any]) -> list[Slot]:
        slots = []
        for sample in self._samples:
            prepare = _preparer(sample)
            wanted = prepare(sample)
            found = [i for i, p in enumerate(params) if type(p) is type(wanted) and p == wanted]
            if len(found) != 1:
                raise ValueError(f"Sample {sample!r} is {len(found)} parameters, not one.")
            slots.append((found[0], prepare))
        return slots


Slot = tuple[int, Callable[[Any], Any]]  # a parameter's index, and how a value becomes it


def _faster(converters: dict[int, tuple[list[Any], Any]]) -> dict[int, tuple[list[Any], Any]]:
    """The converters, a JSONField's decoding done by orjson (in C) where the field has no
    decoder of its own: a page of reports decoded each one's ``extra`` with json.loads."""
    for functions, _expression in converters.values():
        for position, function in enumerate(functions):
            field = getattr(function, "__self__", None)
            if isinstance(field, JSONField) and field.decoder is None:
                functions[position] = _json_loads(function)
    return converters


# orjson reads an integer past 64 bits as a float, where json keeps it exact: a long run of
# digits (a rare thing in a report's answers) is left to Django.
_LONG_NUMBER = re.compile(r"\d{16}")


def _json_loads(django_loads: Callable[..., Any]) -> Callable[..., Any]:
    def loads(value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, str) and not _LONG_NUMBER.search(value):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass  # what orjson refuses (NaN, say) Django decodes, or keeps as text
        return django_loads(value, expression, connection)

    return loads


def _preparer(sample: Any) -> Callable[[Any], Any]:
    """How the database's adapter makes a value of the sample's type into a parameter."""
    if isinstance(sample, datetime):
        return connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value
    return _unchanged


def _unchanged(value: Any) -> Any:
    return value


def padded_size(count: int) -> int:
    """The length of an IN list of ``count`` values once padded: the next power of two, so that a
    process compiles a handful of shapes of a query whose lists vary, not one per length."""
    return 1 << max(0, count - 1).bit_length()


def padded(values: Sequence[T]) -> list[T]:
    """``values`` (at least one) lengthened to padded_size by repeating the last, which an IN
    list ignores."""
    return [*values, *[values[-1]] * (padded_size(len(values)) - len(values))]


class CompiledForIds:
    """A values() query over a list of ids, ``build(*ids)`` (an ``__in`` lookup), compiled once
    per padded length of the list: a worker's batches ask with a few ids or a hundred, and a
    process compiles a handful of shapes (padded_size), not one per length."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *, primary: bool = False) -> None:
        self._build = build
        self._primary = primary
        self._by_size: dict[int, CompiledQuery] = {}

    def run(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        size = padded_size(len(ids))
        query = self._by_size.get(size)
        if query is None:  # samples: ids no row has, each distinct
            samples = range(-1, -1 - size, -1)
            query = CompiledQuery(self._build, *samples, primary=self._primary)
            self._by_size[size] = query
        return query.run(*padded(ids))


def fixed_statement_cursor(using: str = DEFAULT_DB_ALIAS) -> Any:
    """A cursor for SQL of fixed shape: prepared by the server on PostgreSQL
    (config.postgresql), Django's own cursor elsewhere."""
    connection = connections[using]
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


def field_names(
    model: type[Model], prefix: str = "", *, leave_out: tuple[str, ...] = ()
) -> list[str]:
    """What values() must ask for to build ``model`` instances with instance(): every column
    but those left out (deferred, as the ORM's defer())."""
    return [
        prefix + field.attname
        for field in model._meta.concrete_fields
        if field.attname not in leave_out
    ]


def instance(
    model: type[M], row: dict[str, Any], prefix: str = "", *, leave_out: tuple[str, ...] = ()
) -> M:
    """A model instance from a row of CompiledQuery.run, as the ORM would have loaded it (the
    fields left out deferred)."""
    names = _attnames(model, leave_out)
    return model.from_db(DEFAULT_DB_ALIAS, names, [row[prefix + name] for name in names])


@functools.cache
def _attnames(model: type[Model], leave_out: tuple[str, ...]) -> tuple[str, ...]:
    """field_names() once per model: instance() builds every API key's client, and five models
    for every report a worker follows up and every delivery it sends."""
    return tuple(field_names(model, leave_out=leave_out))
