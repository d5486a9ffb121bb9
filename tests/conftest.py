"""Shared fixtures: async tests on asyncio (anyio), and a fresh database per test.

The database is SQLite in memory unless DATABASE_URL names another (CI re-runs every test
that uses the database against a real PostgreSQL server: `make test-pg`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth import APIKeyBackend, register_auth_backend
from core.testing import fast_password_hasher, isolated_database, reset_framework_state
from tests.helpers import TEST_MODELS

#: Tests that request one of these fixtures are marked `db` and re-run on PostgreSQL.
DATABASE_FIXTURES = frozenset({"db", "client"})


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Run every `async def test_*` under anyio without a marker on each."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def framework_state() -> Iterator[None]:
    """Each test starts from a new process's framework state, hashing with the cheap hasher.

    Settings, auth config, registries and time zone are reset before and after; tests of real
    work factors choose their own hasher.
    """
    reset_framework_state()
    with fast_password_hasher():
        yield
    reset_framework_state()


@pytest.fixture
def api_keys() -> APIKeyBackend:
    """API keys accepted for the test (the reset above unregisters the backend after it)."""
    backend = APIKeyBackend()
    register_auth_backend(backend)
    return backend


@pytest.fixture
async def db() -> AsyncIterator[BaseDBAsyncClient]:
    """A connection to an empty database holding the example models' tables."""
    async with isolated_database(models=TEST_MODELS) as connection:
        yield connection
