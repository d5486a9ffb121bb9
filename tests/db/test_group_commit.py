"""SQLite group commit: single-row INSERTs that arrive together share one COMMIT.

Every statement is seen through SQLite's own trace callback on the client's connection; what
is committed is read through a second, plain sqlite3 connection to the same file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from core import AutoRouter
from core.adapters.aiosqlite import run_on_thread, sqlite_connection
from core.adapters.tortoise import client_connection
from core.db import connect
from core.db.sqlite_client import SqliteClient
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import User
from tests.helpers import app_with
from tests.views.test_fast_paths import UniqueSlug

INSERT = "INSERT INTO items (name, parent_id) VALUES (?, ?)"


@pytest.fixture
async def items(tmp_path: Path) -> AsyncIterator[tuple[SqliteClient, Path, list[str]]]:
    """A client on a fresh file with an `items` table, and every statement it runs."""
    path = tmp_path / "groups.sqlite3"
    async with connect(f"sqlite+aiosqlite:///{path}", models=[]) as db:
        assert isinstance(db, SqliteClient)
        await db.execute_script(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
            " parent_id INTEGER REFERENCES items (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        yield db, path, await statements_run(db)


async def statements_run(db: BaseDBAsyncClient) -> list[str]:
    """Every statement SQLite runs on `db`'s connection from now on (its trace callback)."""
    traced: list[str] = []
    connection = client_connection(db)
    trace = sqlite_connection(connection).set_trace_callback
    await run_on_thread(connection, trace, traced.append)  # sqlite3 objects are per thread
    return traced


def committed(path: Path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute("SELECT name FROM items ORDER BY id")]


async def test_a_lone_insert_commits_itself(items) -> None:
    db, path, traced = items
    assert await db.insert_groups.insert(INSERT, ["a", None]) == 1
    assert traced == ["INSERT INTO items (name, parent_id) VALUES ('a', NULL)"]  # no BEGIN/COMMIT
    assert committed(path) == ["a"]


async def test_inserts_that_arrive_together_share_one_commit(items) -> None:
    db, path, traced = items
    names = [f"n{i}" for i in range(10)]
    ids = await asyncio.gather(*(db.insert_groups.insert(INSERT, [n, None]) for n in names))
    assert sorted(ids) == list(range(1, 11))
    assert committed(path) == names
    assert traced.count("COMMIT") < len(names)  # the first alone, then the rest in a group


async def test_a_failed_insert_is_raised_alone_and_the_others_commit(items) -> None:
    db, path, _ = items
    results = await asyncio.gather(
        *(db.insert_groups.insert(INSERT, [n, None]) for n in ("a", "b", "a", "c", "b")),
        return_exceptions=True,
    )
    assert [type(r) for r in results] == [int, int, IntegrityError, int, IntegrityError]
    assert "UNIQUE constraint failed: items.name" in str(results[2])
    assert committed(path) == ["a", "b", "c"]


async def test_a_failed_commit_fails_the_whole_group_and_writes_nothing(items) -> None:
    db, path, _ = items
    await db.execute_query("PRAGMA foreign_keys = ON")
    await db.insert_groups.insert(INSERT, ["first", None])
    # The deferred foreign key is checked at COMMIT: one bad row fails the group's COMMIT.
    results = await asyncio.gather(
        *(db.insert_groups.insert(INSERT, [n, p]) for n, p in (("x", 1), ("bad", 99), ("y", 1))),
        return_exceptions=True,
    )
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert "FOREIGN KEY constraint failed" in str(results[0])
    assert committed(path) == ["first"]
    assert await db.insert_groups.insert(INSERT, ["after", 1]) > 0  # the client goes on
    assert committed(path) == ["first", "after"]


async def test_a_caller_cancelled_before_its_group_starts_is_dropped(items) -> None:
    db, path, _ = items
    async with db.acquire_connection():  # the client's lock: groups wait for it
        first = asyncio.create_task(db.insert_groups.insert(INSERT, ["first", None]))
        await asyncio.sleep(0)  # `first` starts the committing task, which waits for the lock
        await asyncio.sleep(0)
        dropped = asyncio.create_task(db.insert_groups.insert(INSERT, ["dropped", None]))
        await asyncio.sleep(0)
        dropped.cancel()
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert committed(path) == ["first"]


async def test_concurrent_creates_commit_in_groups_and_answer_each_alone(tmp_path: Path) -> None:
    router = AutoRouter(prefix="")
    router.register("posts", UniqueSlug, basename="posts")
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.sqlite3'}"
    async with app_client(app_with(router, database_url=url)) as http:
        db = app_database()
        force_authenticate(http, await User.create_user("a@example.com", "Password1", db=db))
        traced = await statements_run(db)
        slugs = [f"s{i}" for i in range(12)] + ["s3"]  # one duplicate
        body = {"title": "T", "content": "c", "is_published": True}
        responses = await asyncio.gather(
            *(http.post("/posts/", json={**body, "slug": slug}) for slug in slugs)
        )
        codes = [r.status_code for r in responses]
        assert codes.count(201) == 12 and codes.count(422) == 1, [r.text for r in responses]
        duplicate = next(r for r in responses if r.status_code == 422)
        assert "slug" in duplicate.text
        created = [r.json() for r in responses if r.status_code == 201]
        assert sorted(p["slug"] for p in created) == sorted(set(slugs))
        for post in created:  # each answer is its own row, as stored
            assert (await http.get(f"/posts/{post['id']}/")).json() == post
        inserts = [s for s in traced if s.startswith("INSERT")]
        assert len(inserts) == 13 and traced.count("COMMIT") < 12
