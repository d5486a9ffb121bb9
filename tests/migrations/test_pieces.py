"""The parts of `core.migrations` that need no database: names, types, SQL rewriting."""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from tortoise import fields

from core.migrations import Migration
from core.migrations.migration import migration_key
from core.migrations.operations import (
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    DropForeignKey,
)
from core.migrations.sqlite import alter_column_item, split_table_sql, unquote, without_foreign_key
from core.migrations.sqltypes import field_for_sql_type, sql_literal


def test_dependencies_may_be_plain_names() -> None:
    assert migration_key("0001_initial", "models") == ("models", "0001_initial")
    assert migration_key("other.0003_x", "models") == ("other", "0003_x")
    assert migration_key(("models", "0002_y"), "x") == ("models", "0002_y")


def test_a_migration_class_of_any_name_is_the_one_the_loader_finds(tmp_path: Path) -> None:
    path = tmp_path / "m0002.py"
    path.write_text(
        "from core.migrations import Migration\n"
        "class Migration0002(Migration):\n"
        "    dependencies = ['0001_initial', ('auth', '0001_initial')]\n"
        "    run_before = ['0003_next']\n"
    )
    spec = importlib.util.spec_from_file_location("core_test_m0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]

    assert module.Migration is module.Migration0002
    assert module.Migration is not Migration
    migration = module.Migration("0002_phone", "models")
    assert migration.dependencies == [("models", "0001_initial"), ("auth", "0001_initial")]
    assert migration.run_before == [("models", "0003_next")]
    assert Migration.dependencies == []  # the base class is untouched


@pytest.mark.parametrize(
    ("column_type", "expected", "attributes"),
    [
        ("VARCHAR(20)", fields.CharField, {"max_length": 20}),
        ("varchar (255)", fields.CharField, {"max_length": 255}),
        ("CHARACTER VARYING(8)", fields.CharField, {"max_length": 8}),
        ("TEXT", fields.TextField, {}),
        ("INTEGER", fields.IntField, {}),
        ("BIGINT", fields.BigIntField, {}),
        ("BOOLEAN", fields.BooleanField, {}),
        ("NUMERIC(12, 3)", fields.DecimalField, {"max_digits": 12, "decimal_places": 3}),
        ("TIMESTAMP WITH TIME ZONE", fields.DatetimeField, {}),
        ("DATE", fields.DateField, {}),
        ("JSONB", fields.JSONField, {}),
        ("UUID", fields.UUIDField, {}),
        ("CHAR(36)", fields.UUIDField, {}),
    ],
)
def test_sql_types_map_to_fields(
    column_type: str, expected: type, attributes: dict[str, object]
) -> None:
    field = field_for_sql_type(column_type, nullable=True)
    assert type(field) is expected
    assert field is not None and field.null is True
    for name, value in attributes.items():
        assert getattr(field, name) == value


def test_unknown_sql_types_map_to_nothing() -> None:
    assert field_for_sql_type("GEOMETRY(POINT, 4326)", nullable=True) is None
    assert field_for_sql_type("INT[]", nullable=True) is None


def test_sql_literals() -> None:
    assert sql_literal("it's", "sqlite") == "'it''s'"
    assert sql_literal(True, "postgres") == "TRUE"
    assert sql_literal(False, "sqlite") == "0"
    assert sql_literal(Decimal("1.50"), "postgres") == "1.50"
    assert sql_literal(None, "postgres") == "NULL"
    with pytest.raises(TypeError, match="RunSQL"):
        sql_literal(object(), "sqlite")


TABLE_SQL = (
    'CREATE TABLE "orders" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    "\"note\" VARCHAR(20) DEFAULT 'a, (b)' /* the, note */, "
    '"user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE, '
    'CONSTRAINT "orders_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items" ("id"), '
    'CHECK (length("note") < 30))'
)


def test_split_table_sql_ignores_commas_in_quotes_comments_and_parentheses() -> None:
    head, items, tail = split_table_sql(TABLE_SQL)
    assert head == 'CREATE TABLE "orders" ('
    assert tail == ")"
    assert items == [
        '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL',
        "\"note\" VARCHAR(20) DEFAULT 'a, (b)' /* the, note */",
        '"user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE',
        'CONSTRAINT "orders_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items" ("id")',
        'CHECK (length("note") < 30)',
    ]


def test_foreign_keys_are_removed_by_name_or_by_column() -> None:
    _, items, _ = split_table_sql(TABLE_SQL)
    by_name = without_foreign_key(items, "orders_item_id_fkey", None)
    assert not any("items" in item for item in by_name)
    inline = without_foreign_key(items, "orders_user_id_fkey", "user_id")
    assert '"user_id" INT NOT NULL' in inline
    with pytest.raises(ValueError, match="no foreign key"):
        without_foreign_key(items, "nope", "note")


def test_column_definitions_are_rewritten_for_alter_column() -> None:
    item = "\"note\" VARCHAR(20) NOT NULL DEFAULT 'x'"
    assert alter_column_item(item, "note", "TEXT", None) == "\"note\" TEXT NOT NULL DEFAULT 'x'"
    assert alter_column_item(item, "note", None, True) == "\"note\" VARCHAR(20) DEFAULT 'x'"
    assert alter_column_item('"n" INT DEFAULT NULL', "n", None, False) == (
        '"n" INT DEFAULT NULL NOT NULL'
    )
    assert alter_column_item(item, "other", "TEXT", None) == item
    assert unquote('"a ""b"""') == 'a "b"'


def test_operations_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="column_type= and/or nullable="):
        AlterColumn("t", "c")
    with pytest.raises(ValueError, match="on_delete"):
        AddForeignKey("t", "c", "u", on_delete="EXPLODE")
    with pytest.raises(ValueError, match="column_name= or constraint_name="):
        DropForeignKey("t")
    assert AddForeignKey("posts", "author_id", "users").constraint_name == "posts_author_id_fkey"
    assert CreateIndex("posts", ["lower(title)"]).index_name == "idx_posts_lower_title"
    assert len(CreateIndex("p" * 80, ["c"]).index_name) == 63


def test_operations_leave_the_dialect_to_the_schema_editors() -> None:
    """No operation branches on `editor.DIALECT`: each dialect's SQL is its editor's method."""
    import ast

    import core.migrations.operations as operations

    tree = ast.parse(Path(operations.__file__).read_text(encoding="utf-8"))
    branches = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and any(
            isinstance(side, ast.Attribute) and side.attr == "DIALECT" for side in ast.walk(node)
        )
    ]
    assert branches == []
