"""Migrations that run outside a transaction (all of them on MySQL/MariaDB) and fail halfway.

MySQL commits every DDL statement on its own, so when a migration's third operation fails
the first two are already in the database. `migrate` then undoes them, newest first, with each
operation's reverse, and says so: the database is as it was and the migration unapplied.

When that cannot be done (an operation without a reverse, or the undo fails too), the
migration is recorded as partly applied in the `core_migrations_partial` table: `showmigrations`
marks it `[!]`, `check` fails naming it, and `migrate` refuses to run it again until the
database is repaired by hand and the row deleted. Nothing claims it was applied, or not.
"""

from __future__ import annotations

import copy

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.migration import Migration as TortoiseMigration
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State

from core.db.mysql_client import table_options
from core.db.schema import dialect_of
from core.migrations.sqltypes import sql_literal

# ruff: noqa: S608 - the SQL below is built from this module's constant table name and from
# literals escaped by `_literal`, never from user input.

#: Where partly applied migrations are recorded (created when the first one is).
TABLE = "core_migrations_partial"


class Outcome(Exception):
    """A failed non-transactional migration: what is left in the database, and the error."""

    def __init__(self, outcome: str, error: BaseException) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.error = error


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def apply_or_undo(
    migration: TortoiseMigration, state: State, editor: BaseSchemaEditor
) -> None:
    """Apply the operations one by one; if one fails, undo those that ran, else record them."""
    start = state.clone()
    done: list = []
    for operation in migration.operations:
        single = copy.copy(migration)
        single.operations = [operation]
        try:
            await single.apply(state, schema_editor=editor)
        except Exception as exc:
            await _after_failure(migration, start, done, editor, exc)
            raise  # pragma: no cover - _after_failure always raises
        done.append(operation)


async def _after_failure(
    migration: TortoiseMigration,
    start: State,
    done: list,
    editor: BaseSchemaEditor,
    error: Exception,
) -> None:
    if not done:
        raise Outcome("nothing of it was applied", error)
    count = f"{len(done)} of {len(migration.operations)} operations"
    one_way = [op.describe() for op in done if not getattr(op, "reversible", True)]
    if one_way:
        reason = f"{one_way[0]} has no reverse"
    else:
        undo = copy.copy(migration)
        undo.operations = list(done)
        try:
            await undo.unapply(start.clone(), schema_editor=editor)
        except Exception as undo_error:
            reason = f"undoing them failed: {_one_line(undo_error)}"
        else:
            raise Outcome(
                f"it ran outside a transaction; the {count} that ran were undone, "
                "nothing of it remains",
                error,
            ) from None
    detail = f"{count} ran and stay; {reason}"
    await record(editor.client, migration.name, detail)
    raise Outcome(
        f"it ran outside a transaction and is PARTLY APPLIED: {detail}; see `core showmigrations`",
        error,
    )


async def _table_exists(client: BaseDBAsyncClient) -> bool:
    dialect = dialect_of(client)
    if dialect == "sqlite":
        sql = f"SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'"
    else:
        schema = "DATABASE()" if dialect == "mysql" else "current_schema()"
        sql = (
            "SELECT COUNT(*) AS n FROM information_schema.tables "
            f"WHERE table_schema = {schema} AND table_name = '{TABLE}'"
        )
    rows = await client.execute_query_dict(sql)
    return bool(rows and int(next(iter(rows[0].values()))))


def _literal(text: str, dialect: str) -> str:
    if dialect == "mysql":  # a backslash escapes the next character in MySQL strings
        text = text.replace("\\", "\\\\")
    return sql_literal(text, dialect)


async def record(client: BaseDBAsyncClient, name: str, detail: str) -> None:
    """Remember that `name` is partly applied (what ran and why it stays)."""
    dialect = dialect_of(client)
    await client.execute_script(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR(255) PRIMARY KEY, detail TEXT NOT NULL)"
        + table_options(dialect)
    )
    await client.execute_script(f"DELETE FROM {TABLE} WHERE name = {_literal(name, dialect)}")
    await client.execute_script(
        f"INSERT INTO {TABLE} (name, detail) "
        f"VALUES ({_literal(name, dialect)}, {_literal(detail, dialect)})"
    )


async def read(client: BaseDBAsyncClient) -> dict[str, str]:
    """Partly applied migrations: name -> what ran and why it stays."""
    if not await _table_exists(client):
        return {}
    rows = await client.execute_query_dict(f"SELECT name, detail FROM {TABLE}")
    return {str(row["name"]): str(row["detail"]) for row in rows}


def describe(name: str, detail: str) -> str:
    return f"{name}: {detail}"


def refusal(name: str, detail: str) -> str:
    """Why `migrate` will not run a partly applied migration again, and what to do."""
    return (
        f"{name} is partly applied ({detail}). Repair the database by hand (undo what "
        f"ran), then run `DELETE FROM {TABLE} WHERE name = '{name}'` and `core migrate` again"
    )
