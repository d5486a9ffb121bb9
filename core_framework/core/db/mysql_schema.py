"""The framework's MySQL table options for Tortoise's schema generator (needs a MySQL driver).

Apart from `core.db.mysql_client` because importing Tortoise's MySQL package imports a driver,
and `core.db.mysql_client` must load without one (to say which extra to install).
"""

from __future__ import annotations

from tortoise.backends.mysql.schema_generator import MySQLSchemaGenerator

from core.db.mysql_client import CHARSET, COLLATION


class CollatedSchemaGenerator(MySQLSchemaGenerator):
    """CREATE TABLE ... CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, whatever the server's default."""

    def _table_generate_extra(self, table: str) -> str:
        return f" CHARACTER SET {CHARSET} COLLATE {COLLATION}"

    def _escape_comment(self, comment: str) -> str:
        # Quotes doubled, the standard SQL way, rather than backslash-escaped: Aerich writes
        # this DDL into a Python string literal, which would turn `\'` back into `'`.
        escape = super()._escape_comment
        return "''".join(escape(part) for part in comment.split("'"))
