"""Unique constraints as the guard against duplicates: which field a violation names.

A ViewSet's create leaves the `unique_fields` entries that the database enforces itself (a
field declared `unique=True`) to the INSERT instead of a SELECT before it. When the INSERT
fails on such a constraint, `violated_unique_field` names the field from the database's own
error, so the view answers the same 400 the SELECT would have, and no row was written.
SQLite, PostgreSQL and MySQL/MariaDB name the columns (MySQL names the key, which for a
`unique=True` column is the column's name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tortoise.models import Model

#: SQLite: `UNIQUE constraint failed: posts.slug` (`posts.a, posts.b` for a composite key).
_SQLITE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")
#: PostgreSQL's detail: `Key (slug)=(taken) already exists.`
_POSTGRES = re.compile(r"Key \(([^)]*)\)=")
#: MySQL 8: `Duplicate entry 'taken' for key 'posts.slug'`; MariaDB: `... for key 'slug'`.
_MYSQL = re.compile(r"Duplicate entry .* for key '([\w.]+)'", re.S)


def constraint_unique_fields(model: type[Model], names: Iterable[str]) -> frozenset[str]:
    """The entries of `names` the database keeps unique by itself: single-column unique fields."""
    fields = model._meta.fields_map
    projection = model._meta.fields_db_projection
    return frozenset(
        name for name in names if name in projection and getattr(fields.get(name), "unique", False)
    )


def violated_unique_field(model: type[Model], exc: BaseException) -> str | None:
    """The field of `model` whose unique constraint `exc` (an `IntegrityError`) reports, if any.

    Only a violation of one column of `model`'s own table counts: a composite key, another
    table's constraint or any other integrity error (a foreign key, a NOT NULL) is None.
    """
    columns = {column: name for name, column in model._meta.fields_db_projection.items()}
    table = model._meta.db_table
    for error in _chain(exc):
        text = str(error)
        match = _SQLITE.search(text)
        if match:
            found = match.group(1).split(", ")
            if len(found) != 1:
                return None
            owner, _, column = found[0].rpartition(".")
            return columns.get(column) if owner == table else None
        detail = getattr(error, "detail", None)
        match = _POSTGRES.search(detail) if isinstance(detail, str) else None
        if match:
            if getattr(error, "table_name", table) != table:
                return None
            return columns.get(match.group(1).strip('"'))
        match = _MYSQL.search(text)
        if match:
            owner, _, key = match.group(1).rpartition(".")
            return columns.get(key) if owner in ("", table) else None
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the errors it was raised from (the driver's error under Tortoise's)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 5 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
