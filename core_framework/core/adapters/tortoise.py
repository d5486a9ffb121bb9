"""Tortoise ORM internals core relies on (written for tortoise-orm 1.1.9).

Queries: which connection a queryset is bound to, its ordering, slice and WHERE clauses, and
its SQL as Tortoise would run it. Models: whether saving an instance is a plain INSERT, and
marking it saved. Clients: the transaction context and a model's connection.
`Model._meta` is Tortoise's documented model metadata and is used directly elsewhere.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.signals import Signals

WRITTEN_FOR = "tortoise-orm 1.1.9"

# Clauses besides WHERE, ORDER BY and LIMIT/OFFSET that change a queryset's SQL.
_OTHER_CLAUSES = (
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
# Clauses under which `.values(*columns)` would not return the rows the instances hold.
_NOT_ROWS = (
    "_fields_for_select",
    "_distinct",
    "_group_bys",
    "_annotations",
    "_having",
    "_select_for_update",
)


def queryset_db(queryset: QuerySet[Any]) -> BaseDBAsyncClient | None:
    """The connection the queryset is bound to (None: Tortoise picks one when it runs)."""
    return queryset._db


def bind_queryset(queryset: QuerySet[Any], db: BaseDBAsyncClient) -> None:
    """Bind a fresh queryset to `db` in place (`using_db` would copy it)."""
    queryset._db = db


def queryset_orderings(queryset: QuerySet[Any]) -> list[tuple[str, Any]]:
    """`(field, Order)` pairs, in `order_by` order."""
    return queryset._orderings


def queryset_slice(queryset: QuerySet[Any]) -> tuple[int | None, int | None]:
    """`(limit, offset)`."""
    return queryset._limit, queryset._offset


def where_clauses(queryset: QuerySet[Any]) -> list[Q] | None:
    """The `Q` objects of `filter`/`exclude`, in order; None when any other clause shapes the SQL."""
    if any(getattr(queryset, name) for name in _OTHER_CLAUSES):
        return None
    return queryset._q_objects


def q_is_negated(q: Q) -> bool:
    return q._is_negated


def reads_as_rows(queryset: QuerySet[Any]) -> bool:
    """Whether `.values(*columns)` returns the rows that awaiting the queryset would."""
    return not any(getattr(queryset, name) for name in _NOT_ROWS)


def compile_query(query: Any) -> tuple[BaseDBAsyncClient, str, list[Any]]:
    """A Tortoise query's connection, SQL and parameters, as Tortoise would run it."""
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return query._db, sql, list(params)


def saves_as_plain_insert(obj: Model) -> bool:
    """Whether saving the new `obj` now is Tortoise's plain INSERT, per instance and signals.

    Not saved or partial yet, no primary key of the caller's, nothing awaited on save, and no
    `pre_save`/`post_save` listener (they may be connected at any time).
    """
    model = type(obj)
    return (
        not obj._saved_in_db
        and not obj._partial
        and not obj._custom_generated_pk
        and not getattr(obj, "_await_when_save", None)
        and not any(
            model._listeners.get(signal, {}).get(model)
            for signal in (Signals.pre_save, Signals.post_save)
        )
    )


def mark_saved(obj: Model) -> None:
    """Record that `obj`'s row exists, as `save` does after its INSERT."""
    obj._saved_in_db = True


def transaction_context(client: BaseDBAsyncClient) -> TransactionContext:
    """`client`'s transaction (a savepoint when `client` is already in one)."""
    return client._in_transaction()


def model_connection(model: type[Model], for_write: bool = False) -> BaseDBAsyncClient:
    """The connection Tortoise would run `model`'s queries on."""
    return model._choose_db(for_write=for_write)
