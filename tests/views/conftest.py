"""The guide's app over HTTP: real ASGI app, lifespan and database, one fresh schema per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core.testing import app_client, app_database, database_url_for_tests, force_authenticate
from tests.example_models import Post, User
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


async def make_post(db: BaseDBAsyncClient, author: User, **values: Any) -> Post:
    defaults: dict[str, Any] = {"title": "Title", "slug": "title", "content": "..."}
    defaults.update(values)
    return await Post.create(**defaults, author=author, using_db=db)


def login(client: httpx.AsyncClient, user: User | None) -> None:
    force_authenticate(client, user)
