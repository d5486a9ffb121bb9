"""Group commit on SQLite: single-row INSERTs that arrive together share one COMMIT.

SQLite writes its log once per commit (and with `synchronous=full`, flushes it to disk), and
every call is a trip to aiosqlite's thread. A create that is nothing but its INSERT outside a
transaction (`core.db.one_trip.insert_and_commit`) is queued here instead of committing alone:
the INSERTs queued while the previous group was being written go in the next group, in one
trip and one transaction, each in a savepoint of its own. So one failed INSERT (a duplicate
slug) is rolled back and raised alone, and the others commit. A failed COMMIT fails the
whole group, and nothing of it is written. Each caller returns once its row is committed.

With no other INSERT waiting, the group is that INSERT alone, which commits itself as
Tortoise's would. The group runs under the client's lock, like every statement of Tortoise's
SQLite client, so it never interleaves with another statement or transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import translate_exceptions

from core.adapters.aiosqlite import run_on_thread, sqlite_connection


@dataclass
class _Insert:
    sql: str
    values: list[Any]
    rowid: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class InsertGroups:
    """The queue of one SQLite client's INSERTs, and the task that commits them in groups."""

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self._waiting: list[_Insert] = []
        self._committing: asyncio.Task[None] | None = None

    @translate_exceptions
    async def insert(self, sql: str, values: list[Any]) -> int:
        """Run the INSERT `sql` with `values` and commit it; its row's rowid. SQLite's errors
        are raised as Tortoise's SQLite client raises them (`IntegrityError`, ...).

        A caller cancelled before its group starts is dropped from it; one cancelled after
        that has its row committed anyway, as with any statement already sent.
        """
        item = _Insert(sql, values)
        self._waiting.append(item)
        if self._committing is None:
            self._committing = asyncio.get_running_loop().create_task(self._commit_waiting())
        return await item.rowid

    async def _commit_waiting(self) -> None:
        try:
            while self._waiting:
                group = [item for item in self._waiting if not item.rowid.done()]
                self._waiting = []
                if group:
                    await self._commit(group)
        finally:
            self._committing = None
            for item in self._waiting:  # left by a cancellation: never run
                item.rowid.cancel()
            self._waiting = []

    async def _commit(self, group: list[_Insert]) -> None:
        for item in group:
            self.client.log.debug("%s: %s", item.sql, item.values)
        try:
            async with self.client.acquire_connection() as connection:
                outcomes = await run_on_thread(
                    connection, _insert_all, sqlite_connection(connection), group
                )
        except Exception as error:  # the trip failed (say the COMMIT): nothing was written
            for item in group:
                if not item.rowid.done():
                    item.rowid.set_exception(error)
            return
        except BaseException:  # this task was cancelled (the loop is closing)
            for item in group:
                item.rowid.cancel()
            raise
        for item, outcome in zip(group, outcomes, strict=True):
            if item.rowid.done():
                continue
            if isinstance(outcome, Exception):
                item.rowid.set_exception(outcome)
            else:
                item.rowid.set_result(outcome)


def _insert_all(raw: sqlite3.Connection, group: list[_Insert]) -> list[int | Exception]:
    """On the SQLite thread: the group's INSERTs, each in a savepoint, and one COMMIT."""
    if len(group) == 1:  # alone: the INSERT commits itself
        try:
            return [_rowid(raw.execute(group[0].sql, group[0].values))]
        except Exception as error:
            return [error]
    outcomes: list[int | Exception] = []
    raw.execute("BEGIN")
    try:
        for item in group:
            raw.execute("SAVEPOINT core_insert")
            try:
                outcomes.append(_rowid(raw.execute(item.sql, item.values)))
            except Exception as error:
                raw.execute("ROLLBACK TO core_insert")
                outcomes.append(error)
            raw.execute("RELEASE core_insert")
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return outcomes


def _rowid(cursor: sqlite3.Cursor) -> int:
    rowid = cursor.lastrowid
    assert rowid is not None  # an INSERT always sets it
    return rowid
