"""Tortoise's asyncpg engine, whose own statements hand their connection back without a reset.

asyncpg resets every connection it takes back into its pool (`SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL;`): one more round trip after each statement run outside a
transaction, because it cannot know what the statement changed in the session. A statement
the framework writes in full, with every value bound, sets nothing, takes no lock and opens no
cursor, so it leaves nothing to reset. `fetch_without_reset` runs one (the user behind a Bearer
token, `core.auth.revocation`; the INSERT of a single-INSERT create, `core.db.one_trip`) and
returns its connection with asyncpg's own checks only: a transaction left open would still be
rolled back. Every other statement keeps the full reset.
Used as the engine of every `postgres://`, `postgresql://` and `asyncpg://` URL.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base_postgres.client import translate_exceptions


class PooledConnection(asyncpg.Connection):
    """An asyncpg connection whose next reset can be skipped, once, by the code that used it."""

    _skip_reset = False

    def skip_next_reset(self) -> None:
        """Say that nothing since this connection was acquired changed its session state."""
        self._skip_reset = True

    def get_reset_query(self) -> str:  # asyncpg's hook: the query `Connection.reset` sends
        if self._skip_reset:
            self._skip_reset = False
            return ""  # asyncpg sends nothing for an empty reset query
        query: str = super().get_reset_query()
        return query


class AsyncpgClient(AsyncpgDBClient):
    """Tortoise's asyncpg client on `PooledConnection`s."""

    connection_class = PooledConnection

    @translate_exceptions
    async def fetch_without_reset(self, sql: str, params: list[Any]) -> list[Any]:
        """The rows of `sql`, a statement of the framework's own that changes no session state,
        on a pooled connection that goes back to the pool without asyncpg's reset round trip."""
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", sql, params)
            rows: list[Any] = await connection.fetch(sql, *params)
            connection.skip_next_reset()
            return rows


client_class = AsyncpgClient


async def fetch_lookup(client: BaseDBAsyncClient, sql: str, params: list[Any]) -> list[Any]:
    """The rows of a framework-written lookup: without the reset on this engine's pool, else
    (a transaction, SQLite, MySQL, another engine) as `execute_query` runs any statement."""
    if isinstance(client, AsyncpgClient):
        return await client.fetch_without_reset(sql, params)
    _, rows = await client.execute_query(sql, params)
    return list(rows)
