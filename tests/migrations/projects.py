"""Throw-away projects for the migration tests: models, `.env`, the real `core` command.

The database is a SQLite file in the project unless DATABASE_URL names PostgreSQL or
MySQL/MariaDB (CI re-runs the `db` tests on both); such projects share DATABASE_URL's database,
emptied for each test.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.db.urls import parse_database_url

#: The `core` console script of the interpreter running the tests.
CORE = str(Path(sys.executable).with_name("core"))

#: Settings the tests' environment must not leak into a project.
_PROJECT_SETTINGS = ("DATABASE_URL", "MODELS", "MIGRATIONS_DIR", "MIGRATIONS_ENGINE")

USERS_MODELS = """
    from core import Field, Mapped
    from core.auth.models import AbstractUser, PermissionsMixin


    class User(AbstractUser, PermissionsMixin):
        __tablename__ = "users"
        {extra}
"""

SHOP_MODELS = """
    from core import Field, Mapped, Model


    class Product(Model):
        __tablename__ = "products"

        id: Mapped[int] = Field.pk()
        name: Mapped[str] = Field.string(max_length=100, index=True)
        owner_id: Mapped[int] = Field.foreign_key("users.id")
        {extra}


    class Review(Model):
        __tablename__ = "reviews"

        id: Mapped[int] = Field.pk()
        product_id: Mapped[int] = Field.foreign_key("products.id", related_name="reviews")
        body: Mapped[str] = Field.text()
