"""The guide's migration operations: tables and columns by name, types in SQL.

They are Tortoise operations, so they run inside Tortoise's migrations like the generated
`CreateModel`/`AddField` ones. How each relates to the migration state (the models the
autodetector compares with the code) when its table belongs to a model:

* `AddColumn` runs its own SQL (the type exactly as written) and adds the matching field to
  the model's state (`VARCHAR(20)` → `CharField(max_length=20)`, ...), so a later
  `makemigrations` does not add the column again. Types without a field equivalent change
  the database only.
* `DropColumn`, `AlterColumn` and `DropTable` on a model's table are Tortoise's `RemoveField`,
  `AlterField` and `DeleteModel` (state and SQL, including SQLite table rebuilds, and their
  reverse from the state). On other tables they run SQL; reversing them then needs the old
  definition (`column_type=`, `old_column_type=`, `columns=`).
* `CreateTable`, `CreateIndex`, `DropIndex`, `AddForeignKey` and `DropForeignKey` are
  SQL only and leave the state alone: use them for tables and constraints the models do not
  describe. On SQLite the foreign-key operations rebuild the table.
* `RunSQL` and `RunPython` are Tortoise's own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from hashlib import sha256
from typing import Any

from tortoise.fields.relational import ManyToManyFieldInstance
from tortoise.migrations.operations import (
    AddField,
    AlterField,
    DeleteModel,
    RemoveField,
    RunPython,
    RunSQL,
    TortoiseOperation,
)
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import ModelState, State

from core.adapters.tortoise import index_columns, qualified_table, run_schema_sql
from core.migrations.editors import OperationsSQL
from core.migrations.sqltypes import field_for_sql_type, sql_literal

__all__ = [
    "AddColumn",
    "AddForeignKey",
    "AlterColumn",
    "CreateIndex",
    "CreateTable",
    "DropColumn",
    "DropForeignKey",
    "DropIndex",
    "DropTable",
    "ModelTableOperation",
    "RunPython",
    "RunSQL",
    "TableOperation",
]

ON_DELETE_ACTIONS = frozenset({"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"})
#: PostgreSQL truncates identifiers longer than this; generated names stay within it.
MAX_NAME_LENGTH = 63

Columns = Mapping[str, str] | Sequence[tuple[str, str]]


def _limit(name: str) -> str:
    """`name`, or its first characters plus a hash when it is too long for an identifier."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - 9]}_{digest}"


