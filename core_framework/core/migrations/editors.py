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

They also hold the dialect SQL of the guide's operations (`core.migrations.operations`):
`OperationsSQL` writes it as PostgreSQL (and standard SQL) does, and the SQLite and MySQL
editors override what their dialect does another way, so no operation asks for the dialect.
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

from core.adapters.tortoise import qualified_table, run_schema_sql
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


class OperationsSQL(BaseSchemaEditor):
    """The SQL of the operations that are not Tortoise's own, as PostgreSQL writes it.

    Each method runs its statements (or collects them, for `sqlmigrate`).
    """

    async def alter_column(
        self, table_name: str, column: str, column_type: str | None, nullable: bool | None
    ) -> None:
        """Give `column` the type `column_type` and/or the nullability `nullable` (None: keep)."""
        table, quoted = qualified_table(self, table_name), self.quote(column)
        if column_type is not None:
            await run_schema_sql(
                self, f"ALTER TABLE {table} ALTER COLUMN {quoted} TYPE {column_type}"
            )
        if nullable is not None:
            change = "DROP NOT NULL" if nullable else "SET NOT NULL"
            await run_schema_sql(self, f"ALTER TABLE {table} ALTER COLUMN {quoted} {change}")

    async def drop_index(self, index_name: str, table_name: str | None) -> None:
        """Drop the index `index_name` (of `table_name`, which some dialects need)."""
        await run_schema_sql(self, f"DROP INDEX {self.quote(index_name)}")

    async def add_foreign_key(self, table_name: str, name: str, constraint: str) -> None:
        """Add `constraint`, the foreign key `CONSTRAINT name FOREIGN KEY ...`, to the table."""
        await run_schema_sql(
            self, f"ALTER TABLE {qualified_table(self, table_name)} ADD {constraint}"
        )

    async def drop_foreign_key(self, table_name: str, name: str, column: str | None) -> None:
        """Drop the table's foreign key `name` (or, where names are not kept, on `column`)."""
        table = qualified_table(self, table_name)
        await run_schema_sql(self, f"ALTER TABLE {table} DROP CONSTRAINT {self.quote(name)}")


class SqliteSchemaEditor(FillDefaultsOnAdd, OperationsSQL, TortoiseSqliteSchemaEditor):
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

    # SQLite changes columns and constraints by rebuilding the table.

    async def alter_column(
        self, table_name: str, column: str, column_type: str | None, nullable: bool | None
    ) -> None:
        await sqlite.rebuild_table(
            self,
            table_name,
            lambda items: [
                sqlite.alter_column_item(item, column, column_type, nullable) for item in items
            ],
            f"alter column {column}",
        )

    async def add_foreign_key(self, table_name: str, name: str, constraint: str) -> None:
        await sqlite.rebuild_table(
            self, table_name, lambda items: [*items, constraint], f"add foreign key {name}"
        )

    async def drop_foreign_key(self, table_name: str, name: str, column: str | None) -> None:
        await sqlite.rebuild_table(
            self,
            table_name,
            lambda items: sqlite.without_foreign_key(items, name, column),
            f"drop foreign key {name}",
        )


class MySQLSchemaEditor(FillDefaultsOnAdd, OperationsSQL, TortoiseMySQLSchemaEditor):
    """Tortoise's MySQL editor, creating tables in utf8mb4 with the framework's collation."""

    def _table_generate_extra(self, table: str) -> str:
        from core.db.mysql_client import CHARSET, COLLATION

        return f" CHARACTER SET {CHARSET} COLLATE {COLLATION}"

    async def alter_column(
        self, table_name: str, column: str, column_type: str | None, nullable: bool | None
    ) -> None:
        if column_type is None:
            raise NotImplementedError("AlterColumn on MySQL needs column_type=")
        null = " NOT NULL" if nullable is False else " NULL"
        table = qualified_table(self, table_name)
        await run_schema_sql(
            self, f"ALTER TABLE {table} MODIFY COLUMN {self.quote(column)} {column_type}{null}"
        )

    async def drop_index(self, index_name: str, table_name: str | None) -> None:
        if table_name is None:
            raise NotImplementedError("DropIndex on MySQL needs table_name=")
        table = qualified_table(self, table_name)
        await run_schema_sql(self, f"DROP INDEX {self.quote(index_name)} ON {table}")

    async def drop_foreign_key(self, table_name: str, name: str, column: str | None) -> None:
        table = qualified_table(self, table_name)
        await run_schema_sql(self, f"ALTER TABLE {table} DROP FOREIGN KEY {self.quote(name)}")


_editor_classes: dict[type[BaseSchemaEditor], type[BaseSchemaEditor]] = {
    TortoiseSqliteSchemaEditor: SqliteSchemaEditor,
    TortoiseMySQLSchemaEditor: MySQLSchemaEditor,
}


def core_editor_class(native: type[BaseSchemaEditor]) -> type[BaseSchemaEditor]:
    """The framework's version of one of Tortoise's schema editor classes."""
    found = _editor_classes.get(native)
    if found is None:
        found = type(f"Core{native.__name__}", (FillDefaultsOnAdd, OperationsSQL, native), {})
        _editor_classes[native] = found
    return found
