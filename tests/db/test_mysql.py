"""MySQL/MariaDB specifics (`make test-mysql`): collation, isolation, the driver, error codes.

The behaviour these settings buy (exact unique strings, emoji, no deadlocks, 4xx for bad
values) is tested on every database elsewhere; here, that the settings themselves are in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core.db import mysql_errors
from core.db.schema import dialect_of
from core.db.urls import parse_database_url
from tests.migrations.projects import new_project


def require_mysql(db: BaseDBAsyncClient) -> None:
    if dialect_of(db) != "mysql":
        pytest.skip("MySQL/MariaDB only: collations, isolation and drivers of that server")


async def test_tables_and_columns_use_utf8mb4_bin_whatever_the_servers_default(db) -> None:
    require_mysql(db)
    default = await db.execute_query_dict("SELECT @@collation_database AS c")
    assert default[0]["c"] != "utf8mb4_bin"  # with-mariadb.sh keeps Debian's general_ci
    tables = await db.execute_query_dict(
        "SELECT table_name AS t, table_collation AS c FROM information_schema.tables "
        "WHERE table_schema = DATABASE()"
    )
    assert tables and {row["c"] for row in tables} == {"utf8mb4_bin"}, tables
    columns = await db.execute_query_dict(
        "SELECT DISTINCT character_set_name AS s, collation_name AS c "
        "FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL"
    )
    assert [(row["s"], row["c"]) for row in columns] == [("utf8mb4", "utf8mb4_bin")]


async def test_sessions_are_read_committed_and_utf8mb4(db) -> None:
    require_mysql(db)
    try:
        rows = await db.execute_query_dict("SELECT @@SESSION.transaction_isolation AS level")
    except Exception:  # MariaDB before 11.1 names it tx_isolation
        rows = await db.execute_query_dict("SELECT @@SESSION.tx_isolation AS level")
    assert rows[0]["level"] == "READ-COMMITTED"
    charset = await db.execute_query_dict("SELECT @@character_set_connection AS c")
    assert charset[0]["c"] == "utf8mb4"


async def test_the_urls_driver_is_the_one_in_use(db) -> None:
    require_mysql(db)
    url = os.environ["DATABASE_URL"]
    driver = "asyncmy" if url.startswith("mysql+asyncmy") else "aiomysql"
    assert parse_database_url(url).config["engine"] == f"core.db.mysql_{driver}"
    import sys

    assert sys.modules[type(db).__module__].mysql.__name__ == driver


@pytest.mark.db
def test_migrated_tables_use_utf8mb4_bin(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    if project.dialect != "mysql":
        pytest.skip("MySQL/MariaDB only: the collation migrations give tables there")
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    rows = project.sql(
        "SELECT table_name AS t, table_collation AS c FROM information_schema.tables "
        "WHERE table_schema = DATABASE()"
    )
    assert {row["t"] for row in rows} >= {"users", "products", "tortoise_migrations"}
    assert {row["c"] for row in rows} == {"utf8mb4_bin"}, rows


class _DriverError(Exception):
    """Stands in for PyMySQL's errors, which carry (code, message) as args."""


_DriverError.__module__ = "pymysql.err"


@pytest.mark.parametrize(
    ("message", "column"),
    [
        ("Out of range value for column 'views' at row 1", "views"),
        ("Data too long for column 'title' at row 1", "title"),
        (
            "Incorrect string value: '\\xF0\\x9F' for column `core_test`.`posts`.`title` at row 1",
            "title",
        ),
    ],
)
def test_data_errors_name_their_column(message: str, column: str) -> None:
    error = _DriverError(1264, message)
    assert mysql_errors.data_error_column(error) == column
    assert mysql_errors.data_error_code(error) == 1264


def test_connection_and_retry_codes() -> None:
    for code in (2002, 2003, 2006, 2013, 1040):
        assert mysql_errors.is_connection_error(_DriverError(code, "gone"))
    assert not mysql_errors.is_connection_error(_DriverError(1064, "syntax"))
    assert mysql_errors.is_retryable(_DriverError(1213, "Deadlock found"))
    assert not mysql_errors.is_connection_error(ValueError(2002))  # only the drivers' errors


def test_unencodable_text_is_traced_to_its_column() -> None:
    def failure(sql: str) -> UnicodeEncodeError:
        try:
            sql.encode("utf-8")
        except UnicodeEncodeError as exc:
            return exc
        raise AssertionError("encodable")

    insert = "INSERT INTO `posts` (`title`,`slug`,`n`) VALUES ('a,\\'(b','x\ud800y',3)"
    assert mysql_errors.column_of_unencodable_text(failure(insert)) == "slug"
    rows = "INSERT INTO `posts` (`title`,`slug`) VALUES ('a','b'),('\ud800','c')"
    assert mysql_errors.column_of_unencodable_text(failure(rows)) == "title"
    update = "UPDATE `posts` SET `title`='ok',`slug`='\ud800' WHERE `id`=2"
    assert mysql_errors.column_of_unencodable_text(failure(update)) == "slug"
    assert mysql_errors.column_of_unencodable_text(failure("SELECT '\ud800'")) is None
