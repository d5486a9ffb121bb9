"""Plain rows read with cached, parameterized SQL: what `.values()` returns, built once.

Tortoise rebuilds a query's SQL on every call, which costs more than running it on SQLite.
Here the SQL of a queryset that is only filters and ordering (a typical `get_queryset`, plus
the list's filters) is built once and reused:

- the key is everything that shapes the SQL: connection, model, columns, ordering, and each
  filter with its value and the value's exact type (Tortoise writes some values into the SQL
  itself: `IS NULL`, the length of an `IN` list), so a different value is a different key;
- the per-request values (page limit and offset, the looked-up id) are bound parameters: the
  second time a key is seen, the query is built again with other values, and the SQL is
  cached only if its text is the same and exactly those parameters changed;
- the cache is bounded (least recently used), so per-user filters cannot grow it for ever.

Anything else (expressions, annotations, objects as values) is built by Tortoise every time.
`read_page` reads a page with its total in one statement (an extra `(SELECT COUNT(*) ...)` column).
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import enum
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import MultipleObjectsReturned
from tortoise.expressions import Q, Subquery
from tortoise.fields.data import DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.adapters.tortoise import (
    compile_query,
    q_is_negated,
    queryset_db,
    queryset_orderings,
    queryset_slice,
    reads_as_rows,
    where_clauses,
)

Converter = Callable[[Any], Any]
Key = tuple[Hashable, ...]

#: How many statements the cache keeps (least recently used first out).
CACHE_SIZE = 512
_CONVERTERS: dict[tuple[type[Model], tuple[str, ...]], list[tuple[str, Converter]]] = {}
_EXACT_TYPES = frozenset({str, int, float, bool, type(None), bytes, uuid.UUID})
_ISO_TYPES = frozenset({datetime.datetime, datetime.date, datetime.time})


@dataclass(frozen=True)
class Statement:
    """Cached SQL: its parameters, with the per-request values at `slots`."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[int, ...]

    def bind(self, values: Sequence[Any]) -> list[Any]:
        params = list(self.params)
        for slot, value in zip(self.slots, values, strict=True):
            params[slot] = value
        return params


