"""One migrating process at a time: the database lock every migration step runs under.

A step takes the lock, re-reads which migrations are applied, applies (or reverts) one
migration and records it, then releases the lock. Where the database can roll DDL back the
whole step is one transaction, so the lock, the schema change and the record commit together:

* PostgreSQL: `pg_advisory_xact_lock` at the start of the step's transaction (per schema);
  migrations with `atomic = False` hold a session-level `pg_advisory_lock` instead.
* SQLite: `BEGIN IMMEDIATE` (the database's write lock), with foreign keys off for the
  transaction so table rebuilds cannot cascade, and `PRAGMA foreign_key_check` before COMMIT.
* MySQL (no transactional DDL): `GET_LOCK` (per database) held by a dedicated connection;
  see `core.migrations.partial` for a migration that fails halfway there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper
from tortoise.connection import get_connections
from tortoise.transactions import in_transaction

from core.adapters.tortoise import client_connection, client_lock
from core.db.schema import dialect_of
from core.migrations.exceptions import MigrationError

#: How long a second `core migrate` waits for the first before giving up.
LOCK_TIMEOUT_SECONDS = 600
#: The name of the lock (PostgreSQL hashes it, with the schema, into an advisory lock key).
LOCK_NAME = "core.migrations"

_PG_KEY = f"hashtext('{LOCK_NAME}'), hashtext(current_schema())"


def runs_in_transaction(client: BaseDBAsyncClient, atomic: bool) -> bool:
    """Whether a migration step runs as one locked transaction (else under a session lock)."""
    dialect = dialect_of(client)
    if dialect == "sqlite":
        return True  # every SQLite statement is transactional; `atomic = False` changes nothing
    return atomic and dialect == "postgres"


@asynccontextmanager
async def locked_transaction(client: BaseDBAsyncClient) -> AsyncIterator[BaseDBAsyncClient]:
    """A transaction holding the migration lock: commits when the block ends, else rolls back."""
    if dialect_of(client) == "sqlite":
        async with _sqlite_transaction(cast(SqliteClient, client)) as sqlite_txn:
            yield sqlite_txn
        return
    async with in_transaction(client.connection_name) as txn:
        if dialect_of(client) == "postgres":
            await txn.execute_query(f"SELECT pg_advisory_xact_lock({_PG_KEY})")
        yield txn


@asynccontextmanager
async def session_lock(client: BaseDBAsyncClient) -> AsyncIterator[None]:
    """The migration lock, held by a dedicated connection, for steps that run outside a transaction."""
    dialect = dialect_of(client)
    if dialect not in {"postgres", "mysql"}:
        yield
        return
    async with client.acquire_connection() as connection:
        if dialect == "postgres":
            await connection.execute(f"SELECT pg_advisory_lock({_PG_KEY})")
            try:
                yield
            finally:
                await connection.execute(f"SELECT pg_advisory_unlock({_PG_KEY})")
            return
        got = await _mysql(
            connection,
            "SELECT GET_LOCK(CONCAT(%s, DATABASE()), %s)",
            (LOCK_NAME + ":", LOCK_TIMEOUT_SECONDS),
        )
        if got != 1:  # 0: timed out, NULL: error
            raise MigrationError(
                f"another `core migrate` held the migration lock for {LOCK_TIMEOUT_SECONDS}s"
            )
        try:
            yield
        finally:
            await _mysql(
                connection, "SELECT RELEASE_LOCK(CONCAT(%s, DATABASE()))", (LOCK_NAME + ":",)
            )


async def _mysql(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
    """Run `sql` on a driver connection; the first column of its first row."""
    async with connection.cursor() as cursor:
        await cursor.execute(sql, args)
        row = await cursor.fetchone()
    return row[0] if row else None


@asynccontextmanager
async def _sqlite_transaction(client: SqliteClient) -> AsyncIterator[BaseDBAsyncClient]:
    """`BEGIN IMMEDIATE` ... `COMMIT` with foreign keys off, as Tortoise's transaction client."""
    async with client_lock(client):
        if client_connection(client) is None:
            await client.create_connection(with_db=True)
        connection = client_connection(client)
        assert connection is not None
        async with connection.execute("PRAGMA foreign_keys") as cursor:
            row = await cursor.fetchone()
        foreign_keys = bool(row and row[0])
        await connection.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_SECONDS * 1000}")
        await connection.execute("PRAGMA foreign_keys = OFF")
        try:
            await connection.execute("BEGIN IMMEDIATE")
            txn = SqliteTransactionWrapper(client)
            token = get_connections().set(client.connection_name, txn)
            try:
                yield txn
                violations = await txn.execute_query_dict("PRAGMA foreign_key_check")
                if violations:
                    tables = sorted({str(v["table"]) for v in violations})
                    raise MigrationError(
                        f"the migration leaves rows with broken foreign keys in {', '.join(tables)}"
                    )
            except BaseException:
                await connection.rollback()
                raise
            else:
                await connection.commit()
            finally:
                get_connections().reset(token)
        finally:
            await connection.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
