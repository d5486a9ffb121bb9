"""Run a command's coroutine in one `asyncio.run` and turn failures into one line on stderr."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import rich_click as click
from click import get_current_context
from click.exceptions import Abort, ClickException, Exit
from pydantic import ValidationError
from tortoise.exceptions import ConfigurationError

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


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the command's work to completion on a fresh event loop."""
    return asyncio.run(coroutine)


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
                if isinstance(exc, EXPECTED_ERRORS)
                else " (run with `core --traceback` for details)"
            )
            fail(describe_error(exc) + hint)
            raise AssertionError("unreachable") from None

    return wrapper
