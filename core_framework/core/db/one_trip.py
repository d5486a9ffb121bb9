"""The one-trip create: on SQLite, a new row's INSERT, its response and the COMMIT in one trip.

On SQLite every statement is a trip to aiosqlite's thread. A create whose INSERT is the last
statement of its transaction can run the INSERT, build the response from the saved object
and COMMIT in a single trip, all of it rolled back on any error. That is this module, and
only this module (with `SqliteTransactionWrapper.finish`, which ends the transaction).

When it applies (docs/guide/fast-paths.md): a ViewSet's create route, decided when the route
is built (`one_trip_create` on, the stock `perform_create` and `after_create`, an output schema
with no code of its own, and `model_inserts_plainly`); then, per request, a top-level SQLite
transaction still open and an instance that `saves_as_plain_insert`. Otherwise (PostgreSQL, a
savepoint, save signals, a primary key given by the client) it is `save`, then `build`, and
the transaction commits when the action returns. `one_trip_create = False` turns it off.

A create that is nothing but its INSERT (`RoutePlan.single_insert_create`, on every database)
opens no transaction at all: `model_saves_in_one_statement` once per route, `inserts_alone`
per request, and then this module's `insert_and_commit` simply saves on the connection (on
PostgreSQL, its own INSERT, whose connection goes back to the pool without asyncpg's reset; on
SQLite, its INSERT committed with those of concurrent creates, `core.db.group_commit`).
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import BigIntField, IntField, SmallIntField
from tortoise.models import Model as TortoiseModel

from core.adapters.tortoise import (
    has_save_listeners,
    insert_statement,
    mark_saved,
    saves_as_plain_insert,
)
from core.db.asyncpg_client import AsyncpgClient
from core.db.sqlite_client import SqliteClient, SqliteTransactionWrapper

T = TypeVar("T")


def model_inserts_plainly(model: type[TortoiseModel]) -> bool:
    """Whether saving a new `model` is Tortoise's plain INSERT of its columns (decided once).

    No `save` of the model's own, no database-side defaults, and an integer primary key the
    database generates (so the INSERT's rowid is the key).
    """
    meta = model._meta
    pk = meta.pk
    return (
        model.save is TortoiseModel.save
        and isinstance(pk, SmallIntField | IntField | BigIntField)
        and pk.generated
        and not meta.db_default_db_columns
    )


def model_saves_in_one_statement(model: type[TortoiseModel]) -> bool:
    """Whether saving a new `model` is one INSERT, whatever the database (decided once).

    Tortoise's own `save`, and no field whose default is a coroutine function (awaited on
    save, so it may query).
    """
    return model.save is TortoiseModel.save and not any(
        inspect.iscoroutinefunction(field.default) for field in model._meta.fields_map.values()
    )


def inserts_alone(model: type[TortoiseModel]) -> bool:
    """Whether saving a new `model` right now is one INSERT: no save signal is connected.

    For a route whose plan has `single_insert_create` (the model checked by
    `model_saves_in_one_statement`); signals may be connected at any time, so per request.
    """
    return not has_save_listeners(model)


def inserts_plainly(obj: TortoiseModel) -> bool:
    """Whether saving `obj` now is exactly Tortoise's plain INSERT (model and instance)."""
    return model_inserts_plainly(type(obj)) and saves_as_plain_insert(obj)


async def insert_and_commit(
    db: BaseDBAsyncClient, obj: TortoiseModel, build: Callable[[Any], T]
) -> T:
    """Save the new `obj` and return `build(obj)`; on SQLite, with the COMMIT, in one trip (in
    a transaction) or in a group commit (outside one); on PostgreSQL outside a transaction,
    without asyncpg's reset round trip.

    The caller has checked `model_inserts_plainly(type(obj))`. `build` must be plain code (it
    may run on the database's thread): serializing the object is what it is for. When the
    INSERT, `build` and the COMMIT go together, the transaction is over when this returns, and
    a later statement on `db` raises `TransactionManagementError`; otherwise it commits when
    the request's action returns.
    """
    if isinstance(db, AsyncpgClient | SqliteClient) and saves_as_plain_insert(obj):
        # Outside a transaction, the INSERT commits itself: on PostgreSQL its connection goes
        # back without asyncpg's reset, on SQLite it commits with the INSERTs of concurrent
        # creates (`insert_alone`).
        obj.pk = await db.insert_alone(*insert_statement(db, obj))
        mark_saved(obj)
        return build(obj)
    if not (
        isinstance(db, SqliteTransactionWrapper) and db.can_finish() and saves_as_plain_insert(obj)
    ):
        await obj.save(db)
        return build(obj)
    sql, values = insert_statement(db, obj)
    db.log.debug("%s: %s", sql, values)

    def insert_and_build(connection: sqlite3.Connection) -> T:
        obj.pk = connection.execute(sql, values).lastrowid
        return build(obj)

    result = await db.finish(insert_and_build)
    mark_saved(obj)
    return result
