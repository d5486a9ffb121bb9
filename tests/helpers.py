"""Small test helpers shared across test packages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import APIRouter
from tortoise.backends.base.client import BaseDBAsyncClient

from core import AutoRouter, CoreApp
from core.auth import create_access_token
from core.testing import database_url_for_tests
from tests.example_models import Post, User

#: The models every test database holds.
TEST_MODELS = ["tests.example_models"]

#: Statements, not the other messages the logger carries (pool created, script run, ...).
_SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE")

#: The secret the auth tests sign with, and one that signed none of their tokens.
SECRET = "test-secret-key-with-enough-entropy-for-hs512-0123456789abcdefghij"
OTHER_SECRET = "another-secret-key-that-did-not-sign-these-tokens-0123456789abcd"
#: The password of `make_user`'s users.
PASSWORD = "pw-12345678"

#: Tables that hold groups and permissions (the test user table is `users`).
PERMISSION_TABLES = ("auth_permissions", "auth_groups", "users_groups", "users_permissions")


class _StatementRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lstrip()
        if message.upper().startswith(_SQL_VERBS):
            self.statements.append(message)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block (SQLite and PostgreSQL alike), in order.

    Every Tortoise client, and the framework's own one-trip insert, logs each statement on the
    `tortoise.db_client` logger before running it; the block listens there at DEBUG level.
    """
    logger = logging.getLogger("tortoise.db_client")
    recorder = _StatementRecorder()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(recorder)
    try:
        yield recorder.statements
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)


def permission_queries(statements: list[str]) -> list[str]:
    """The statements among `statements` that read groups or permissions."""
    return [sql for sql in statements if any(table in sql for table in PERMISSION_TABLES)]


def app_with(*routers: APIRouter, **options: Any) -> CoreApp:
    """A CoreApp serving `routers` on the test database with `TEST_MODELS`; `options`
    (`settings=`, `models=`, `lifespan=`, ...) go to CoreApp as given."""
    options.setdefault("title", "t")
    options.setdefault("database_url", database_url_for_tests())
    options.setdefault("models", TEST_MODELS)
    return CoreApp(routers=list(routers), **options)


def viewset_routers(viewsets: Mapping[str, type]) -> list[AutoRouter]:
    """One AutoRouter a prefix, serving its ViewSet there (basename: the prefix without `/`)."""
    routers = []
    for prefix, viewset in viewsets.items():
        router = AutoRouter(prefix=prefix)
        router.register("", viewset, basename=prefix.strip("/"))
        routers.append(router)
    return routers


async def make_post(db: BaseDBAsyncClient, author: User, **values: Any) -> Post:
    """A saved post by `author`: title, slug and content filled in unless given."""
    defaults: dict[str, Any] = {"title": "Title", "slug": "title", "content": "..."}
    defaults.update(values)
    return await Post.create(**defaults, author=author, using_db=db)


async def make_user(db: BaseDBAsyncClient, email: str = "user@example.com") -> User:
    """A saved test user with the password `PASSWORD`."""
    return await User.create_user(email=email, password=PASSWORD, db=db)


def access_for(user: User, **options: Any) -> str:
    """An access token for `user` (`create_access_token`'s options pass through)."""
    return create_access_token({"sub": str(user.id)}, **options)


def bearer(token: str) -> dict[str, str]:
    """The `Authorization` header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


def postgres_url(reason: str) -> str:
    """The test database's URL; the test is skipped, saying `reason`, unless it is PostgreSQL."""
    url = database_url_for_tests()
    if not url.startswith("postgres"):
        pytest.skip(reason)
    return url


async def statements_sent(db: BaseDBAsyncClient) -> list[str]:
    """Every statement sent on `db` from now on, asyncpg's pool reset included (its query
    logger). `db` is a PostgreSQL pool of one connection (a URL with `?maxsize=1`)."""
    sent: list[str] = []
    async with db.acquire_connection() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    await settled(sent)  # asyncpg calls loggers from the event loop, after the statement
    sent.clear()  # the reset of that acquisition
    return sent


@contextmanager
def tasks_started() -> Iterator[list[Any]]:
    """The coroutines that asyncio tasks are started for in the block (on the running loop)."""
    loop = asyncio.get_running_loop()
    started: list[Any] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        started.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield started
    finally:
        loop.set_task_factory(None)


async def settled(sent: list[str]) -> list[str]:
    """`sent` once the loggers of the statements sent so far have run (one loop turn)."""
    await asyncio.sleep(0)
    return sent


def is_pool_reset(statement: str) -> bool:
    """Whether `statement` is asyncpg's reset (`... RESET ALL;`) of a released connection."""
    return "RESET ALL" in statement
