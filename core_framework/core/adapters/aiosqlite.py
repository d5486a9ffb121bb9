"""aiosqlite internals core relies on (written for aiosqlite >=0.22.0,<0.23).

aiosqlite runs each call on the connection's own thread. `core.db.sqlite_client` sends several
statements (BEGIN with the first one; an INSERT, the response and COMMIT) in one call, so it
needs the queue that runs a function on that thread and the `sqlite3.Connection` there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

WRITTEN_FOR = "aiosqlite >=0.22.0,<0.23"

T = TypeVar("T")


async def run_on_thread(
    connection: aiosqlite.Connection, function: Callable[..., T], *args: Any
) -> T:
    """`function(*args)` on the connection's thread, in order with its other calls."""
    result: T = await connection._execute(function, *args)
    return result


def sqlite_connection(connection: aiosqlite.Connection) -> sqlite3.Connection:
    """The `sqlite3.Connection` the thread uses; touch it only from `run_on_thread`."""
    return connection._conn
