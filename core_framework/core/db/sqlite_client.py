"""Tortoise's SQLite backend, with transactions that begin with their first statement.

aiosqlite runs every call on its own thread, so each one is a trip between threads. Tortoise
opens a transaction with two trips (a no-op COMMIT, then BEGIN) before any work; here BEGIN
travels with the transaction's first statement and a transaction that runs no statement costs
nothing. SQLite's BEGIN is deferred (no lock until the first statement), so the transaction
behaves the same. A transaction may also end with `finish(work)`: the work (say an INSERT and
the response built from it) and the COMMIT in one trip (`core.db.one_trip`). Statements run
on aiosqlite's thread through `core.adapters.aiosqlite` (aiosqlite is pinned). Used as the engine
`core.db.sqlite_client` for every SQLite URL.

Connections use write-ahead logging with `synchronous=NORMAL`, SQLite's recommended pairing
(and Rails' default): commits survive a crash of the application, and the database stays
consistent, but the last commits may be lost if the machine itself loses power, in exchange
for no fsync on every commit. `?synchronous=full` in the URL restores an fsync per commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite import client as tortoise_sqlite
from tortoise.exceptions import TransactionManagementError

from core.adapters.aiosqlite import run_on_thread, sqlite_connection
from core.adapters.tortoise import (
    client_lock,
    finalize_transaction,
    replace_transaction_connection,
    transaction_connection,
    transaction_finalized,
)
from core.db.group_commit import InsertGroups
from core.db.sqlite import strict_identifiers

T = TypeVar("T")


class DeferredBegin:
    """The aiosqlite connection of one transaction: BEGIN is sent with the first statement.

    Exposes the calls Tortoise's SQLite client makes; anything else is the connection's own.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self.begun = False
        self.finished = False  # by `finish`: later statements would run outside any transaction

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run `function` on the connection's thread, after BEGIN if this is the first call."""
        if self.finished:
            raise TransactionManagementError("Transaction already finalised")
        if self.begun:
            return await run_on_thread(self.connection, function, *args)
        self.begun = True  # a failure after BEGIN still leaves a transaction to roll back
        raw = sqlite_connection(self.connection)

        def begin_then_run() -> Any:
            raw.execute("BEGIN")
            return function(*args)

        return await run_on_thread(self.connection, begin_then_run)

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> aiosqlite.Cursor:
        cursor = await self._run(sqlite_connection(self.connection).execute, sql, parameters or [])
        return aiosqlite.Cursor(self.connection, cursor)

    async def execute_insert(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        """`(rowid,)` of the inserted row, read from the cursor (no `last_insert_rowid()` query)."""
        raw = sqlite_connection(self.connection)

        def insert() -> tuple[int | None]:
            return (raw.execute(sql, parameters or ()).lastrowid,)

        return await self._run(insert)

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        raw = sqlite_connection(self.connection)
        params: Any = parameters or []

        def fetchall() -> list[sqlite3.Row]:
            return raw.execute(sql, params).fetchall()

        return await self._run(fetchall)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> aiosqlite.Cursor:
        cursor = await self._run(sqlite_connection(self.connection).executemany, sql, parameters)
        return aiosqlite.Cursor(self.connection, cursor)

    async def executescript(self, sql_script: str) -> aiosqlite.Cursor:
        cursor = await self._run(sqlite_connection(self.connection).executescript, sql_script)
        return aiosqlite.Cursor(self.connection, cursor)

    async def finish(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """`function(connection)` as the transaction's last work, and COMMIT, in one trip.

        Runs on the SQLite thread (BEGIN first if nothing ran yet); any error there, in
        `function` or in the COMMIT, rolls the whole transaction back before it is raised.
        """
        if self.finished:
            raise TransactionManagementError("Transaction already finalised")
        begun, self.begun, self.finished = self.begun, True, True
        raw = sqlite_connection(self.connection)

        def run_and_commit() -> T:
            try:
                if not begun:
                    raw.execute("BEGIN")
                result = function(raw)
                raw.commit()
            except BaseException:
                if raw.in_transaction:
                    raw.rollback()
                raise
            return result

        return await run_on_thread(self.connection, run_and_commit)

    async def commit(self) -> None:
        if self.begun:
            await self.connection.commit()

    async def rollback(self) -> None:
        if self.begun:
            await self.connection.rollback()


class SqliteTransactionWrapper(tortoise_sqlite.SqliteTransactionWrapper):
    """Tortoise's transaction client on a `DeferredBegin` connection."""

    async def begin(self) -> None:
        replace_transaction_connection(self, DeferredBegin(transaction_connection(self)))

    def can_finish(self) -> bool:
        """Whether `finish` may end this transaction (a top-level one, still open)."""
        return isinstance(transaction_connection(self), DeferredBegin) and not (
            transaction_finalized(self)
        )

    async def finish(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """End the transaction with `function`'s work and the COMMIT in one trip (see
        `DeferredBegin.finish`); afterwards the transaction is over, committed or rolled back.
        """
        if not self.can_finish():
            raise TransactionManagementError("Transaction already finalised")
        try:
            return await self._finish(function)
        finally:
            finalize_transaction(self)

    @tortoise_sqlite.translate_exceptions
    async def _finish(self, function: Callable[[sqlite3.Connection], T]) -> T:
        connection: DeferredBegin = transaction_connection(self)
        return await connection.finish(function)


#: PRAGMAs every connection starts with, unless the URL's query string sets them.
DEFAULT_PRAGMAS = {"journal_mode": "WAL", "synchronous": "NORMAL"}


class SqliteClient(tortoise_sqlite.SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        for pragma, value in DEFAULT_PRAGMAS.items():
            self.pragmas.setdefault(pragma, value)
        #: Single-row INSERTs outside a transaction, committed in groups (`core.db.group_commit`).
        self.insert_groups = InsertGroups(self)

    async def insert_alone(self, sql: str, values: list[Any]) -> int:
        """Run the framework's INSERT of one row outside a transaction and commit it (with those
        of concurrent creates, `core.db.group_commit`); the row's rowid."""
        return await self.insert_groups.insert(sql, values)

    async def _post_connect(self) -> None:
        """Double-quoted names that match no column are errors, never string literals."""
        await super()._post_connect()
        connection = self._connection
        assert connection is not None
        await run_on_thread(connection, strict_identifiers, sqlite_connection(connection))

    def _in_transaction(self) -> TransactionContext:  # Tortoise's hook for `in_transaction`
        return tortoise_sqlite.SqliteTransactionContext(
            SqliteTransactionWrapper(self), client_lock(self)
        )


class SqliteClientWithRegexpSupport(tortoise_sqlite.SqliteClientWithRegexpSupport, SqliteClient):
    """`?install_regexp_functions=true`: Tortoise's REGEXP functions, the same transactions."""


client_class = SqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[tortoise_sqlite.SqliteClient]:
    if db_info.get("credentials", {}).get("install_regexp_functions"):
        return SqliteClientWithRegexpSupport
    return SqliteClient
