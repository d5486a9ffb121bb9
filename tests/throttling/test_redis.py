"""The Redis store against a real redis-server: `make test-redis` (scripts/with-redis.sh).

Skipped only when REDIS_URL is unset; CI sets it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest

from core.testing import app_client
from core.throttling import RedisThrottleStore, set_throttle_store
from tests.throttling.support import throttled_app

REDIS_URL = os.environ.get("REDIS_URL")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set (make test-redis sets it)"),
]


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisThrottleStore]:
    """A store on the test server, under a prefix of its own; its keys deleted afterwards."""
    assert REDIS_URL is not None
    prefix = f"test:{secrets.token_hex(6)}:"
    store = RedisThrottleStore(REDIS_URL, prefix=prefix)
    try:
        yield store
    finally:
        keys = [key async for key in store.client.scan_iter(match=f"{prefix}*")]
        if keys:
            await store.client.delete(*keys)
        await store.aclose()


async def test_hits_count_in_a_window_the_server_times(redis_store: RedisThrottleStore) -> None:
    first = await redis_store.hit("k", 1, 2)
    assert (first.allowed, first.hits) == (True, 1) and 0.9 < first.wait <= 1
    assert (await redis_store.hit("k", 1, 2)).allowed is True
    third = await redis_store.hit("k", 1, 2)
    assert (third.allowed, third.hits) == (False, 3) and 0 < third.wait <= 1
    count, left = await redis_store.get("k")
    assert count == 3 and 0 < left <= 1

    await asyncio.sleep(1.1)  # the key expired with its window
    assert await redis_store.get("k") == (0, 0.0)
    fresh = await redis_store.hit("k", 1, 2)
    assert (fresh.allowed, fresh.hits) == (True, 1)

    await redis_store.reset("k")
    assert await redis_store.get("k") == (0, 0.0)


async def test_concurrent_hits_are_each_counted_once(redis_store: RedisThrottleStore) -> None:
    hits = await asyncio.gather(*(redis_store.hit("busy", 60, 30) for _ in range(100)))
    assert sorted(hit.hits for hit in hits) == list(range(1, 101))
    assert sum(hit.allowed for hit in hits) == 30
    ttl = await redis_store.client.pttl(redis_store.prefix + "busy")
    assert 0 < ttl <= 60_000  # the window started once, at the first hit


async def test_two_stores_share_the_counters_like_two_hosts(
    redis_store: RedisThrottleStore,
) -> None:
    assert REDIS_URL is not None
    other = RedisThrottleStore(REDIS_URL, prefix=redis_store.prefix)  # another "host"
    try:
        assert (await redis_store.hit("shared", 60, 3)).hits == 1
        assert (await other.hit("shared", 60, 3)).hits == 2
        assert (await redis_store.hit("shared", 60, 3)).hits == 3
        assert (await other.hit("shared", 60, 3)).allowed is False
    finally:
        await other.aclose()


async def test_the_redis_store_over_http(redis_store: RedisThrottleStore) -> None:
    set_throttle_store(redis_store)
    async with app_client(throttled_app()) as client:
        codes = [(await client.get("/t/ping/")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        throttled = await client.get("/t/ping/")
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["Retry-After"]) <= 60
        statuses = [
            (
                await client.post("/auth/login/", json={"email": "x@y.z", "password": "p"})
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]


async def test_the_store_setting_accepts_a_redis_url() -> None:
    from core.throttling.stores import store_for

    assert REDIS_URL is not None
    store = store_for(REDIS_URL)
    assert isinstance(store, RedisThrottleStore)
    try:
        assert (await store.hit(f"test:{secrets.token_hex(6)}", 5, 1)).hits == 1
    finally:
        await store.aclose()
        from core.throttling import stores

        stores._stores.pop(REDIS_URL, None)
