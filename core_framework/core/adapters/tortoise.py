"""Tortoise ORM internals core relies on (written for tortoise-orm >=1.1.7,<1.2).

Queries: which connection a queryset is bound to, its ordering, slice and WHERE clauses, and
its SQL as Tortoise would run it. Models: whether saving an instance is a plain INSERT, and
marking it saved. Clients: the transaction context and a model's connection.
`Model._meta` is Tortoise's documented model metadata and is used directly elsewhere.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.signals import Signals

WRITTEN_FOR = "tortoise-orm >=1.1.7,<1.2"

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


def loads_relations(queryset: QuerySet[Any]) -> bool:
    """Whether the queryset has `select_related` or `prefetch_related` of its own."""
    return bool(queryset._select_related or queryset._prefetch_map or queryset._prefetch_queries)


def queryset_prefetches(queryset: QuerySet[Any]) -> tuple[list[str], set[str]]:
    """The queryset's `prefetch_related` paths given as strings (`prefetch_related` replaces
    them, so adding one means passing them again), and the relations given `Prefetch` objects."""
    paths = [
        path
        for field, nested in queryset._prefetch_map.items()
        for path in (field, *(f"{field}__{sub}" for sub in sorted(map(str, nested))))
    ]
    return paths, set(queryset._prefetch_queries)


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
        and not has_save_listeners(model)
    )


def has_save_listeners(model: type[Model]) -> bool:
    """Whether a `pre_save` or `post_save` listener is connected to `model` (checked per save)."""
    return any(
        model._listeners.get(signal, {}).get(model)
        for signal in (Signals.pre_save, Signals.post_save)
    )


M = TypeVar("M", bound=Model)


def instance_from_row(model: type[M], row: dict[str, Any]) -> M:
    """A saved instance of `model` from a row of its columns, as a query builds one."""
    return model._init_from_db(**row)


def mark_saved(obj: Model) -> None:
    """Record that `obj`'s row exists, as `save` does after its INSERT."""
    obj._saved_in_db = True


def transaction_connection(wrapper: Any) -> Any:
    """The driver connection a Tortoise transaction client runs its statements on."""
    return wrapper._connection


def replace_transaction_connection(wrapper: Any, connection: Any) -> None:
    """Run the transaction client's statements on `connection` (a wrapper of its own)."""
    wrapper._connection = connection


def transaction_finalized(wrapper: Any) -> bool:
    """Whether the transaction client has committed or rolled back."""
    return bool(wrapper._finalized)


def finalize_transaction(wrapper: Any) -> None:
    """Record that the transaction ended (so Tortoise's context exit commits nothing)."""
    wrapper._finalized = True


def client_lock(client: Any) -> asyncio.Lock:
    """The lock that serializes a client's connection (its transactions take it)."""
    lock: asyncio.Lock = client._lock
    return lock


def client_pool(client: Any) -> Any:
    """A pooled client's driver pool (None until it connects)."""
    return client._pool


def pool_init_lock(client: Any) -> asyncio.Lock:
    """The lock under which a pooled client creates its pool (once, at first use)."""
    lock: asyncio.Lock = client._pool_init_lock
    return lock


def transaction_context(client: BaseDBAsyncClient) -> TransactionContext:
    """`client`'s transaction (a savepoint when `client` is already in one)."""
    return client._in_transaction()


def model_connection(model: type[Model], for_write: bool = False) -> BaseDBAsyncClient:
    """The connection Tortoise would run `model`'s queries on."""
    return model._choose_db(for_write=for_write)


def client_connection(client: Any) -> Any:
    """A client's driver connection (None until it connects)."""
    return client._connection


def insert_statement(db: BaseDBAsyncClient, obj: Model) -> tuple[str, list[Any]]:
    """The SQL and parameters Tortoise's executor would INSERT `obj` with (its regular columns)."""
    executor = db.executor_class(model=type(obj), db=db)
    fields = type(obj)._meta.fields_map
    values = [
        fields[name].to_db_value(getattr(obj, name), obj) for name in executor.regular_columns
    ]
    return executor.insert_query, values


# Migrations ---------------------------------------------------------------------------


async def run_schema_sql(editor: Any, sql: str) -> None:
    """Run `sql` with a schema editor (collected instead, for `sqlmigrate`)."""
    await editor._run_sql(sql)


def qualified_table(editor: Any, table: str) -> str:
    """`table` quoted, with its schema when the connection has one."""
    name: str = editor._qualify_table_name(table)
    return name


def index_columns(editor: Any, columns: Any) -> str:
    """The quoted column list of an index on `columns`."""
    text: str = editor._format_index_fields(columns)
    return text


def create_table_sql(editor: Any, model: type[Model]) -> str:
    """The `CREATE TABLE` statement the editor would run for `model`."""
    sql: str = editor._get_model_sql_data(model).table_sql
    return sql


def migration_plan(executor: Any, applied: set[Any], targets: list[Any] | None = None) -> list[Any]:
    """The steps that bring the database from `applied` to the latest migrations (or to
    `targets`: Tortoise's `MigrationTarget`s, forwards or backwards)."""
    steps: list[Any] = executor._migration_plan(targets, applied, executor.loader.graph)
    return steps
