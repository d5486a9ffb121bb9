"""Insert a new object as the last statement of a transaction, and build what follows from it.

On SQLite every statement is a trip to the database's thread. A create that ends with its
INSERT can send the INSERT, build the response from the saved object and COMMIT in one trip,
the whole of it rolled back on any error. Everywhere else (PostgreSQL, no transaction, a
savepoint, models whose saving runs code of their own) it is `save`, then `build`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import BigIntField, IntField, SmallIntField
from tortoise.models import Model as TortoiseModel
from tortoise.signals import Signals

from core.db.sqlite_client import SqliteTransactionWrapper

T = TypeVar("T")


def inserts_plainly(obj: TortoiseModel) -> bool:
    """Whether saving `obj` is exactly Tortoise's plain INSERT of its columns.

    No `save` of the model's own, no save signals, no async or database-side defaults, and an
    integer primary key the database generates.
    """
    model = type(obj)
    meta = model._meta
    pk = meta.pk
    return (
        model.save is TortoiseModel.save
        and not obj._saved_in_db
        and not obj._partial
        and not obj._custom_generated_pk
        and isinstance(pk, SmallIntField | IntField | BigIntField)
        and pk.generated
        and not meta.db_default_db_columns
        and not getattr(obj, "_await_when_save", None)
        and not any(
            model._listeners.get(signal, {}).get(model)
            for signal in (Signals.pre_save, Signals.post_save)
        )
    )


async def insert_then(db: BaseDBAsyncClient, obj: TortoiseModel, build: Callable[[Any], T]) -> T:
    """Save the new `obj` and return `build(obj)`; on SQLite, with the COMMIT, in one trip.

    `build` must be plain code (it may run on the database's thread): serializing the object
    is what it is for. When the INSERT, `build` and the COMMIT go together, the transaction is
    over when this returns; otherwise it commits when the request's handler returns.
    """
    if not (isinstance(db, SqliteTransactionWrapper) and db.can_finish() and inserts_plainly(obj)):
        await obj.save(db)
        return build(obj)
    executor = db.executor_class(model=type(obj), db=db)
    fields = type(obj)._meta.fields_map
    values = [
        fields[name].to_db_value(getattr(obj, name), obj) for name in executor.regular_columns
    ]
    sql = executor.insert_query
    db.log.debug("%s: %s", sql, values)

    def insert_and_build(connection: sqlite3.Connection) -> T:
        obj.pk = connection.execute(sql, values).lastrowid
        return build(obj)

    result = await db.finish(insert_and_build)
    obj._saved_in_db = True
    return result
