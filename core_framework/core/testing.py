"""Test support for apps built on core: an isolated database per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.backends.base.client import BaseDBAsyncClient

from core.db.connection import connect
from core.db.schema import recreate_schema

#: The database tests use when DATABASE_URL is not set.
DEFAULT_TEST_DATABASE_URL = "sqlite+aiosqlite:///:memory:"


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
