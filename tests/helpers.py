"""Small test helpers shared across test packages."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

#: Statements, not the other messages the logger carries (pool created, script run, ...).
_SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "REPLACE")

#: Tables that hold groups and permissions (the test user table is `users`).
PERMISSION_TABLES = ("auth_permissions", "auth_groups", "users_groups", "users_permissions")


class _StatementRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lstrip()
        if message.upper().startswith(_SQL_VERBS):
            self.statements.append(message)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block (SQLite and PostgreSQL alike), in order.

    Every Tortoise client, and the framework's own one-trip insert, logs each statement on the
    `tortoise.db_client` logger before running it; the block listens there at DEBUG level.
    """
    logger = logging.getLogger("tortoise.db_client")
    recorder = _StatementRecorder()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(recorder)
    try:
        yield recorder.statements
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)


def permission_queries(statements: list[str]) -> list[str]:
    """The statements among `statements` that read groups or permissions."""
    return [sql for sql in statements if any(table in sql for table in PERMISSION_TABLES)]
