"""The asyncpg engine: the framework's lookups go back to the pool without asyncpg's reset.

Every other statement keeps the reset, so what user code changes in a session (a SET, an
advisory lock) never reaches the next request; the engine sends it itself and releases the
connection without `Pool.release`'s task. Runs on the PostgreSQL server of `make test-pg`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from core.adapters.tortoise import client_pool
from core.db import connect, parse_database_url
from core.db.asyncpg_client import AsyncpgClient, PooledConnection, fetch_lookup, give_back
from tests.helpers import is_pool_reset, postgres_url, settled, statements_sent, tasks_started

pytestmark = pytest.mark.db


def test_postgres_urls_use_the_engine() -> None:
    for url in ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db", "asyncpg://u:p@h/db"):
        assert parse_database_url(url).config["engine"] == "core.db.asyncpg_client"


@pytest.fixture
async def one_connection() -> AsyncIterator[tuple[BaseDBAsyncClient, list[str]]]:
    """A pool of one connection, and every statement sent on it (asyncpg's query logger)."""
    url = postgres_url("asyncpg's pool reset is PostgreSQL's")
    async with connect(f"{url}?minsize=1&maxsize=1", models=[]) as db:
        assert isinstance(db, AsyncpgClient)
        yield db, await statements_sent(db)


async def test_a_lookup_is_not_followed_by_the_reset(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, sent = one_connection
    rows = await fetch_lookup(db, "SELECT $1::int AS answer", [42])
    assert [dict(row) for row in rows] == [{"answer": 42}]
    assert await settled(sent) == ["SELECT $1::int AS answer"]


async def test_every_other_statement_is_followed_by_the_reset(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, sent = one_connection
    await db.execute_query("SET application_name = 'changed-by-user-code'")
    assert len(await settled(sent)) == 2 and is_pool_reset(sent[1])
    _, rows = await db.execute_query("SHOW application_name")
    assert rows[0]["application_name"] != "changed-by-user-code"
    await fetch_lookup(db, "SELECT 1", [])
    await db.execute_query("SELECT 2")  # the skip was for one release only
    assert (await settled(sent))[-2:] == ["SELECT 2", sent[1]]


async def test_skipping_is_once_and_only_when_asked(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, _ = one_connection
    async with db.acquire_connection() as connection:
        await connection.execute("SET application_name = 'kept'")
        connection.skip_next_reset()
    _, rows = await db.execute_query("SHOW application_name")
    assert rows[0]["application_name"] == "kept"  # no reset after the skip...
    _, rows = await db.execute_query("SHOW application_name")
    assert rows[0]["application_name"] != "kept"  # ...and the next release resets again


async def test_a_failed_lookup_is_a_tortoise_error_and_still_resets(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, sent = one_connection
    with pytest.raises(OperationalError, match="no_such_table"):
        await fetch_lookup(db, "SELECT * FROM no_such_table", [])
    assert is_pool_reset((await settled(sent))[-1])


async def test_in_a_transaction_a_lookup_runs_on_the_transaction(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, sent = one_connection
    async with in_transaction(db.connection_name) as transaction:
        await transaction.execute_query("CREATE TEMPORARY TABLE lookup_seen (id int)")
        await transaction.execute_query("INSERT INTO lookup_seen VALUES (7)")
        rows = await fetch_lookup(transaction, "SELECT id FROM lookup_seen", [])
        assert [row["id"] for row in rows] == [7]
        await transaction.rollback()
    assert is_pool_reset((await settled(sent))[-1])


async def test_a_statement_is_reset_and_released_without_a_task(
    one_connection: tuple[BaseDBAsyncClient, list[str]],
) -> None:
    db, sent = one_connection
    with tasks_started() as started:
        await db.execute_query("SET application_name = 'changed-by-user-code'")
    assert started == []
    assert len(await settled(sent)) == 2 and is_pool_reset(sent[1])
    assert client_pool(db).get_idle_size() == 1


class SlowReset(PooledConnection):
    """A connection whose reset takes half a second: long enough to cancel it midway."""

    def get_reset_query(self) -> str:
        query = super().get_reset_query()
        return f"SELECT pg_sleep(0.5); {query}" if query else query


async def test_a_reset_cancelled_midway_still_returns_a_reset_connection() -> None:
    url = postgres_url("asyncpg's pool reset is PostgreSQL's")
    dsn = "postgresql://" + url.split("://", 1)[1]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1, connection_class=SlowReset)
    try:
        proxy = await pool.acquire()
        await proxy.execute("SET application_name = 'left-by-a-cancelled-request'")
        releasing = asyncio.create_task(give_back(pool, proxy))
        await asyncio.sleep(0.1)  # the reset's pg_sleep is running
        releasing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await releasing
        async with asyncio.timeout(10), pool.acquire() as again:  # back in the pool...
            name = await again.fetchval("SHOW application_name")
        assert name != "left-by-a-cancelled-request"  # ...and reset
    finally:
        await pool.close()


async def test_the_url_sets_how_long_idle_connections_stay_open() -> None:
    url = postgres_url("asyncpg's pool is PostgreSQL's")
    for query, seconds in (("", 300.0), ("?max_inactive_connection_lifetime=0", 0.0)):
        async with connect(f"{url}{query}", models=[]) as db:
            await db.execute_query("SELECT 1")
            assert client_pool(db)._max_inactive_connection_lifetime == seconds