def _column_list(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


class TableOperation(TortoiseOperation):
    """An operation on the table `table_name`, which may or may not belong to a model."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{type(self).__name__}({args})"

    def model_state(self, state: State, app_label: str) -> ModelState | None:
        """The state of the model whose table this is, if any."""
        for (app, _), model_state in state.models.items():
            if app == app_label and model_state.table == self.table_name:
                return model_state
        return None

    @staticmethod
    def field_for_column(model_state: ModelState, column: str) -> str | None:
        """The name of the model field stored in `column` (`author` for `author_id`)."""
        for name, field in model_state.fields.items():
            if isinstance(field, ManyToManyFieldInstance):
                continue
            if (field.source_field or name) == column:
                return name
        return None

    def model_field(
        self, state: State, app_label: str, column: str
    ) -> tuple[ModelState, str] | None:
        """The model state and the name of its field stored in `column`, on a model's table."""
        model_state = self.model_state(state, app_label)
        if model_state is None:
            return None
        name = self.field_for_column(model_state, column)
        return (model_state, name) if name else None

    def table(self, editor: BaseSchemaEditor) -> str:
        return qualified_table(editor, self.table_name)

    @staticmethod
    async def execute(editor: BaseSchemaEditor, *statements: str) -> None:
        """Run (or, for `sqlmigrate`, collect) each statement."""
        for statement in statements:
            await run_schema_sql(editor, statement)

    @staticmethod
    def sql(editor: BaseSchemaEditor) -> OperationsSQL:
        """The editor's dialect SQL for these operations (`core.migrations.editors`)."""
        if not isinstance(editor, OperationsSQL):
            raise TypeError(
                f"{type(editor).__name__} is not one of the framework's schema editors "
                "(core.migrations.editors.core_editor_class): run migrations with `core migrate`"
            )
        return editor

    async def database_forward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is not None:
            await self.forward_sql(state_editor)

    async def database_backward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is not None:
            await self.backward_sql(state_editor)

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        """Apply the operation to the database (the state is `state_forward`'s business)."""
        raise NotImplementedError

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        """Undo `forward_sql`; raises NotImplementedError with what to give when it cannot."""
        raise NotImplementedError


class ModelTableOperation(TableOperation):
    """An operation that, on a model's table, is one of Tortoise's own (`native`): it then
    changes the state and the database, and reverses from the state. On other tables it is
    `forward_sql`/`backward_sql`, and the state is left alone."""

    def native(self, state: State, app_label: str) -> TortoiseOperation | None:
        """Tortoise's operation for this one when the table is a model's in `state`."""
        raise NotImplementedError

    def state_forward(self, app_label: str, state: State) -> None:
        if native := self.native(state, app_label):
            native.state_forward(app_label, state)

    async def database_forward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is None:
            return
        if native := self.native(old_state, app_label):
            await native.database_forward(app_label, old_state, new_state, state_editor)
        else:
            await self.forward_sql(state_editor)

    async def database_backward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is None:
            return
        if native := self.native(new_state, app_label):
            await native.database_backward(app_label, old_state, new_state, state_editor)
        else:
            await self.backward_sql(state_editor)


def _column_sql(
    editor: BaseSchemaEditor, column: str, column_type: str, nullable: bool, default: Any
) -> str:
    definition = f"{editor.quote(column)} {column_type}"
    if not nullable:
        definition += " NOT NULL"
    if default is not None:
        definition += f" DEFAULT {sql_literal(default, editor.DIALECT)}"
    return definition


def _table_definitions(
    editor: BaseSchemaEditor, columns: Columns, constraints: Sequence[str]
) -> str:
    pairs = columns.items() if isinstance(columns, Mapping) else columns
    items = [f"{editor.quote(name)} {definition}" for name, definition in pairs]
    return ", ".join([*items, *constraints])


class CreateTable(TableOperation):
    """`CREATE TABLE` from column definitions in SQL; reversed by `DROP TABLE`.

    ```python
    CreateTable("audit_log", columns={"id": "INTEGER PRIMARY KEY", "message": "TEXT NOT NULL"})
    ```
    """

    def __init__(self, table_name: str, columns: Columns, constraints: Sequence[str] = ()) -> None:
        super().__init__(table_name)
        self.columns = columns
        self.constraints = list(constraints)

    def describe(self) -> str:
        return f"Create table {self.table_name}"

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        definitions = _table_definitions(editor, self.columns, self.constraints)
        await self.execute(editor, f"CREATE TABLE {self.table(editor)} ({definitions})")

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.execute(editor, f"DROP TABLE {self.table(editor)}")


class DropTable(ModelTableOperation):
    """`DROP TABLE`; a model's table is Tortoise's `DeleteModel` (recreated from the state on
    rollback), any other table needs `columns=` to be recreated."""

    def __init__(
        self, table_name: str, columns: Columns | None = None, constraints: Sequence[str] = ()
    ) -> None:
        super().__init__(table_name)
        self.columns = columns
        self.constraints = list(constraints)

    def describe(self) -> str:
        return f"Drop table {self.table_name}"

    def native(self, state: State, app_label: str) -> DeleteModel | None:
        model_state = self.model_state(state, app_label)
        return DeleteModel(model_state.name) if model_state else None

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.execute(editor, f"DROP TABLE {self.table(editor)}")

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        if self.columns is None:
            raise NotImplementedError(
                f"DropTable({self.table_name!r}) cannot be reversed: give columns= to recreate it"
            )
        await CreateTable(self.table_name, self.columns, self.constraints).forward_sql(editor)


class AddColumn(TableOperation):
    """`ALTER TABLE ... ADD COLUMN` with the SQL type as written; reversed by `DROP COLUMN`.

    On a model's table the matching field joins the model's migration state.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str,
        column_type: str,
        nullable: bool = True,
        default: Any = None,
    ) -> None:
        super().__init__(table_name)
        self.column_name = column_name
        self.column_type = column_type
        self.nullable = nullable
        self.default = default

    def describe(self) -> str:
        return f"Add column {self.column_name} {self.column_type} to {self.table_name}"

    def state_forward(self, app_label: str, state: State) -> None:
        model_state = self.model_state(state, app_label)
        if model_state is None or self.field_for_column(model_state, self.column_name):
            return
        field = field_for_sql_type(self.column_type, nullable=self.nullable, default=self.default)
        if field is not None:
            AddField(model_state.name, self.column_name, field).state_forward(app_label, state)

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        definition = _column_sql(
            editor, self.column_name, self.column_type, self.nullable, self.default
        )
        await self.execute(editor, f"ALTER TABLE {self.table(editor)} ADD COLUMN {definition}")

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        column = editor.quote(self.column_name)
        await self.execute(editor, f"ALTER TABLE {self.table(editor)} DROP COLUMN {column}")


class DropColumn(ModelTableOperation):
    """Drop a column: Tortoise's `RemoveField` on a model's table, `DROP COLUMN` elsewhere
    (reversible there when `column_type=` says how to add it back)."""

    def __init__(
        self,
        table_name: str,
        column_name: str,
        column_type: str | None = None,
        nullable: bool = True,
        default: Any = None,
    ) -> None:
        super().__init__(table_name)
        self.column_name = column_name
        self.column_type = column_type
        self.nullable = nullable
        self.default = default

    def describe(self) -> str:
        return f"Drop column {self.column_name} from {self.table_name}"

    def native(self, state: State, app_label: str) -> RemoveField | None:
        found = self.model_field(state, app_label, self.column_name)
        return RemoveField(found[0].name, found[1]) if found else None

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        column = editor.quote(self.column_name)
        await self.execute(editor, f"ALTER TABLE {self.table(editor)} DROP COLUMN {column}")

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        if self.column_type is None:
            raise NotImplementedError(
                f"DropColumn({self.table_name!r}, {self.column_name!r}) cannot be reversed: "
                "give column_type= to add the column back"
            )
        await AddColumn(
            self.table_name, self.column_name, self.column_type, self.nullable, self.default
        ).forward_sql(editor)


class AlterColumn(ModelTableOperation):
    """Change a column's type and/or nullability.

    On a model's table this is Tortoise's `AlterField` (SQLite rebuilds the table). Elsewhere
    it is SQL (a table rebuild on SQLite), reversible when `old_column_type=` /
    `old_nullable=` give the previous definition.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str,
        column_type: str | None = None,
        nullable: bool | None = None,
        *,
        old_column_type: str | None = None,
        old_nullable: bool | None = None,
    ) -> None:
        if column_type is None and nullable is None:
            raise ValueError("AlterColumn needs column_type= and/or nullable=")
        super().__init__(table_name)
        self.column_name = column_name
        self.column_type = column_type
        self.nullable = nullable
        self.old_column_type = old_column_type
        self.old_nullable = old_nullable

    def describe(self) -> str:
        return f"Alter column {self.column_name} of {self.table_name}"

    def native(self, state: State, app_label: str) -> AlterField | None:
        found = self.model_field(state, app_label, self.column_name)
        if found is None:
            return None
        model_state, name = found
        old = model_state.fields[name]
        nullable = old.null if self.nullable is None else self.nullable
        if self.column_type is None:
            field = copy.copy(old)
            field.null = nullable
        else:
            mapped = field_for_sql_type(
                self.column_type,
                nullable=nullable,
                default=old.default,
                unique=old.unique,
                db_index=old.index,
                description=old.description,
            )
            if mapped is None:
                raise ValueError(
                    f"AlterColumn: no field type matches {self.column_type!r} for "
                    f"{model_state.name}.{name}; use RunSQL"
                )
            field = mapped
        return AlterField(model_state.name, name, field)

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).alter_column(
            self.table_name, self.column_name, self.column_type, self.nullable
        )

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        missing_type = self.column_type is not None and self.old_column_type is None
        missing_null = self.nullable is not None and self.old_nullable is None
        if missing_type or missing_null:
            raise NotImplementedError(
                f"AlterColumn({self.table_name!r}, {self.column_name!r}) cannot be reversed: "
                "give old_column_type= / old_nullable="
            )
        await self.sql(editor).alter_column(
            self.table_name, self.column_name, self.old_column_type, self.old_nullable
        )


