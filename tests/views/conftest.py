"""The guide's app over HTTP: real ASGI app, lifespan and database, one fresh schema per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core.testing import app_client, app_database, database_url_for_tests
from tests.example_models import User
from tests.guide_app import create_app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(database_url_for_tests())) as http:
        yield http


@pytest.fixture
def app_db(client: httpx.AsyncClient) -> BaseDBAsyncClient:
    return app_database()


@pytest.fixture
async def alice(app_db: BaseDBAsyncClient) -> User:
    return await User.create_user("alice@example.com", "Password1", db=app_db, name="Alice")


@pytest.fixture
async def bob(app_db: BaseDBAsyncClient) -> User:
    return await User.create_user("bob@example.com", "Password1", db=app_db)
