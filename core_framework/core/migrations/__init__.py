"""Migrations: the guide's `Migration` and operations, over Tortoise's native migration engine.

```python
# migrations/0002_add_phone_to_users.py
from core.migrations import Migration, AddColumn

class Migration0002(Migration):
    dependencies = ["0001_initial"]
    operations = [
        AddColumn(table_name="users", column_name="phone", column_type="VARCHAR(20)", nullable=True),
    ]
```

The commands behind `core makemigrations/migrate/...` live in `core.migrations.engine`.
"""

from __future__ import annotations

from core.migrations.exceptions import MigrationError
from core.migrations.migration import Migration
from core.migrations.operations import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    RunPython,
    RunSQL,
)

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
    "Migration",
    "MigrationError",
    "RunPython",
    "RunSQL",
]
