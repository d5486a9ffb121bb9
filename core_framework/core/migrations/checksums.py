"""Checksums of applied migration files, so an edited or deleted one is noticed.

`migrate` records each file's SHA-256 next to Tortoise's history (same transaction) in
`core_migration_checksums`; `core check` fails and `core migrate` warns when an applied file
now differs or is gone. Migrations applied before checksums existed are recorded as they are
on the next `migrate` (nothing to compare them with yet).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tortoise.backends.base.client import BaseDBAsyncClient

from core.db.mysql_client import table_options
from core.db.schema import dialect_of

TABLE = "core_migration_checksums"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "app VARCHAR(100) NOT NULL, name VARCHAR(255) NOT NULL, checksum VARCHAR(64) NOT NULL, "
    "PRIMARY KEY (app, name))"
)


def _create(db: BaseDBAsyncClient) -> str:
    return _CREATE + table_options(dialect_of(db))


def file_checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, line endings normalised (a checkout on Windows is the same)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _param(db: BaseDBAsyncClient, index: int) -> str:
    """The driver's placeholder for the index-th parameter."""
    dialect = dialect_of(db)
    if dialect == "postgres":
        return f"${index}"
    return "%s" if dialect == "mysql" else "?"


async def recorded_checksums(
    db: BaseDBAsyncClient, app: str, create: bool = True
) -> dict[str, str]:
    """The recorded checksum of each applied migration; `create=False` writes nothing."""
    if create:
        await db.execute_script(_create(db))
    try:
        _, rows = await db.execute_query(
            f"SELECT name, checksum FROM {TABLE} WHERE app = {_param(db, 1)}",  # noqa: S608
            [app],
        )
    except Exception:
        if create:
            raise
        return {}  # no table yet: nothing recorded
    return {row["name"]: row["checksum"] for row in rows}


async def record_checksum(db: BaseDBAsyncClient, app: str, name: str, checksum: str) -> None:
    """Store (or replace) the checksum of a migration that was just applied."""
    await db.execute_script(_create(db))
    one, two, three = (_param(db, i) for i in (1, 2, 3))
    delete = f"DELETE FROM {TABLE} WHERE app = {one} AND name = {two}"  # noqa: S608
    await db.execute_query(delete, [app, name])
    await db.execute_query(
        f"INSERT INTO {TABLE} (app, name, checksum) VALUES ({one}, {two}, {three})",  # noqa: S608
        [app, name, checksum],
    )


async def forget_checksum(db: BaseDBAsyncClient, app: str, name: str) -> None:
    """Drop the checksum of a migration that was rolled back."""
    await db.execute_script(_create(db))
    await db.execute_query(
        f"DELETE FROM {TABLE} WHERE app = {_param(db, 1)} AND name = {_param(db, 2)}",  # noqa: S608
        [app, name],
    )


def drift(applied: list[str], directory: Path, recorded: dict[str, str]) -> list[str]:
    """One line per applied migration whose file is missing or differs from when it ran."""
    problems = []
    for name in sorted(applied):
        path = directory / f"{name}.py"
        if not path.is_file():
            problems.append(f"{name}: applied, but its file is missing")
        elif name in recorded and file_checksum(path) != recorded[name]:
            problems.append(f"{name}: edited after it was applied")
    return problems
