"""Unique constraints as the guard against duplicates: which field a violation names.

A ViewSet's create leaves the `unique_fields` entries that the database enforces itself (a
field declared `unique=True`) to the INSERT instead of a SELECT before it. When the INSERT
fails on such a constraint, `violated_unique_field` names the field from the database's own
error, so the view answers the same 422 the SELECT would have, and no row was written.
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


def violated_unique_columns(exc: BaseException) -> tuple[str | None, list[str]] | None:
    """The table (None where the driver does not say) and columns of the unique constraint an
    `IntegrityError` reports, read from the database's own words; None for any other error."""
    for error in _chain(exc):
        text = str(error)
        match = _SQLITE.search(text)
        if match:
            qualified = [name.rpartition(".") for name in match.group(1).split(", ")]
            return qualified[0][0] or None, [column for _, _, column in qualified]
        detail = getattr(error, "detail", None)
        match = _POSTGRES.search(detail) if isinstance(detail, str) else None
        if match:
            columns = [column.strip().strip('"') for column in match.group(1).split(",")]
            return getattr(error, "table_name", None), columns
        match = _MYSQL.search(text)
        if match:
            table, _, key = match.group(1).rpartition(".")
            return table or None, [key]
    return None


def violated_unique_field(model: type[Model], exc: BaseException) -> str | None:
    """The field of `model` whose unique constraint `exc` (an `IntegrityError`) reports, if any.

    Only a violation of one column of `model`'s own table counts: a composite key, another
    table's constraint or any other integrity error (a foreign key, a NOT NULL) is None.
    """
    found = violated_unique_columns(exc)
    if found is None:
        return None
    table, columns = found
    if len(columns) != 1 or table not in (None, model._meta.db_table):
        return None
    by_column = {column: name for name, column in model._meta.fields_db_projection.items()}
    return by_column.get(columns[0])


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the errors it was raised from (the driver's error under Tortoise's)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 5 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