class CreateIndex(TableOperation):
    """`CREATE [UNIQUE] INDEX` on columns (or expressions); reversed by `DROP INDEX`."""

    def __init__(
        self,
        table_name: str,
        columns: str | Sequence[str],
        index_name: str | None = None,
        unique: bool = False,
    ) -> None:
        super().__init__(table_name)
        self.columns = _column_list(columns)
        prefix = "uidx" if unique else "idx"
        words = [re.sub(r"\W+", "_", c).strip("_") for c in self.columns]
        self.index_name = index_name or _limit(f"{prefix}_{table_name}_{'_'.join(words)}")
        self.unique = unique

    def describe(self) -> str:
        return f"Create index {self.index_name} on {self.table_name}"

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        unique = "UNIQUE " if self.unique else ""
        columns = index_columns(editor, self.columns)
        await self.execute(
            editor,
            f"CREATE {unique}INDEX {editor.quote(self.index_name)} "
            f"ON {self.table(editor)} ({columns})",
        )

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).drop_index(self.index_name, self.table_name)


class DropIndex(TableOperation):
    """`DROP INDEX`; reversible when `table_name=` and `columns=` say how to recreate it."""

    def __init__(
        self,
        index_name: str,
        table_name: str | None = None,
        columns: str | Sequence[str] | None = None,
        unique: bool = False,
    ) -> None:
        super().__init__(table_name or "")
        self.index_name = index_name
        self.columns = _column_list(columns) if columns is not None else None
        self.unique = unique

    def describe(self) -> str:
        return f"Drop index {self.index_name}"

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).drop_index(self.index_name, self.table_name or None)

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        if not self.table_name or not self.columns:
            raise NotImplementedError(
                f"DropIndex({self.index_name!r}) cannot be reversed: give table_name= and columns="
            )
        await CreateIndex(self.table_name, self.columns, self.index_name, self.unique).forward_sql(
            editor
        )