"""


def server_url() -> str | None:
    """DATABASE_URL when it names a server database (PostgreSQL, MySQL/MariaDB), else None."""
    url = os.environ.get("DATABASE_URL", "")
    if url and parse_database_url(url).dialect in ("postgres", "mysql"):
        return url
    return None


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


async def _pg(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        if not args and ";" in sql:
            await connection.execute(sql)
            return []
        return [dict(row) for row in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


def _mysql(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run `sql` on MySQL with ANSI quotes ("name") and $1-style parameters, as on PostgreSQL."""
    import pymysql
    import pymysql.cursors

    creds = parse_database_url(url).credentials
    connection = pymysql.connect(
        host=creds["host"],
        port=int(creds["port"]),
        user=creds["user"],
        password=creds["password"],
        database=creds["database"],
        charset="utf8mb4",
        autocommit=True,
        cursorclass=pymysql.cursors.DictCursor,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
            if not args and ";" in sql:
                for statement in filter(str.strip, sql.split(";")):
                    cursor.execute(statement)
                return []
            cursor.execute(re.sub(r"\$\d+", "%s", sql), args)
            return [dict(row) for row in cursor.fetchall()]
    finally:
        connection.close()


@dataclass
class ProjectDir:
    """A project directory on disk and the database its `.env` (or DATABASE_URL) names."""

    root: Path
    db_url: str | None

    @property
    def dialect(self) -> str:
        return parse_database_url(self.db_url).dialect if self.db_url else "sqlite"

    @property
    def transactional_ddl(self) -> bool:
        """Whether a migration is applied in one transaction (not on MySQL/MariaDB)."""
        return self.dialect != "mysql"

    def quoted(self, text: str) -> str:
        """SQL output with MySQL's `backticks` read as "double quotes", as on the others."""
        return text.replace("`", '"') if self.dialect == "mysql" else text

    # Files ----------------------------------------------------------------------------------

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    def write_models(self, users_extra: str = "", shop_extra: str = "") -> None:
        self.write("src/apps/users/models.py", USERS_MODELS.format(extra=users_extra))
        self.write("src/apps/shop/models.py", SHOP_MODELS.format(extra=shop_extra))

    def migration_files(self) -> list[str]:
        return sorted(p.name for p in (self.root / "migrations").glob("[0-9]*.py"))

    # Commands -------------------------------------------------------------------------------

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.upper() not in _PROJECT_SETTINGS}
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # files rewritten within a second stay fresh
        if self.db_url:
            env["DATABASE_URL"] = self.db_url
        env.update(overrides)
        return env

    def core(
        self,
        *args: str,
        ok: bool = True,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `core ARGS` in the project; with `ok`, fail the test unless it exits 0."""
        result = subprocess.run(
            [CORE, *args],
            cwd=self.root,
            env=env or self.env(),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if ok:
            assert result.returncode == 0, (
                f"core {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [CORE, *args],
            cwd=self.root,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # The database ------------------------------------------------------------------------

    @property
    def sqlite_path(self) -> Path:
        return self.root / "app.db"

    def sql(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Run `sql` ($1-style parameters on the servers, ? on SQLite); the rows as dicts."""
        if self.dialect == "mysql":
            assert self.db_url is not None
            return _mysql(self.db_url, sql, *args)
        if self.db_url:
            return asyncio.run(_pg(self.db_url, sql, *args))
        connection = sqlite3.connect(self.sqlite_path)
        connection.row_factory = sqlite3.Row
        try:
            if not args and ";" in sql:
                connection.executescript(sql)
                return []
            rows = [dict(row) for row in connection.execute(sql, args)]
            connection.commit()
            return rows
        finally:
            connection.close()

    def reset_database(self) -> None:
        if self.dialect == "mysql":
            tables = self.tables()
            if tables:
                names = ", ".join(f'"{name}"' for name in tables)
                self.sql(
                    f"SET FOREIGN_KEY_CHECKS = 0; DROP TABLE {names}; SET FOREIGN_KEY_CHECKS = 1;"
                )
        elif self.db_url:
            self.sql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")

    @property
    def _schema(self) -> str:
        return "DATABASE()" if self.dialect == "mysql" else "current_schema()"

    def tables(self) -> set[str]:
        if self.db_url:
            rows = self.sql(
                "SELECT table_name AS name FROM information_schema.tables "  # noqa: S608
                f"WHERE table_schema = {self._schema}"
            )
        elif not self.sqlite_path.exists():
            return set()
        else:
            rows = self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row["name"]) for row in rows}

    def columns(self, table: str) -> list[str]:
        if self.db_url:
            rows = self.sql(
                "SELECT column_name AS name FROM information_schema.columns "  # noqa: S608
                f"WHERE table_schema = {self._schema} AND table_name = $1 "
                "ORDER BY ordinal_position",
                table,
            )
        else:
            rows = self.sql(f'PRAGMA table_info("{table}")')
        return [str(row["name"]) for row in rows]

    def column_types(self, table: str) -> dict[str, tuple[str, bool]]:
        """Column -> (SQL type as `VARCHAR(20)`/`TEXT`/..., nullable)."""
        if self.db_url:
            query = (
                "SELECT column_name AS name, data_type, character_maximum_length AS length, "
                "is_nullable FROM information_schema.columns WHERE table_name = $1 "
                "AND table_schema = "
            )
            rows = self.sql(query + self._schema, table)
            return {
                str(row["name"]): (
                    f"VARCHAR({row['length']})"
                    if row["data_type"] in ("character varying", "varchar")
                    else str(row["data_type"]).upper(),
                    row["is_nullable"] == "YES",
                )
                for row in rows
            }
        rows = self.sql(f'PRAGMA table_info("{table}")')
        return {str(row["name"]): (str(row["type"]).upper(), not row["notnull"]) for row in rows}

    def indexes(self, table: str) -> set[str]:
        if self.dialect == "mysql":
            rows = self.sql(
                "SELECT DISTINCT index_name AS name FROM information_schema.statistics "
                "WHERE table_schema = DATABASE() AND table_name = $1",
                table,
            )
        elif self.db_url:
            rows = self.sql(
                "SELECT indexname AS name FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = $1",
                table,
            )
        else:
            rows = self.sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", table
            )
        return {str(row["name"]) for row in rows}

    def foreign_keys(self, table: str) -> set[tuple[str, str]]:
        """(column, referenced table) of each foreign key of `table`."""
        if self.dialect == "mysql":
            rows = self.sql(
                'SELECT column_name AS "column", referenced_table_name AS target '
                "FROM information_schema.key_column_usage "
                "WHERE table_schema = DATABASE() AND table_name = $1 "
                "AND referenced_table_name IS NOT NULL",
                table,
            )
        elif self.db_url:
            rows = self.sql(
                "SELECT kcu.column_name AS column, ccu.table_name AS target "
                "FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage kcu "
                "  ON tc.constraint_name = kcu.constraint_name "
                " AND tc.table_schema = kcu.table_schema "
                "JOIN information_schema.constraint_column_usage ccu "
                "  ON tc.constraint_name = ccu.constraint_name "
                " AND tc.table_schema = ccu.table_schema "
                "WHERE tc.constraint_type = 'FOREIGN KEY' "
                "  AND tc.table_schema = current_schema() AND tc.table_name = $1",
                table,
            )
        else:
            rows = [
                {"column": row["from"], "target": row["table"]}
                for row in self.sql(f'PRAGMA foreign_key_list("{table}")')
            ]
        return {(str(row["column"]), str(row["target"])) for row in rows}

    def count(self, table: str) -> int:
        rows = self.sql(f'SELECT COUNT(*) AS n FROM "{table}"')  # noqa: S608 - test tables
        return int(rows[0]["n"])

    def applied(self) -> list[str]:
        rows = self.sql('SELECT name FROM "tortoise_migrations" ORDER BY name')
        return [str(row["name"]) for row in rows]


def new_project(root: Path, models: bool = True) -> ProjectDir:
    """A project in `root` with the users and shop apps, on a fresh database."""
    project = ProjectDir(root=root, db_url=server_url())
    project.write(".env", "DATABASE_URL=sqlite+aiosqlite:///./app.db\n")
    if models:
        project.write_models()
    project.reset_database()
    return project


def lines(text: str) -> Sequence[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]