class _LRU(OrderedDict[Key, Any]):
    def get_recent(self, key: Key) -> Any:
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def put(self, key: Key, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > CACHE_SIZE:
            self.popitem(last=False)


_STATEMENTS = _LRU()
_SEEN = _LRU()  # keys built once: cached the second time, so one-off values cost one build


def rows_readable(queryset: Any, model: type[Model]) -> bool:
    """Whether the row path can stand in for instances: a plain queryset of `model`."""
    return isinstance(queryset, QuerySet) and queryset.model is model and reads_as_rows(queryset)


def _value_key(value: Any) -> Hashable | None:
    """A filter value as a key that equals another only when Tortoise would build the same SQL."""
    kind = type(value)
    if kind in _EXACT_TYPES:
        return (kind, value)
    if kind in _ISO_TYPES:
        return (kind, value.isoformat())
    if kind is decimal.Decimal:
        return (kind, str(value))
    if isinstance(value, enum.Enum):
        return (kind, value.name)
    if kind is list or kind is tuple:
        items = tuple(_value_key(item) for item in value)
        return None if None in items else (kind, items)
    return None


def _q_key(q: Q) -> Hashable | None:
    filters = tuple((name, _value_key(value)) for name, value in q.filters.items())
    children = tuple(_q_key(child) for child in q.children)
    if any(part is None for _, part in filters) or None in children:
        return None
    return (q.join_type, q_is_negated(q), filters, children)


def _key(queryset: QuerySet[Any], *parts: Hashable) -> Key | None:
    """What shapes the queryset's SQL, plus `parts`; None when it can't be keyed exactly."""
    db = queryset_db(queryset)
    clauses = where_clauses(queryset)
    if db is None or clauses is None:
        return None
    where = tuple(_q_key(q) for q in clauses)
    orderings = tuple(queryset_orderings(queryset))
    if None in where or not all(isinstance(field, str) for field, _ in orderings):
        return None
    model = cast(Hashable, queryset.model)  # classes hash by identity
    return (db.connection_name, db.capabilities.dialect, model, where, orderings, *parts)


def _slots(
    params: list[Any], other: list[Any], values: Sequence[Any], others: Sequence[Any]
) -> tuple[int, ...] | None:
    """The positions where `values` are bound: exactly where the two builds' params differ."""
    if len(params) != len(other):
        return None
    slots = tuple(i for i, (a, b) in enumerate(zip(params, other, strict=True)) if a != b)
    found = [params[i] for i in slots], [other[i] for i in slots]
    return slots if found == (list(values), list(others)) else None


def _statement(
    key: Key | None,
    build: Callable[[bool], Any],
    values: Sequence[Any],
    others: Sequence[Any] | None,
) -> tuple[BaseDBAsyncClient | None, str, list[Any]]:
    """SQL and params of the query `build(False)`, whose bound per-request values are `values`.

    Cached under `key`. `build(True)` is the same query with `others`, different values of the
    same types, built once to find where `values` are bound.
    """
    if key is None:
        return compile_query(build(False))
    cached: Statement | None = _STATEMENTS.get_recent(key)
    if cached is not None:
        return None, cached.sql, cached.bind(values)
    db, sql, params = compile_query(build(False))
    if _SEEN.get_recent(key) is None:
        _SEEN.put(key, True)
        return db, sql, params
    if not values:
        _STATEMENTS.put(key, Statement(sql, tuple(params), ()))
    elif others is not None:
        _, other_sql, other_params = compile_query(build(True))
        slots = _slots(params, other_params, values, others)
        if other_sql == sql and slots is not None:
            _STATEMENTS.put(key, Statement(sql, tuple(params), slots))
    return db, sql, params


def _other(value: Any) -> Any:
    """A different value of the same type (to find where a value is bound), or None."""
    kind = type(value)
    if kind is int:
        return value + 1
    if kind is str:
        return value + "_"
    if kind is uuid.UUID:
        return uuid.UUID(int=(value.int + 1) % (1 << 128))
    return None


def _datetime_converter(field: DatetimeField) -> Converter:
    """`field.to_python_value`, with ISO strings (SQLite's) parsed by the fast stdlib parser."""
    slow = field.to_python_value

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.datetime.fromisoformat(value)
        return slow(value)

    return convert


def _converters(model: type[Model], columns: tuple[str, ...]) -> list[tuple[str, Converter]]:
    """The columns that need a Python conversion, as `.values()` would convert them."""
    key = (model, columns)
    found = _CONVERTERS.get(key)
    if found is None:
        native = {name for _, name, _ in model._meta.db_native_fields}
        found = []
        for name in columns:
            if name in native or "__" in name:  # a related model's column: its caller's
                continue
            field = model._meta.fields_map[name]
            convert = (
                _datetime_converter(field)
                if isinstance(field, DatetimeField)
                else field.to_python_value
            )
            found.append((name, convert))
        _CONVERTERS[key] = found
    return found


def convert_rows(
    model: type[Model], columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Database values to Python values in place (datetimes, UUIDs, ...); returns the rows."""
    converters = _converters(model, columns)
    if converters:
        for row in rows:
            for name, convert in converters:
                row[name] = convert(row[name])
    return rows


async def read_rows(queryset: QuerySet[Any], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """`list(await queryset.values(*columns))`, with the SQL cached (see the module doc)."""
    return convert_rows(queryset.model, columns, await _read(queryset, columns, None))


#: The extra column `read_page` reads the total in (not a model field: Tortoise refuses
#: an annotation named like one).
TOTAL_COLUMN = "_core_total"


async def read_page(
    queryset: QuerySet[Any], columns: tuple[str, ...], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """`read_rows` of `queryset.offset(offset).limit(limit)` and `count_rows(queryset)`, in one
    statement; the count is None when the page is empty (no row to carry it).

    The count is an uncorrelated scalar subquery on every row, `(SELECT COUNT(*) FROM ... WHERE
    <the same filters>)`: the database runs it once, as cheaply as the COUNT alone, and the page
    keeps its LIMIT. (`COUNT(*) OVER ()` would read and buffer every matching row first: 40x the
    time at 1,000 rows on SQLite, 400x at a million.) `queryset` must not be sliced.
    """
    rows = await _read(queryset.offset(offset).limit(limit), columns, queryset)
    total = rows[0][TOTAL_COLUMN] if rows else None
    for row in rows:
        del row[TOTAL_COLUMN]
    return convert_rows(queryset.model, columns, rows), total


async def _read(
    queryset: QuerySet[Any], columns: tuple[str, ...], counted: QuerySet[Any] | None
) -> list[dict[str, Any]]:
    """The rows of `columns`, unconverted; with `counted.count()` as `TOTAL_COLUMN` if given."""
    limit, offset = queryset_slice(queryset)
    values = [value for value in (limit, offset) if value]

    def build(other: bool) -> Any:
        query = queryset
        if other:
            query = query.limit(limit + 1) if limit else query
            query = query.offset(offset + 1) if offset else query
        if counted is not None:
            query = query.annotate(**{TOTAL_COLUMN: Subquery(counted.count())})
            return query.values(*columns, TOTAL_COLUMN)
        return query.values(*columns)

    kind = "values" if counted is None else "page"
    key = _key(queryset, kind, columns, bool(limit), bool(offset))
    db, sql, params = _statement(key, build, values, [value + 1 for value in values])
    return await (db or queryset_db(queryset)).execute_query_dict(sql, params)  # type: ignore[union-attr]


async def count_rows(queryset: QuerySet[Any]) -> int:
    """`await queryset.count()`, with the SQL cached (see the module doc)."""
    if queryset_slice(queryset) != (None, None):
        return await queryset.count()
    db, sql, params = _statement(_key(queryset, "count"), lambda _: queryset.count(), [], None)
    _, result = await (db or queryset_db(queryset)).execute_query(sql, params)  # type: ignore[union-attr]
    return next(iter(dict(result[0]).values())) if result else 0


async def lookup_row(
    queryset: QuerySet[Any], field: str, value: Any, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    """The one row where `field == value` (None if none), as `values(...).get_or_none` would."""
    model = queryset.model
    to_db = model._meta.fields_map[field].to_db_value
    sliced = queryset_slice(queryset) != (None, None)
    key = None if sliced else _key(queryset, "lookup", field, columns)
    other = _other(value)

    def build(use_other: bool) -> Any:
        lookup = other if use_other else value
        return queryset.filter(**{field: lookup}).limit(2).values(*columns)

    others = None if other is None else [to_db(other, model)]
    db, sql, params = _statement(key, build, [to_db(value, model)], others)
    rows = await (db or queryset_db(queryset)).execute_query_dict(sql, params)  # type: ignore[union-attr]
    if len(rows) > 1:
        raise MultipleObjectsReturned(model)
    return convert_rows(model, columns, rows)[0] if rows else None