def _foreign_key_name(table: str, column: str) -> str:
    """PostgreSQL's own name for a column's foreign key: `{table}_{column}_fkey`."""
    return _limit(f"{table}_{column}_fkey")


def _on_delete(action: str) -> str:
    normalized = " ".join(action.upper().replace("_", " ").split())
    if normalized not in ON_DELETE_ACTIONS:
        raise ValueError(
            f"on_delete={action!r} is not one of {', '.join(sorted(ON_DELETE_ACTIONS))}"
        )
    return normalized


class AddForeignKey(TableOperation):
    """A FOREIGN KEY constraint on an existing column; reversed by dropping it.

    The constraint is named `{table}_{column}_fkey` unless `constraint_name=` says otherwise.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str,
        references_table: str,
        references_column: str = "id",
        on_delete: str = "CASCADE",
        constraint_name: str | None = None,
    ) -> None:
        super().__init__(table_name)
        self.column_name = column_name
        self.references_table = references_table
        self.references_column = references_column
        self.on_delete = _on_delete(on_delete)
        self.constraint_name = constraint_name or _foreign_key_name(table_name, column_name)

    def describe(self) -> str:
        return (
            f"Add foreign key {self.table_name}.{self.column_name} -> "
            f"{self.references_table}.{self.references_column}"
        )

    def constraint_sql(self, editor: BaseSchemaEditor) -> str:
        return (
            f"CONSTRAINT {editor.quote(self.constraint_name)} "
            f"FOREIGN KEY ({editor.quote(self.column_name)}) "
            f"REFERENCES {qualified_table(editor, self.references_table)} "
            f"({editor.quote(self.references_column)}) ON DELETE {self.on_delete}"
        )

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).add_foreign_key(
            self.table_name, self.constraint_name, self.constraint_sql(editor)
        )

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).drop_foreign_key(
            self.table_name, self.constraint_name, self.column_name
        )


class DropForeignKey(TableOperation):
    """Drop a column's foreign key (by `constraint_name=`, default `{table}_{column}_fkey`).

    Reversible when `references_table=` (and `column_name=`) say how to add it back.
    """

    def __init__(
        self,
        table_name: str,
        column_name: str | None = None,
        constraint_name: str | None = None,
        references_table: str | None = None,
        references_column: str = "id",
        on_delete: str = "CASCADE",
    ) -> None:
        if column_name is None and constraint_name is None:
            raise ValueError("DropForeignKey needs column_name= or constraint_name=")
        super().__init__(table_name)
        self.column_name = column_name
        self.constraint_name = constraint_name or _foreign_key_name(table_name, str(column_name))
        self.references_table = references_table
        self.references_column = references_column
        self.on_delete = _on_delete(on_delete)

    def describe(self) -> str:
        return f"Drop foreign key {self.constraint_name} of {self.table_name}"

    async def forward_sql(self, editor: BaseSchemaEditor) -> None:
        await self.sql(editor).drop_foreign_key(
            self.table_name, self.constraint_name, self.column_name
        )

    async def backward_sql(self, editor: BaseSchemaEditor) -> None:
        if self.references_table is None or self.column_name is None:
            raise NotImplementedError(
                f"DropForeignKey({self.table_name!r}) cannot be reversed: "
                "give column_name= and references_table="
            )
        await AddForeignKey(
            self.table_name,
            self.column_name,
            self.references_table,
            self.references_column,
            self.on_delete,
            self.constraint_name,
        ).forward_sql(editor)
