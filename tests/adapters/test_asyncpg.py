"""What `core.adapters.asyncpg` relies on in asyncpg's pool, checked against the installed one.

Runs on the PostgreSQL server of `make test-pg`, on a real pool of one connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.adapters.asyncpg import WRITTEN_FOR, release_at_once, releases_at_once
from core.adapters.tortoise import client_pool
from core.db import connect
from tests.adapters.upstream import attribute, require
from tests.helpers import postgres_url, tasks_started

pytestmark = pytest.mark.db


def check(condition: Any, name: str, what: str) -> None:
    require(condition, WRITTEN_FOR, name, what, "asyncpg")


@pytest.fixture
async def pool() -> AsyncIterator[Any]:
    """The asyncpg pool, of one connection, behind a `core.db.connect` client."""
    url = postgres_url("asyncpg is the PostgreSQL driver")
    async with connect(f"{url}?minsize=1&maxsize=1", models=[]) as db:
        await db.execute_query("SELECT 1")  # the pool exists from the first statement on
        yield client_pool(db)


async def test_the_pool_internals_the_adapter_reads(pool: Any) -> None:
    proxy = await pool.acquire()
    try:
        holder = attribute(proxy, "_holder", WRITTEN_FOR, "asyncpg", "PoolConnectionProxy")
        connection = attribute(proxy, "_con", WRITTEN_FOR, "asyncpg", "PoolConnectionProxy")
        for name in ("_generation", "_max_queries", "_timeout", "release"):
            attribute(holder, name, WRITTEN_FOR, "asyncpg", "PoolConnectionHolder")
        for name in ("_reset", "_generation"):
            attribute(pool, name, WRITTEN_FOR, "asyncpg", "Pool")
        for name in ("_top_xact", "_on_release", "_protocol"):
            attribute(connection, name, WRITTEN_FOR, "asyncpg", "Connection")
        protocol = connection._protocol
        attribute(protocol, "_is_cancelling", WRITTEN_FOR, "asyncpg", "BaseProtocol")
        attribute(protocol, "queries_count", WRITTEN_FOR, "asyncpg", "BaseProtocol")
        check(releases_at_once(pool, proxy), "PoolConnectionHolder.release", "would wait")
        transaction = proxy.transaction()
        await transaction.start()
        check(
            not releases_at_once(pool, proxy),
            "Connection._top_xact",
            "no longer tells that a transaction is open",
        )
        await transaction.rollback()
        check(releases_at_once(pool, proxy), "Connection._top_xact", "outlives its transaction")
        await pool.expire_connections()
        check(
            not releases_at_once(pool, proxy),
            "Pool._generation",
            "no longer tells that a connection is due to be closed",
        )
    finally:
        await pool.release(proxy)


async def test_release_at_once_gives_the_connection_back_without_a_task(pool: Any) -> None:
    proxy = await pool.acquire()
    await proxy.fetch("SELECT 1")  # changes nothing in the session: nothing to reset
    assert releases_at_once(pool, proxy)
    with tasks_started() as started:
        await release_at_once(proxy)
    check(started == [], "PoolConnectionHolder.release", "now starts a task")
    check(pool.get_idle_size() == 1, "PoolConnectionHolder.release", "keeps the connection")
    async with pool.acquire() as again:  # and it is usable again at once
        check(await again.fetchval("SELECT 2") == 2, "Pool.acquire", "hands out a dead one")
