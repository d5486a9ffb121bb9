"""What `core.adapters.aiosqlite` relies on in aiosqlite, checked against the installed one."""

from __future__ import annotations

import sqlite3
import threading

import aiosqlite

from core.adapters.aiosqlite import WRITTEN_FOR, run_on_thread, sqlite_connection
from tests.adapters.upstream import attribute, require


async def test_functions_run_on_the_connections_thread_in_order() -> None:
    async with aiosqlite.connect(":memory:") as connection:
        attribute(connection, "_execute", WRITTEN_FOR, "aiosqlite", "aiosqlite.Connection")
        attribute(connection, "_conn", WRITTEN_FOR, "aiosqlite", "aiosqlite.Connection")
        raw = sqlite_connection(connection)
        require(
            isinstance(raw, sqlite3.Connection),
            WRITTEN_FOR,
            "aiosqlite.Connection._conn",
            "is no sqlite3.Connection",
            "aiosqlite",
        )
        await connection.execute("CREATE TABLE t (x INTEGER)")
        seen: list[int] = []

        def insert(value: int) -> int:
            seen.append(threading.get_ident())
            raw.execute("INSERT INTO t VALUES (?)", (value,))
            return value * 2

        results = [await run_on_thread(connection, insert, n) for n in range(3)]
        require(
            results == [0, 2, 4],
            WRITTEN_FOR,
            "aiosqlite.Connection._execute",
            "no longer returns the function's result",
            "aiosqlite",
        )
        require(
            len(set(seen)) == 1 and seen[0] != threading.get_ident(),
            WRITTEN_FOR,
            "aiosqlite.Connection._execute",
            "no longer runs functions on the connection's own thread",
            "aiosqlite",
        )
        async with connection.execute("SELECT x FROM t ORDER BY x") as cursor:
            rows = [row[0] for row in await cursor.fetchall()]
        require(
            rows == [0, 1, 2],
            WRITTEN_FOR,
            "aiosqlite.Connection._conn",
            "is not the connection aiosqlite runs statements on",
            "aiosqlite",
        )
