"""SQL column types ↔ Tortoise fields, so SQL-level operations keep the migration state in step."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.fields.base import Field

_TYPE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ]*?)\s*(?:\(\s*([0-9,\s]+)\s*\))?\s*$")

# Normalised type name -> field class (types with arguments are handled separately).
_SIMPLE: dict[str, type[Field[Any]]] = {
    "TEXT": fields.TextField,
    "CLOB": fields.TextField,
    "INT": fields.IntField,
    "INTEGER": fields.IntField,
    "INT4": fields.IntField,
    "BIGINT": fields.BigIntField,
    "INT8": fields.BigIntField,
    "SMALLINT": fields.SmallIntField,
    "INT2": fields.SmallIntField,
    "BOOL": fields.BooleanField,
    "BOOLEAN": fields.BooleanField,
    "REAL": fields.FloatField,
    "FLOAT": fields.FloatField,
    "FLOAT8": fields.FloatField,
    "DOUBLE": fields.FloatField,
    "DOUBLE PRECISION": fields.FloatField,
    "TIMESTAMP": fields.DatetimeField,
    "TIMESTAMPTZ": fields.DatetimeField,
    "TIMESTAMP WITH TIME ZONE": fields.DatetimeField,
    "TIMESTAMP WITHOUT TIME ZONE": fields.DatetimeField,
    "DATETIME": fields.DatetimeField,
    "DATETIME2": fields.DatetimeField,
    "DATE": fields.DateField,
    "TIME": fields.TimeField,
    "JSON": fields.JSONField,
    "JSONB": fields.JSONField,
    "UUID": fields.UUIDField,
    "BLOB": fields.BinaryField,
    "BYTEA": fields.BinaryField,
}
_STRINGS = {"VARCHAR", "CHARACTER VARYING", "NVARCHAR", "CHAR", "CHARACTER", "NCHAR"}
_DECIMALS = {"DECIMAL", "NUMERIC"}


def field_for_sql_type(
    column_type: str, *, nullable: bool, default: Any = None, **options: Any
) -> Field[Any] | None:
    """The Tortoise field a column of `column_type` reads as, or None when there is no match.

    `VARCHAR(20)` → `CharField(max_length=20)`, `NUMERIC(10,2)` → `DecimalField(10, 2)`, ...
    `options` (`unique`, `db_index`, `description`) are passed on to the field.
    """
    match = _TYPE.match(column_type)
    if match is None:
        return None
    name = " ".join(match.group(1).upper().split())
    args = [int(a) for a in (match.group(2) or "").replace(" ", "").split(",") if a]
    options = {key: value for key, value in options.items() if value not in (None, False)}
    options["null"] = nullable
    if default is not None:
        options["default"] = default
    if name in _STRINGS:
        if name in {"CHAR", "CHARACTER", "NCHAR"} and args == [36]:
            return fields.UUIDField(**options)
        return fields.CharField(max_length=args[0] if args else 255, **options)
    if name in _DECIMALS:
        digits = args[0] if args else 10
        places = args[1] if len(args) > 1 else (0 if args else 2)
        if isinstance(default, int | float):
            options["default"] = Decimal(str(default))
        return fields.DecimalField(max_digits=digits, decimal_places=places, **options)
    field_class = _SIMPLE.get(name)
    if field_class is None:
        return None
    if field_class is fields.TimeField and args:
        return None
    return field_class(**options)


def sql_literal(value: Any, dialect: str) -> str:
    """`value` as an SQL literal for a DEFAULT clause (None, bool, numbers and strings)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        if dialect == "postgres":
            return "TRUE" if value else "FALSE"
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot write {value!r} as an SQL default; use RunSQL for expressions")
