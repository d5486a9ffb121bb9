"""Fixtures: the throttled app over HTTP, with a hand-moved clock and fresh counters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.testing import app_client
from core.throttling import MemoryThrottleStore
from tests.throttling.support import Clock, memory_store, throttled_app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryThrottleStore:
    return memory_store(clock)


@pytest.fixture
async def client(store: MemoryThrottleStore) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(throttled_app()) as http:
        yield http
