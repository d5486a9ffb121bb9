"""The stores on their own: atomic hits, windows, reset, bounded memory, the database table."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core.exceptions import ImproperlyConfigured
from core.throttling import (
    DatabaseThrottleStore,
    MemoryThrottleStore,
    ThrottleStore,
    get_throttle_store,
)
from core.throttling.models import ThrottleBucket
from core.throttling.stores import MAX_KEY_LENGTH, storage_key, store_for
from tests.throttling.support import Clock


async def check_a_store(store: ThrottleStore, clock: Clock) -> None:
    """What every store does, on a clock the test moves."""
    first = await store.hit("k", 60, 2)
    assert (first.allowed, first.hits, first.wait) == (True, 1, 60)
    clock.advance(10)
    assert (await store.hit("k", 60, 2)).allowed is True
    third = await store.hit("k", 60, 2)
    assert (third.allowed, third.hits) == (False, 3)
    assert third.wait == pytest.approx(50)
    assert await store.get("k") == (3, pytest.approx(50))
    assert await store.get("other") == (0, 0.0)

    clock.advance(50)  # the window has ended: a new one starts
    fresh = await store.hit("k", 60, 2)
    assert (fresh.allowed, fresh.hits, fresh.wait) == (True, 1, 60)
    assert await store.get("k") == (1, pytest.approx(60))

    await store.reset("k")
    assert await store.get("k") == (0, 0.0)
    assert (await store.hit("k", 60, 2)).hits == 1


async def test_the_memory_store_counts_fixed_windows() -> None:
    clock = Clock()
    await check_a_store(MemoryThrottleStore(clock=clock), clock)


async def test_the_memory_store_stays_bounded() -> None:
    clock = Clock()
    store = MemoryThrottleStore(clock=clock, max_keys=100)
    for n in range(100):
        await store.hit(f"old{n}", 10, 5)
    clock.advance(11)  # all expired: swept when the next key arrives
    await store.hit("new", 10, 5)
    assert len(store._windows) == 1
    for n in range(250):  # live keys beyond the bound: the oldest windows go
        await store.hit(f"live{n}", 10, 5)
    assert len(store._windows) <= 100
    assert await store.get("live249") == (1, 10)


async def test_the_database_store_counts_fixed_windows(db: BaseDBAsyncClient) -> None:
    clock = Clock()
    await check_a_store(DatabaseThrottleStore(db, clock=clock), clock)


async def test_concurrent_hits_in_the_database_are_each_counted_once(db: BaseDBAsyncClient) -> None:
    store = DatabaseThrottleStore(db)
    hits = await asyncio.gather(*(store.hit("busy", 60, 30) for _ in range(50)))
    assert sorted(hit.hits for hit in hits) == list(range(1, 51))
    assert sum(hit.allowed for hit in hits) == 30
    row = await ThrottleBucket.objects.using(db).get(bucket_key="busy")
    assert row.hits == 50


async def test_the_database_store_prunes_ended_windows(db: BaseDBAsyncClient) -> None:
    clock = Clock()
    store = DatabaseThrottleStore(db, clock=clock, prune_every=60)
    for n in range(5):
        await store.hit(f"short{n}", 10, 1)
    await store.hit("long", 3600, 1)
    clock.advance(61)
    await store.hit("trigger", 10, 1)  # a minute later: ended windows are deleted
    keys = set(await ThrottleBucket.objects.using(db).values_list("bucket_key", flat=True))
    assert keys == {"long", "trigger"}


async def test_long_keys_are_stored_as_digests(db: BaseDBAsyncClient) -> None:
    store = DatabaseThrottleStore(db)
    long_key = "throttle_x_" + "é" * 300
    assert (await store.hit(long_key, 60, 1)).hits == 1
    assert (await store.hit(long_key, 60, 1)).hits == 2
    stored = storage_key(long_key)
    assert stored.startswith("sha256:") and len(stored) <= MAX_KEY_LENGTH
    assert await ThrottleBucket.objects.using(db).filter(bucket_key=stored).count() == 1


def test_the_store_setting_names_one_store_per_process() -> None:
    assert isinstance(store_for("memory"), MemoryThrottleStore)
    assert store_for("memory") is store_for("memory")
    assert isinstance(store_for("database"), DatabaseThrottleStore)
    assert isinstance(get_throttle_store(), MemoryThrottleStore)  # the default
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_STORE='mem'"):
        store_for("mem")
