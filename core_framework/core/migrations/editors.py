"""Tortoise's schema editors with two fixes the framework's migrations rely on.

* Adding a NOT NULL field with a constant default (`Field.integer(default=0)`) to a table
  that has rows fills those rows with the default, as Django does: the column is added with
  a DEFAULT clause, which is then dropped again (kept on SQLite, which cannot drop it).
  Tortoise adds the column without one, which fails on any table with rows.
* SQLite table rebuilds (dropping or altering a column) keep the table's indexes; Tortoise's
  rebuild drops them all.
* SQLite scripts are split into statements by SQLite's own tokenizer, so a `;` inside a
  comment (a model's docstring becomes one) or a string literal doesn't cut a statement.
* MySQL tables are created with the framework's collation (`utf8mb4_bin`, see
  `core.db.mysql_client`), as `create_schema` creates them, not the server's default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise.fields.base import DB_DEFAULT_NOT_SET, Field
from tortoise.fields.relational import RelationalField
from tortoise.migrations.schema_editor import SqliteSchemaEditor as TortoiseSqliteSchemaEditor
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_editor.mysql import MySQLSchemaEditor as TortoiseMySQLSchemaEditor
from tortoise.models import Model

from core.migrations import sqlite

_CONSTANT_DEFAULTS = (str, int, float, Decimal, bool)


def fills_with_default(field: Field[Any]) -> bool:
    """Whether adding `field` needs its default written into the existing rows."""
    return (
        not field.null
        and not field.pk
        and not isinstance(field, RelationalField)
        and not field.has_db_default()
        and isinstance(field.default, _CONSTANT_DEFAULTS)
    )


class FillDefaultsOnAdd(BaseSchemaEditor):
    """Mixin: existing rows get a new NOT NULL column's constant default."""

    async def add_field(self, model: type[Model], field_name: str) -> None:
        field = model._meta.fields_map[field_name]
        if not fills_with_default(field):
            await super().add_field(model, field_name)
            return
        field.db_default = field.default
        try:
            await super().add_field(model, field_name)
        finally:
            field.db_default = DB_DEFAULT_NOT_SET
        if self.DIALECT == "sqlite":
            return
        column = model._meta.fields_db_projection[field_name]
        table = self._qualify_table_name(model._meta.db_table, model._meta.schema)
        drop = self.ALTER_FIELD_DROP_DEFAULT_TEMPLATE.format(column=column)
        await self._run_sql(self.ALTER_FIELD_TEMPLATE.format(table=table, changes=drop))


class SqliteSchemaEditor(FillDefaultsOnAdd, TortoiseSqliteSchemaEditor):
    """Tortoise's SQLite editor, re-creating the table's indexes after it rebuilds a table.

    Tortoise's rebuild (used to drop or alter a column) copies the columns but loses every
    index; this puts back each index whose columns all survived.
    """

    async def _run_sql(self, sql: str) -> None:
        if self.collect_sql or not self.atomic_migration:
            await super()._run_sql(sql)
            return
        for statement in sqlite.split_statements(sql):
            await self.client.execute_query(statement)

    async def _remake_table(
        self,
        model: type[Model],
        create_field: Any = None,
        delete_field: Any = None,
        alter_fields: Any = None,
    ) -> None:
        if self.collect_sql:
            await super()._remake_table(model, create_field, delete_field, alter_fields)
            return
        table = model._meta.db_table
        await sqlite.require_foreign_keys_off(self.client, table)
        indexes = await sqlite.index_definitions(self.client, table)
        await super()._remake_table(model, create_field, delete_field, alter_fields)
        columns = set(await sqlite.column_names(self.client, table))
        existing = {name for name, _, _ in await sqlite.index_definitions(self.client, table)}
        for name, sql, index_columns in indexes:
            if name not in existing and all(c in columns for c in index_columns):
                await self.client.execute_query(sql)


class MySQLSchemaEditor(FillDefaultsOnAdd, TortoiseMySQLSchemaEditor):
    """Tortoise's MySQL editor, creating tables in utf8mb4 with the framework's collation."""

    def _table_generate_extra(self, table: str) -> str:
        from core.db.mysql_client import CHARSET, COLLATION

        return f" CHARACTER SET {CHARSET} COLLATE {COLLATION}"


_editor_classes: dict[type[BaseSchemaEditor], type[BaseSchemaEditor]] = {
    TortoiseSqliteSchemaEditor: SqliteSchemaEditor,
    TortoiseMySQLSchemaEditor: MySQLSchemaEditor,
}


def core_editor_class(native: type[BaseSchemaEditor]) -> type[BaseSchemaEditor]:
    """The framework's version of one of Tortoise's schema editor classes."""
    found = _editor_classes.get(native)
    if found is None:
        found = type(f"Core{native.__name__}", (FillDefaultsOnAdd, native), {})
        _editor_classes[native] = found
    return found
