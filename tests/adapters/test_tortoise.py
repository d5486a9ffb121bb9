"""What `core.adapters.tortoise` relies on in Tortoise ORM, checked against the installed one.

Also the hooks core's subclasses override (`QuerySet._execute`, `_in_transaction`, the
migration executor's `_schema_editor`, the schema editors' `_run_sql` and `_remake_table`):
if one disappears, the override silently stops running.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient, PoolConnectionWrapper
from tortoise.expressions import Q
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_editor.sqlite import SqliteSchemaEditor
from tortoise.queryset import AwaitableQuery, QuerySet
from tortoise.signals import Signals
from tortoise.transactions import in_transaction

from core.adapters import tortoise as adapter
from core.db.sqlite_client import DeferredBegin, SqliteTransactionWrapper
from core.migrations.editors import core_editor_class
from core.testing import isolated_database
from tests.adapters.upstream import attribute, require
from tests.example_models import Label

W = adapter.WRITTEN_FOR


def check(condition: Any, name: str, what: str) -> None:
    require(condition, W, name, what, "tortoise")


def method(owner: type, name: str, *parameters: str) -> None:
    """`owner.name` exists and takes `parameters` (after self), in this order."""
    found = attribute(owner, name, W, "tortoise", owner.__name__)
    names = [p for p in inspect.signature(found).parameters if p != "self"]
    check(
        names[: len(parameters)] == list(parameters),
        f"{owner.__name__}.{name}",
        f"now takes {names}",
    )


@pytest.fixture
async def sqlite_db() -> AsyncIterator[BaseDBAsyncClient]:
    """SQLite whatever DATABASE_URL says (the transaction client checked is SQLite's); not
    named `db`, so PostgreSQL runs leave it out (Tortoise caches INSERTs by connection name)."""
    url = "sqlite+aiosqlite:///:memory:"
    async with isolated_database(models=["tests.example_models"], database_url=url) as db:
        yield db


async def test_querysets_keep_their_clauses_in_these_attributes(
    sqlite_db: BaseDBAsyncClient,
) -> None:
    db = sqlite_db
    queryset = Label.objects.using(db)
    for name in ("_db", "_orderings", "_limit", "_offset", "_q_objects", *adapter._OTHER_CLAUSES):
        attribute(queryset, name, W, "tortoise", "QuerySet")
    check(adapter.queryset_db(queryset) is db, "QuerySet._db", "is not the bound connection")
    fresh = Label.all()
    adapter.bind_queryset(fresh, db)
    check(adapter.queryset_db(fresh) is db, "QuerySet._db", "does not bind the queryset")

    shaped = queryset.filter(code="a").exclude(id=3).order_by("-id").offset(2).limit(5)
    check(
        adapter.queryset_slice(shaped) == (5, 2),
        "QuerySet._limit/_offset",
        "no longer hold the slice",
    )
    orderings = adapter.queryset_orderings(shaped)
    check(
        [(field, order.value) for field, order in orderings] == [("id", "DESC")],
        "QuerySet._orderings",
        f"now holds {orderings!r}",
    )
    clauses = adapter.where_clauses(shaped)
    check(
        clauses is not None and [q.filters for q in clauses] == [{"code": "a"}, {"id": 3}],
        "QuerySet._q_objects",
        "no longer holds one Q per filter/exclude, in order",
    )
    assert clauses is not None
    check(
        [adapter.q_is_negated(q) for q in clauses] == [False, True],
        "Q._is_negated",
        "no longer says whether a Q is negated",
    )
    check(adapter.q_is_negated(~Q(code="a")), "Q._is_negated", "is not set by ~Q")
    check(
        adapter.where_clauses(queryset.annotate(n=Q(code="a"))) is None,
        "QuerySet._annotations",
        "is not set by annotate",
    )
    check(
        adapter.where_clauses(queryset.distinct()) is None,
        "QuerySet._distinct",
        "is not set by distinct",
    )
    check(adapter.reads_as_rows(queryset.filter(code="a")), "QuerySet clauses", "are set by filter")
    check(
        not adapter.reads_as_rows(queryset.only("code")),
        "QuerySet._fields_for_select",
        "is not set by only",
    )


async def test_a_query_compiles_to_what_tortoise_runs(sqlite_db: BaseDBAsyncClient) -> None:
    db = sqlite_db
    await Label.objects.using(db).create(code="a")
    method(AwaitableQuery, "_choose_db_if_not_chosen")
    method(AwaitableQuery, "_make_query")
    query = Label.objects.using(db).filter(code="a").values("id", "code")
    connection, sql, params = adapter.compile_query(query)
    check(
        connection is db and "SELECT" in sql and params == ["a"],
        "AwaitableQuery._make_query",
        f"compiles to {sql!r} {params!r}",
    )
    check(
        await db.execute_query_dict(sql, params) == await query,
        "QuerySet.query.get_parameterized_sql",
        "runs other SQL than the query",
    )


async def test_a_new_instance_saves_as_a_plain_insert_until_saved(
    sqlite_db: BaseDBAsyncClient,
) -> None:
    db = sqlite_db
    label = Label(code="a")
    for name in ("_saved_in_db", "_partial", "_custom_generated_pk"):
        attribute(label, name, W, "tortoise", "Model")
    attribute(Label, "_listeners", W, "tortoise", "Model")
    check(adapter.saves_as_plain_insert(label), "Model._saved_in_db", "is set on a new instance")
    method(Label, "_init_from_db")
    sql, values = adapter.insert_statement(db, label)
    check(
        sql.startswith("INSERT") and values == ["a"],
        "Executor.insert_query/regular_columns",
        f"give {sql!r} {values!r}",
    )
    await db.execute_insert(sql, values)
    check(
        await Label.objects.using(db).filter(code="a").count() == 1,
        "Executor.insert_query",
        "does not insert the row",
    )
    (row,) = await db.execute_query_dict('SELECT "id", "code" FROM "labels"')
    loaded = adapter.instance_from_row(Label, row)
    check(
        isinstance(loaded, Label)
        and loaded.code == "a"
        and not adapter.saves_as_plain_insert(loaded),
        "Model._init_from_db",
        "does not build a saved instance from a row",
    )
    adapter.mark_saved(label)
    check(
        not adapter.saves_as_plain_insert(label),
        "Model._saved_in_db",
        "does not mark an instance saved",
    )
    check(
        not adapter.saves_as_plain_insert(Label(id=7, code="b")),
        "Model._custom_generated_pk",
        "is not set by a given primary key",
    )

    async def listener(*args: Any) -> None:
        return None

    Label.register_listener(Signals.pre_save, listener)
    try:
        check(
            not adapter.saves_as_plain_insert(Label(code="c")),
            "Model._listeners",
            "no longer holds pre_save listeners",
        )
    finally:
        Label._listeners[Signals.pre_save][Label].remove(listener)


async def test_transaction_clients_keep_their_connection_and_state(
    sqlite_db: BaseDBAsyncClient,
) -> None:
    db = sqlite_db
    method(BaseDBAsyncClient, "_in_transaction")
    check(
        isinstance(adapter.client_lock(db), asyncio.Lock),
        "SqliteClient._lock",
        "is no asyncio.Lock",
    )
    check(
        isinstance(adapter.client_connection(db), aiosqlite.Connection),
        "SqliteClient._connection",
        "is not the aiosqlite connection",
    )
    check(
        adapter.model_connection(Label) is db,
        "Model._choose_db",
        "does not pick the model's connection",
    )
    async with in_transaction("default") as txn:
        check(
            isinstance(txn, SqliteTransactionWrapper),
            "BaseDBAsyncClient._in_transaction",
            "is no longer what in_transaction() uses",
        )
        check(
            isinstance(adapter.transaction_connection(txn), DeferredBegin),
            "SqliteTransactionWrapper._connection",
            "is not the connection begin() set",
        )
        check(
            not adapter.transaction_finalized(txn),
            "SqliteTransactionWrapper._finalized",
            "is set on an open transaction",
        )
        await Label.objects.using(txn).create(code="in")
    check(
        adapter.transaction_finalized(txn),
        "SqliteTransactionWrapper._finalized",
        "is not set by commit",
    )
    async with adapter.transaction_context(db) as txn:
        await Label.objects.using(txn).create(code="ctx")
        await txn.commit()
        check(
            adapter.transaction_finalized(txn),
            "SqliteTransactionWrapper._finalized",
            "is not set by commit()",
        )
    unused = SqliteTransactionWrapper(db)
    adapter.finalize_transaction(unused)
    check(
        adapter.transaction_finalized(unused),
        "SqliteTransactionWrapper._finalized",
        "is not what ends a transaction",
    )
    committed = await Label.objects.using(db).filter(code__in=["in", "ctx"]).count()
    check(committed == 2, "SqliteTransactionContext", "did not commit")


def test_querysets_run_through_execute() -> None:
    method(QuerySet, "_execute")


async def test_schema_editors_and_the_executor(sqlite_db: BaseDBAsyncClient) -> None:
    db = sqlite_db
    method(BaseSchemaEditor, "_run_sql", "sql")
    method(BaseSchemaEditor, "_qualify_table_name", "table_name")
    method(BaseSchemaEditor, "_format_index_fields", "field_names")
    method(BaseSchemaEditor, "_get_model_sql_data", "model")
    method(SqliteSchemaEditor, "_remake_table", "model")
    method(MigrationExecutor, "_schema_editor", "atomic", "collect_sql")
    method(MigrationExecutor, "_migration_plan", "targets", "applied")
    editor = core_editor_class(SqliteSchemaEditor)(db, atomic=True, collect_sql=True)
    check(
        adapter.qualified_table(editor, "labels") == '"labels"',
        "BaseSchemaEditor._qualify_table_name",
        "quotes differently",
    )
    check(
        adapter.index_columns(editor, ["code"]) == '"code"',
        "BaseSchemaEditor._format_index_fields",
        "formats differently",
    )
    table_sql = adapter.create_table_sql(editor, Label)
    check(
        table_sql.startswith('CREATE TABLE "labels"'),
        "BaseSchemaEditor._get_model_sql_data",
        f"gives {table_sql!r}",
    )
    await adapter.run_schema_sql(editor, "SELECT 1")
    check(
        editor.collected_sql == ["SELECT 1"],
        "BaseSchemaEditor._run_sql",
        "no longer collects SQL with collect_sql",
    )


def test_pooled_clients_keep_their_pool_and_its_lock() -> None:
    db = AsyncpgDBClient(
        connection_name="unconnected", user="u", password="p", database="d", host="h", port=1
    )
    check(adapter.client_pool(db) is None, "AsyncpgDBClient._pool", "is set before connecting")
    check(
        isinstance(adapter.pool_init_lock(db), asyncio.Lock),
        "AsyncpgDBClient._pool_init_lock",
        "is no asyncio.Lock",
    )
    wrapper = db.acquire_connection()
    check(
        isinstance(wrapper, PoolConnectionWrapper) and wrapper.client is db,
        "AsyncpgDBClient.acquire_connection",
        "no longer returns a PoolConnectionWrapper (core.db.asyncpg_client subclasses it)",
    )
    method(PoolConnectionWrapper, "__aexit__", "exc_type", "exc_val", "exc_tb")
