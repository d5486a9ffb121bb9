"""Run a command's coroutine in one `asyncio.run` and turn failures into one line on stderr."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import rich_click as click
from click import get_current_context
from click.exceptions import Abort, ClickException, Exit
from pydantic import ValidationError
from tortoise.exceptions import ConfigurationError

from core.db.schema_errors import MIGRATE_HINT, missing_schema
from core.exceptions import DatabaseUnavailable, ImproperlyConfigured
from core.migrations.exceptions import MigrationError

P = ParamSpec("P")
T = TypeVar("T")

#: Errors whose message says everything: shown without a traceback or a type name.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    ImproperlyConfigured,
    MigrationError,
    ConfigurationError,
)


#: How long a failed command waits for aiosqlite's worker threads to finish stopping.
_SQLITE_SETTLE_SECONDS = 2.0


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the command's work to completion on a fresh event loop."""
    return asyncio.run(_settled(coroutine))


async def _settled(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await `coroutine`, then let stopping aiosqlite threads finish while the loop still runs.

    A SQLite file that can't be opened leaves aiosqlite's worker thread stopping; if the loop
    closes first, that thread prints "Event loop is closed" tracebacks after our one-line error.
    """
    try:
        return await coroutine
    finally:
        await _join_sqlite_workers()


async def _join_sqlite_workers() -> None:
    deadline = time.monotonic() + _SQLITE_SETTLE_SECONDS
    for thread in threading.enumerate():
        if thread is threading.current_thread() or not thread.name.endswith(
            "(_connection_worker_thread)"
        ):
            continue
        # Joined off the loop, so the loop keeps running and the thread can hand back its result.
        await asyncio.to_thread(thread.join, max(0.0, deadline - time.monotonic()))


def fail(message: str, code: int = 1) -> None:
    """Print `Error: message` on stderr and exit with `code`."""
    click.echo(f"Error: {message}", err=True)
    get_current_context().exit(code)


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        return f"invalid settings: {problems}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if missing_schema(exc) is not None:  # a table or column missing: say what to run
        return f"{text}; {MIGRATE_HINT}"
    if isinstance(exc, EXPECTED_ERRORS):
        return text
    return f"{type(exc).__name__}: {text}"


def one_line_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Report any failure of the command as one line (the traceback with `core --traceback`)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (ClickException, Exit, Abort):
            raise
        except Exception as exc:
            root = get_current_context().find_root()
            if root.params.get("traceback"):
                raise
            hint = (
                ""
                if isinstance(exc, EXPECTED_ERRORS) or missing_schema(exc) is not None
                else " (run with `core --traceback` for details)"
            )
            fail(describe_error(exc) + hint)
            raise AssertionError("unreachable") from None

    return wrapper
