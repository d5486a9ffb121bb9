"""Start and stop the ORM for an app or a script, and turn connection failures into one clear line."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.utils import generate_schema_for_client

from core.config import Settings, get_settings
from core.db import mysql_errors
from core.db.config import apply_request_timeouts, build_tortoise_config
from core.db.urls import parse_database_url
from core.exceptions import DatabaseUnavailable

#: How long to wait for the first connection before calling the database unreachable.
CONNECT_TIMEOUT_SECONDS = 10.0

#: Exceptions that mean "the server is not there", as opposed to a bad query.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, DNS (includes ConnectionError, DBConnectionError)
    DBConnectionError,
    TimeoutError,
    sqlite3.OperationalError,
)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """Driver-specific 'cannot connect' errors, for the drivers that are installed."""
    errors = list(CONNECTION_ERRORS)
    try:
        import asyncpg

        errors += [
            asyncpg.exceptions.CannotConnectNowError,
            asyncpg.exceptions.InvalidAuthorizationSpecificationError,
            asyncpg.exceptions.InvalidCatalogNameError,
            asyncpg.exceptions.InvalidPasswordError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.TooManyConnectionsError,
            asyncpg.exceptions.InterfaceError,
        ]
    except ImportError:  # pragma: no cover - asyncpg is a core dependency
        pass
    return tuple(errors)


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the database cannot be reached."""
    errors = _connection_errors()
    seen: set[int] = set()
    current: BaseException | None = exc
    if mysql_errors.is_connection_error(exc):
        return True
    while current is not None and id(current) not in seen:
        if isinstance(current, errors) and not _is_query_error(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _is_query_error(exc: BaseException) -> bool:
    """sqlite3.OperationalError also covers bad SQL; only file-level failures count as 'down'."""
    if isinstance(exc, sqlite3.OperationalError):
        return "unable to open database" not in str(exc)
    return False


async def check_connection(db: BaseDBAsyncClient, url: str) -> None:
    """Run `SELECT 1`; raise DatabaseUnavailable with host and database (no password) on failure."""
    failures: tuple[type[BaseException], ...] = (*_connection_errors(), OperationalError)
    try:
        await asyncio.wait_for(db.execute_query("SELECT 1"), CONNECT_TIMEOUT_SECONDS)
    except failures as exc:
        raise DatabaseUnavailable(unavailable_message(url, exc)) from exc


def unavailable_message(url: str, exc: BaseException) -> str:
    """`cannot connect to postgres database 'app' at db:5432 as user 'u': <reason>`."""
    root = _root_cause(exc)
    reason = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    if isinstance(exc, TimeoutError):
        reason = f"no answer within {CONNECT_TIMEOUT_SECONDS:g}s"
    parsed = parse_database_url(url)
    password = parsed.credentials.get("password")
    if password:
        reason = reason.replace(str(password), "***")
    return f"cannot connect to {parsed.describe()}: {reason}"


def _root_cause(exc: BaseException) -> BaseException:
    """The driver's own error under Tortoise's wrappers (it says *why*, e.g. "does not exist")."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def configure_echo(settings: Settings) -> None:
    """DATABASE_ECHO=true logs every SQL statement (Tortoise's `tortoise.db_client` logger)."""
    if not settings.database_echo:
        return
    logger = logging.getLogger("tortoise.db_client")
    logger.setLevel(logging.DEBUG)
    if not logger.handlers and not logging.getLogger().handlers:
        logger.addHandler(logging.StreamHandler())


async def start_database(
    database_url: str | None = None,
    models: list[str] | None = None,
    settings: Settings | None = None,
    create_schema: bool = False,
    global_fallback: bool = True,
) -> TortoiseContext:
    """Start the ORM for an app's lifespan; request tasks see it through Tortoise's global context."""
    settings = settings or get_settings()
    configure_echo(settings)
    url = database_url or settings.database_url
    config = apply_request_timeouts(build_tortoise_config(url, models, settings), settings)
    context = await Tortoise.init(config=config, _enable_global_fallback=global_fallback)
    if create_schema:
        await context.generate_schemas()
    return context


async def stop_database() -> None:
    """Close every connection of the running ORM (idempotent)."""
    await Tortoise.close_connections()


@asynccontextmanager
async def connect(
    database_url: str | None = None,
    models: list[str] | None = None,
    create_schema: bool = False,
    settings: Settings | None = None,
) -> AsyncIterator[BaseDBAsyncClient]:
    """Start the ORM for a script, job or test, yield the default connection, always close it.

    ```python
    async with connect() as db:
        await Post.objects.using(db).count()
    ```
    """
    settings = settings or get_settings()
    configure_echo(settings)
    url = database_url or settings.database_url
    config = build_tortoise_config(url, models, settings)
    async with TortoiseContext() as context:
        try:
            await context.init(config=config)
        except _connection_errors() as exc:
            raise DatabaseUnavailable(unavailable_message(url, exc)) from exc
        db = context.db()
        await check_connection(db, url)
        if create_schema:
            await generate_schema_for_client(db, safe=True)
        yield db
