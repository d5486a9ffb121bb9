"""Test support for apps built on core: an isolated database per test and an HTTP client.

```python
async with app_client(app) as client:          # lifespan run, schema created afresh
    user = await User.create_user("a@b.c", "pw", db=app_database())
    force_authenticate(client, user)
    response = await client.get("/api/v1/auth/me/")
```
SQLite in memory unless DATABASE_URL names another database (PostgreSQL in CI).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth.hashers import get_password_hasher, set_default_password_hasher
from core.auth.tokens import create_access_token
from core.db.connection import connect
from core.db.schema import recreate_schema

#: The database tests use when DATABASE_URL is not set.
DEFAULT_TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"
#: A password hasher with a tiny work factor, for test suites only (refused in production).
FAST_TEST_HASHER = "fast_test"


def database_url_for_tests() -> str:
    """DATABASE_URL from the environment (PostgreSQL in CI), else SQLite in memory."""
    return os.environ.get("DATABASE_URL") or DEFAULT_TEST_DATABASE_URL


@asynccontextmanager
async def isolated_database(
    models: list[str] | None = None, database_url: str | None = None
) -> AsyncIterator[BaseDBAsyncClient]:
    """A connection to a database holding exactly the models' tables, empty, for one test."""
    async with connect(database_url or database_url_for_tests(), models=models) as db:
        await recreate_schema(db)
        yield db


def app_database() -> BaseDBAsyncClient:
    """The connection of the app running under `app_client`."""
    return connections.get("default")


@asynccontextmanager
async def app_client(
    app: Any, base_url: str = "http://testserver", fresh_schema: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client over the real ASGI app, its lifespan started (and stopped after).

    With `fresh_schema` every table is dropped and the models' tables are created, so each
    test starts from an empty database (use `fresh_schema=False` to test migrations instead).
    """
    async with LifespanManager(app) as manager:
        if fresh_schema:
            await recreate_schema(app_database())
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def force_authenticate(client: httpx.AsyncClient, user: Any | None) -> None:
    """Send the next requests as `user` (a real access token), or anonymously with None."""
    if user is None:
        client.headers.pop("Authorization", None)
    else:
        token = create_access_token({"sub": str(user.pk)})
        client.headers["Authorization"] = f"Bearer {token}"


@contextmanager
def fast_password_hasher() -> Iterator[None]:
    """Hash passwords with the test-only fast hasher inside the block."""
    get_password_hasher(FAST_TEST_HASHER)
    set_default_password_hasher(FAST_TEST_HASHER)
    try:
        yield
    finally:
        set_default_password_hasher(None)
