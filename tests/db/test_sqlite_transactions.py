"""SQLite transactions send BEGIN with their first statement: still one atomic, isolated unit.

A second, plain sqlite3 connection to the same file watches what is committed, so a statement
that ran outside the transaction (BEGIN lost) would show up there before the commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, TransactionManagementError
from tortoise.signals import Signals
from tortoise.transactions import in_transaction

from core.db.one_trip import insert_and_commit, inserts_plainly
from core.db.sqlite_client import SqliteClient
from core.testing import isolated_database
from tests.example_models import Label, User


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[BaseDBAsyncClient, Path]]:
    path = tmp_path / "app.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    async with isolated_database(models=["tests.example_models"], database_url=url) as db:
        yield db, path


def committed_emails(path: Path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute("SELECT email FROM users ORDER BY email")]


async def test_sqlite_urls_use_the_framework_client(sqlite_file) -> None:
    db, _ = sqlite_file
    assert isinstance(db, SqliteClient)


async def test_writes_are_invisible_to_other_connections_until_commit(sqlite_file) -> None:
    _, path = sqlite_file
    async with in_transaction("default") as txn:
        await User.objects.using(txn).create(email="a@example.com", password_hash="!")
        await User.objects.using(txn).create(email="b@example.com", password_hash="!")
        assert await User.objects.using(txn).count() == 2  # the transaction sees its writes
        assert committed_emails(path) == []
    assert committed_emails(path) == ["a@example.com", "b@example.com"]


async def test_an_error_rolls_back_every_statement(sqlite_file) -> None:
    db, path = sqlite_file
    with pytest.raises(RuntimeError):
        async with in_transaction("default") as txn:
            await User.objects.using(txn).create(email="a@example.com", password_hash="!")
            raise RuntimeError("after the first write")
    assert committed_emails(path) == []
    await User.objects.using(db).create(email="c@example.com", password_hash="!")
    assert committed_emails(path) == ["c@example.com"]  # autocommit again afterwards


async def test_a_failing_first_statement_leaves_no_open_transaction(sqlite_file) -> None:
    db, path = sqlite_file
    await User.objects.using(db).create(email="a@example.com", password_hash="!")
    with pytest.raises(IntegrityError):
        async with in_transaction("default") as txn:
            await User.objects.using(txn).create(email="a@example.com", password_hash="!")
    await User.objects.using(db).create(email="b@example.com", password_hash="!")
    assert committed_emails(path) == ["a@example.com", "b@example.com"]


async def test_an_empty_transaction_and_nested_savepoints(sqlite_file) -> None:
    _, path = sqlite_file
    async with in_transaction("default"):
        pass
    async with in_transaction("default") as txn:
        with pytest.raises(RuntimeError):
            async with in_transaction("default") as inner:  # a savepoint is the first statement
                await User.objects.using(inner).create(email="a@example.com", password_hash="!")
                raise RuntimeError("roll back to the savepoint")
        await User.objects.using(txn).create(email="b@example.com", password_hash="!")
    assert committed_emails(path) == ["b@example.com"]


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as other:
        return other.execute(f"PRAGMA {name}").fetchone()[0]


async def test_connections_use_wal_with_normal_sync_unless_the_url_says(tmp_path: Path) -> None:
    for query, expected in (("", 1), ("?synchronous=full", 2)):
        path = tmp_path / f"db{len(query)}.sqlite3"
        url = f"sqlite+aiosqlite:///{path}{query}"
        async with isolated_database(models=["tests.example_models"], database_url=url) as db:
            (row,) = await db.execute_query_dict("PRAGMA synchronous")
            assert row["synchronous"] == expected  # 1: NORMAL, 2: FULL
        assert pragma(path, "journal_mode") == "wal"


def committed_labels(path: Path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute("SELECT code FROM labels ORDER BY code")]


async def test_insert_then_commits_the_insert_and_what_was_built_in_one_go(sqlite_file) -> None:
    db, path = sqlite_file
    async with in_transaction("default") as txn:
        tag = Label(code="first")
        built = await insert_and_commit(txn, tag, lambda saved: f"built {saved.pk}")
        assert built == f"built {tag.pk}" and tag.pk is not None
        assert committed_labels(path) == ["first"]  # committed before the block ends
        with pytest.raises(TransactionManagementError):
            await Label.objects.using(txn).count()  # no statement may run after it
    assert await Label.objects.using(db).count() == 1


async def test_insert_then_rolls_back_when_building_fails(sqlite_file) -> None:
    db, path = sqlite_file
    await Label.objects.using(db).create(code="taken")

    def explode(saved: Label) -> None:
        raise RuntimeError("the response could not be built")

    with pytest.raises(RuntimeError):
        async with in_transaction("default") as txn:
            await Label.objects.using(txn).create(code="earlier")
            await insert_and_commit(txn, Label(code="second"), explode)
    with pytest.raises(IntegrityError):
        async with in_transaction("default") as txn:
            await insert_and_commit(txn, Label(code="taken"), lambda saved: saved)
    assert committed_labels(path) == ["taken"]


async def test_insert_then_saves_the_usual_way_when_saving_runs_code(sqlite_file) -> None:
    db, _ = sqlite_file
    seen: list[str] = []

    async def remember(
        sender: type, instance: Label, using_db: object, update_fields: object
    ) -> None:
        seen.append(instance.code)

    Label._listeners[Signals.pre_save].setdefault(Label, []).append(remember)
    try:
        async with in_transaction("default") as txn:
            assert not inserts_plainly(Label(code="x"))
            await insert_and_commit(txn, Label(code="signalled"), lambda saved: saved)
            await Label.objects.using(txn).create(code="still open")  # the transaction goes on
    finally:
        Label._listeners[Signals.pre_save][Label].remove(remember)
    assert seen == ["signalled", "still open"]
    assert not inserts_plainly(User(email="u@example.com"))  # User.save hashes passwords
    assert await Label.objects.using(db).count() == 2


async def test_regexp_functions_can_be_installed_from_the_url(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'regexp.sqlite3'}?install_regexp_functions=true"
    async with isolated_database(models=["tests.example_models"], database_url=url) as db:
        assert isinstance(db, SqliteClient) and db.capabilities.support_for_posix_regex_queries
        await Label.objects.using(db).create(code="abc-1")
        assert await Label.objects.using(db).filter(code__posix_regex=r"^abc-\d$").count() == 1
        async with in_transaction("default") as txn:
            assert await Label.objects.using(txn).filter(code__posix_regex="^x").count() == 0
