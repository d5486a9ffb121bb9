"""Run a command's coroutine in one `asyncio.run` and turn failures into one line on stderr."""

from __future__ import annotations

import asyncio
import difflib
import functools
import os
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

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


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `Error: message` on stderr and exit with `code`."""
    click.echo(f"Error: {message}", err=True)
    get_current_context().exit(code)


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong (with Python's "Did you mean" hint for a typo)."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        return f"invalid settings: {problems}"
    if missing_schema(exc) is not None:  # a table or column missing: say what to run
        return f"{' '.join(str(exc).split()) or type(exc).__name__}; {MIGRATE_HINT}"
    explained = _explained(exc)
    if explained is not None:
        return explained
    if isinstance(exc, EXPECTED_ERRORS):
        return " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, SyntaxError):
        text = " ".join((exc.msg or "").split()) or "invalid syntax"
    else:
        # TracebackException adds Python's own hint: "Did you mean: 'Field'?" for a typo.
        shown = traceback.TracebackException.from_exception(exc).format_exception_only()
        text = " ".join("".join(shown).split())
        text = "" if text == _qualified(exc) else text.removeprefix(f"{_qualified(exc)}: ")
        if "Did you mean" not in text and (suggestion := did_you_mean(exc)) is not None:
            text += f". Did you mean: {suggestion!r}?"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def did_you_mean(exc: BaseException) -> str | None:
    """The name Python would suggest for a NameError or AttributeError typo.

    Python 3.12's traceback module adds the hint itself; before, only the interpreter's own
    traceback printing did, so a caught error lost it. Close matches come from the object's
    attributes, or from the failing frame's locals, globals and builtins.
    """
    name = getattr(exc, "name", None)
    if not isinstance(name, str) or not isinstance(exc, NameError | AttributeError):
        return None
    if isinstance(exc, AttributeError):
        try:
            candidates = dir(exc.obj)
        except Exception:
            return None
    else:
        tb = exc.__traceback__
        if tb is None:
            return None
        while tb.tb_next is not None:
            tb = tb.tb_next
        frame = tb.tb_frame
        candidates = [*frame.f_locals, *frame.f_globals, *frame.f_builtins]
    close = difflib.get_close_matches(name, [c for c in candidates if c != name], n=1)
    return close[0] if close else None


def _qualified(exc: BaseException) -> str:
    """The exception type as `format_exception_only` prints it (module-qualified)."""
    kind = type(exc)
    module = kind.__module__
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def _explained(exc: BaseException) -> str | None:
    """A framework error said in the user's terms (a foreign key naming a missing table)."""
    if isinstance(exc, ConfigurationError):
        from core.models.registry import explain_unresolved_reference

        return explain_unresolved_reference(str(exc))
    return None


def _is_project_file(filename: str | None, root: Path) -> bool:
    """Whether `filename` is the project's own code (under `root`, not in a virtualenv)."""
    if not filename or filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    parts = path.parts
    return path.is_relative_to(root) and "site-packages" not in parts and ".venv" not in parts


def project_location(exc: BaseException) -> str | None:
    """`File "src/apps/posts/models.py", line 13` and the line itself, when the error was
    raised in (or, for a SyntaxError, found in) a file of the project; else None."""
    root = Path(os.getcwd()).resolve()
    line: str | None
    if isinstance(exc, SyntaxError) and _is_project_file(exc.filename, root):
        filename, lineno, line = exc.filename, exc.lineno, exc.text
        offset = exc.offset
    else:
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if _is_project_file(frame.filename, root)
        ]
        if not frames:
            return None
        frame = frames[-1]  # the deepest: where the project's code failed
        filename, lineno, line, offset = frame.filename, frame.lineno, frame.line, None
    assert filename is not None
    relative = os.path.relpath(Path(filename).resolve(), root)
    where = f'  File "{relative}", line {lineno}'
    if line and line.strip():
        code = line.rstrip("\n")
        stripped = code.lstrip()
        where += f"\n    {stripped}"
        if offset is not None and offset > 0:
            caret = max(0, offset - 1 - (len(code) - len(stripped)))
            where += "\n    " + " " * caret + "^"
    return where


def one_line_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Report any failure of the command as one line (the traceback with `core --traceback`),
    followed by the file and line when it happened in the project's own code."""

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
            explained = (
                isinstance(exc, EXPECTED_ERRORS)
                or missing_schema(exc) is not None
                or _explained(exc) is not None
            )
            hint = "" if explained else " (run with `core --traceback` for details)"
            where = None if explained else project_location(exc)
            fail(describe_error(exc) + hint + (f"\n{where}" if where else ""))

    return wrapper
