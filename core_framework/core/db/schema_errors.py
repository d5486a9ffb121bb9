"""Recognise "this table/column does not exist" from any database, and say how to fix it.

A database that was never migrated, or a model field added without a migration, fails with the
driver's own words (`no such table: posts`, `relation "posts" does not exist`, `Unknown column
'summary'`); those errors carry the command to run in the log, the CLI and DEBUG responses.
"""

from __future__ import annotations

import re

#: What to do about a missing table or column.
MIGRATE_HINT = (
    "the database schema is behind the models: run `core migrate` "
    "(and first `core makemigrations` if you changed a model)"
)

#: SQLite, PostgreSQL and MySQL/MariaDB wordings of a missing table or column.
_MISSING = re.compile(
    r"no such (?:table|column)\b"  # SQLite
    r"|\bhas no column named\b"  # SQLite, INSERT
    r"|\b(?:relation|column) \S+(?: of relation \S+)? does not exist"  # PostgreSQL
    r"|\bTable '[^']+' doesn't exist"  # MySQL/MariaDB 1146
    r"|\bUnknown column '[^']+'",  # MySQL/MariaDB 1054
    re.IGNORECASE,
)


def missing_schema(exc: BaseException) -> str | None:
    """The database's message when `exc` (or its cause) says a table or column is missing."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = " ".join(str(current).split())
        if _MISSING.search(text):
            return text
        current = current.__cause__ or current.__context__
    return None


def missing_schema_hint(exc: BaseException) -> str | None:
    """`<database message>: <how to fix>` for a missing table or column, else None."""
    message = missing_schema(exc)
    return f"{message}; {MIGRATE_HINT}" if message is not None else None
