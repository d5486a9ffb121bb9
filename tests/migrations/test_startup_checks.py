"""A column that was never migrated is an error, never data; the app says so at startup.

The `core run` side of this (warnings in a real project, hints in responses) is tested in
tests/cli; here: SQLite's double-quoted identifiers, and the startup guard for interpreters
that can't make SQLite strict.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from tortoise.exceptions import OperationalError

from core import CoreApp
from core.db import connect
from core.db.schema_errors import missing_schema_hint
from core.db.sqlite import strict_identifiers, strict_identifiers_available
from core.exceptions import ImproperlyConfigured
from core.migrations import startup
from core.testing import app_client
from tests.helpers import TEST_MODELS


def test_a_double_quoted_name_that_is_no_column_is_an_error_not_a_string() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT)")
    connection.execute("INSERT INTO posts (title) VALUES ('Hello')")
    # SQLite's default: the unknown name comes back as the text of itself.
    assert connection.execute('SELECT "body" FROM posts').fetchall() == [("body",)]

    assert strict_identifiers(connection) is strict_identifiers_available() is True
    with pytest.raises(sqlite3.OperationalError, match="no such column: body"):
        connection.execute('SELECT "body" FROM posts')
    assert connection.execute('SELECT "title" FROM posts').fetchall() == [("Hello",)]
    assert connection.execute("SELECT 'a string' FROM posts").fetchall() == [("a string",)]
    connection.close()


async def test_every_connection_of_the_orm_rejects_unknown_double_quoted_names(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with connect(url, models=TEST_MODELS, create_schema=True) as db:
        with pytest.raises(OperationalError, match="no such column: body") as failure:
            await db.execute_query('SELECT "body" FROM "posts"')
    assert missing_schema_hint(failure.value) == (
        "no such column: body; the database schema is behind the models: run `core migrate` "
        "(and first `core makemigrations` if you changed a model)"
    )


@pytest.mark.parametrize(
    "message",
    [
        "no such table: posts",
        'relation "posts" does not exist',
        "column posts.summary does not exist",
        'column "summary" of relation "posts" does not exist',
        "(1146, \"Table 'app.posts' doesn't exist\")",
        "(1054, \"Unknown column 'summary' in 'field list'\")",
        "table posts has no column named summary",
    ],
)
def test_missing_table_and_column_errors_of_each_database_carry_the_fix(message: str) -> None:
    hint = missing_schema_hint(OperationalError(message))
    assert hint is not None and hint.startswith(message) and "run `core migrate`" in hint


def test_other_database_errors_get_no_migration_hint() -> None:
    assert missing_schema_hint(OperationalError("database is locked")) is None
    assert missing_schema_hint(OperationalError('syntax error at or near "SELEC"')) is None


async def test_where_sqlite_cant_be_made_strict_a_missing_column_stops_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The fallback for interpreters without `setconfig` or a safe ctypes call (3.11 off Linux)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with connect(url, models=TEST_MODELS, create_schema=True):
        pass
    app = CoreApp(database_url=url, models=TEST_MODELS)

    monkeypatch.setattr(startup, "strict_identifiers_available", lambda: False)
    async with app_client(app, fresh_schema=False) as client:  # every column there: it starts
        assert (await client.get("/no-such-page")).status_code == 404

    with sqlite3.connect(tmp_path / "app.db") as raw:
        raw.execute('ALTER TABLE "posts" DROP COLUMN "views_count"')
    with pytest.raises(ImproperlyConfigured) as refused:
        async with app_client(app, fresh_schema=False):
            pass
    assert str(refused.value) == (
        "the database lacks columns of the models: posts.views_count; "
        "run `core makemigrations`, then `core migrate`"
    )

    # With strict identifiers the app starts; queries of the column fail with the hint.
    monkeypatch.undo()
    caplog.set_level(logging.WARNING, logger="core.migrations")
    async with app_client(app, fresh_schema=False) as client:
        assert (await client.get("/no-such-page")).status_code == 404
    assert not caplog.records  # not a project (no src/): nothing to compare with migrations
