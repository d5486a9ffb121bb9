"""Plain rows read with cached, parameterized SQL: what `.values()` returns, built once.

Tortoise rebuilds a query's SQL on every call. When a queryset has no filters, annotations,
joins or other clauses, its SQL depends only on the model, the columns, the ordering and
whether a limit/offset is set, so it is built once per connection and shape and reused with
new parameters. Anything else goes through Tortoise as usual.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Hashable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import MultipleObjectsReturned
from tortoise.fields.data import DatetimeField
from tortoise.models import Model
from tortoise.queryset import QuerySet

Converter = Callable[[Any], Any]

_SQL: dict[tuple[Any, ...], str] = {}
_CONVERTERS: dict[tuple[type[Model], tuple[str, ...]], list[tuple[str, Converter]]] = {}
# Clauses that make a queryset's SQL depend on more than its ordering and limit/offset.
_CLAUSES = (
    "_q_objects",
    "_annotations",
    "_custom_filters",
    "_filter_kwargs",
    "_joined_tables",
    "_group_bys",
    "_having",
    "_distinct",
    "_select_related",
    "_prefetch_map",
    "_select_for_update",
    "_force_indexes",
    "_use_indexes",
    "_fields_for_select",
)


def _plain(queryset: QuerySet[Any]) -> bool:
    """Whether the queryset's SQL is fixed by its model, ordering and limit/offset alone."""
    return queryset._db is not None and not any(getattr(queryset, name) for name in _CLAUSES)


def _key(queryset: QuerySet[Any], *parts: Hashable) -> tuple[Any, ...]:
    """The cache key of a plain queryset's SQL: connection, dialect, model, ordering, parts."""
    db = queryset._db
    orderings = tuple(queryset._orderings)
    return (db.connection_name, db.capabilities.dialect, queryset.model, orderings, *parts)


def _compile(query: Any) -> tuple[BaseDBAsyncClient, str, list[Any]]:
    """A Tortoise query's connection, SQL and parameters, as Tortoise would run it."""
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return query._db, sql, list(params)


def _cached(
    key: tuple[Any, ...] | None, params: list[Any], build: Callable[[], Any]
) -> tuple[BaseDBAsyncClient | None, str, list[Any]]:
    """The SQL for `key` with `params`; built with `build` and cached when its params match."""
    sql = _SQL.get(key) if key is not None else None
    if sql is not None:
        return None, sql, params
    db, sql, built = _compile(build())
    if key is not None and built == params:
        _SQL[key] = sql
    return db, sql, built


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
            if name in native:
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
    """`list(await queryset.values(*columns))`, with the SQL cached for plain querysets."""
    limit, offset = queryset._limit, queryset._offset
    key = _key(queryset, "values", columns, bool(limit), bool(offset)) if _plain(queryset) else None
    params = [value for value in (limit, offset) if value]
    db, sql, params = _cached(key, params, lambda: queryset.values(*columns))
    rows = await (db or queryset._db).execute_query_dict(sql, params)
    return convert_rows(queryset.model, columns, rows)


async def count_rows(queryset: QuerySet[Any]) -> int:
    """`await queryset.count()`, with the SQL cached for plain querysets."""
    if not _plain(queryset) or queryset._limit is not None or queryset._offset is not None:
        return await queryset.count()
    db, sql, params = _cached(_key(queryset, "count"), [], queryset.count)
    _, result = await (db or queryset._db).execute_query(sql, params)
    return next(iter(dict(result[0]).values())) if result else 0


async def lookup_row(
    queryset: QuerySet[Any], field: str, value: Any, columns: tuple[str, ...]
) -> dict[str, Any] | None:
    """The one row where `field == value` (None if none), as `values(...).get_or_none` would."""
    model = queryset.model
    plain = _plain(queryset) and queryset._limit is None and queryset._offset is None
    key = _key(queryset, "lookup", field, columns) if plain else None
    params = [model._meta.fields_map[field].to_db_value(value, model), 2]
    db, sql, params = _cached(
        key, params, lambda: queryset.filter(**{field: value}).limit(2).values(*columns)
    )
    rows = await (db or queryset._db).execute_query_dict(sql, params)
    if len(rows) > 1:
        raise MultipleObjectsReturned(model)
    return convert_rows(model, columns, rows)[0] if rows else None
