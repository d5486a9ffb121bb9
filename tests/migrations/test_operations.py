"""The guide's operations through the engine's API, applied and rolled back on the database."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from core.migrations import MigrationError
from core.migrations.engine import TortoiseEngine
from core.migrations.project import Project
from tests.migrations.projects import ProjectDir, new_project

pytestmark = pytest.mark.db

ITEM_MODELS = """
    from core import Field, Mapped, Model


    class Item(Model):
        __tablename__ = "ops_items"

        id: Mapped[int] = Field.pk()
        name: Mapped[str] = Field.string(max_length=50)
"""

RAW_TABLES = """
    from core.migrations import (
        AddColumn, AddForeignKey, AlterColumn, CreateIndex, CreateTable, Migration,
    )

    class RawTables(Migration):
        dependencies = ["0001_initial"]
        operations = [
            AlterColumn("ops_items", "name", "VARCHAR(80)"),
            CreateTable(
                "ops_audit",
                columns={"id": "INTEGER PRIMARY KEY", "item_id": "INTEGER", "note": "VARCHAR(20)"},
            ),
            AddColumn("ops_items", "code", "VARCHAR(12)", nullable=False, default="none"),
            CreateIndex("ops_items", ["code"], unique=True),
            AddForeignKey("ops_audit", "item_id", "ops_items"),
            AlterColumn(
                "ops_audit", "note", "TEXT", nullable=False,
                old_column_type="VARCHAR(20)", old_nullable=True,
            ),
        ]
"""

DROPS = """
    from core.migrations import (
        DropColumn, DropForeignKey, DropIndex, DropTable, Migration,
    )

    class Drops(Migration):
        dependencies = ["0002_raw_tables"]
        atomic = False  # PostgreSQL runs it under the session lock, outside a transaction
        operations = [
            DropForeignKey("ops_audit", "item_id", references_table="ops_items"),
            DropIndex("uidx_ops_items_code", table_name="ops_items", columns=["code"], unique=True),
            DropColumn("ops_items", "code"),
            DropColumn("ops_audit", "note", column_type="TEXT", nullable=False, default=""),
            DropTable("ops_audit", columns={"id": "INTEGER PRIMARY KEY", "item_id": "INTEGER"}),
        ]
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ProjectDir]:
    path, modules = list(sys.path), set(sys.modules)
    project = new_project(tmp_path, models=False)
    project.write("src/apps/ops/models.py", ITEM_MODELS)
    yield project
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.split(".", 1)[0] in ("src", "migrations"):
            del sys.modules[name]


def engine_for(project: ProjectDir) -> TortoiseEngine:
    url = project.db_url or f"sqlite+aiosqlite:///{project.sqlite_path}"
    settings = Settings(database_url=url, models=["src.apps.ops.models"], _env_file=None)
    return TortoiseEngine(Project(project.root, settings))


def test_guide_operations_apply_and_roll_back(project: ProjectDir) -> None:
    engine = engine_for(project)
    assert [p.name for p in asyncio.run(engine.makemigrations(name="initial"))] == [
        "0001_initial.py"
    ]
    project.write("migrations/0002_raw_tables.py", RAW_TABLES)
    assert asyncio.run(engine.migrate()) == ["0001_initial", "0002_raw_tables"]

    def after_raw_tables() -> None:
        items = project.column_types("ops_items")
        assert items["name"] == ("VARCHAR(80)", False)
        assert items["code"] == ("VARCHAR(12)", False)
        assert "uidx_ops_items_code" in project.indexes("ops_items")
        assert project.foreign_keys("ops_audit") == {("item_id", "ops_items")}
        assert project.column_types("ops_audit")["note"] == ("TEXT", False)

    after_raw_tables()
    project.sql("INSERT INTO ops_items (id, name, code) VALUES (1, 'Lamp', 'L1')")
    project.sql("INSERT INTO ops_audit (id, item_id, note) VALUES (1, 1, 'made')")
    # The state followed the SQL-level operations on the model's table.
    report = asyncio.run(engine.check())
    assert set(report.changes) == {"Alter field name on Item", "Remove field code from Item"}
    assert report.pending == []

    project.write("migrations/0003_drops.py", DROPS)
    sql = "\n".join(asyncio.run(engine.sqlmigrate("0003")))
    assert "-- Drop foreign key ops_audit_item_id_fkey of ops_audit" in sql
    assert asyncio.run(engine.migrate()) == ["0003_drops"]
    assert "ops_audit" not in project.tables()
    assert "code" not in project.columns("ops_items")
    assert "uidx_ops_items_code" not in project.indexes("ops_items")
    assert set(asyncio.run(engine.check()).changes) == {"Alter field name on Item"}

    assert asyncio.run(engine.rollback()) == "0003_drops"
    after_raw_tables()
    assert project.sql("SELECT code FROM ops_items") == [{"code": "none"}]
    assert project.count("ops_audit") == 0

    assert asyncio.run(engine.rollback()) == "0002_raw_tables"
    assert project.column_types("ops_items") == {
        "id": project.column_types("ops_items")["id"],
        "name": ("VARCHAR(50)", False),
    }
    assert "ops_audit" not in project.tables()
    assert project.sql("SELECT id, name FROM ops_items") == [{"id": 1, "name": "Lamp"}]
    assert asyncio.run(engine.check()).ok is False  # 0002 and 0003 are pending again
    assert project.applied() == ["0001_initial"]


def test_irreversible_operations_say_what_is_missing(project: ProjectDir) -> None:
    engine = engine_for(project)
    asyncio.run(engine.makemigrations(name="initial"))
    project.write(
        "migrations/0002_one_way.py",
        """
        from core.migrations import CreateTable, DropTable, Migration

        class OneWay(Migration):
            dependencies = ["0001_initial"]
            operations = [
                CreateTable("ops_tmp", columns={"id": "INTEGER"}),
                DropTable("ops_tmp"),
            ]
        """,
    )
    project.write(
        "migrations/0003_raw_sql.py",
        """
        from core.migrations import Migration, RunSQL

        class RawSQL(Migration):
            dependencies = ["0002_one_way"]
            operations = [RunSQL("UPDATE ops_items SET name = name")]
        """,
    )
    asyncio.run(engine.migrate())

    with pytest.raises(MigrationError, match=r"0003_raw_sql cannot be rolled back: Run SQL has"):
        asyncio.run(engine.rollback())
    project.write(
        "migrations/0003_raw_sql.py",
        """
        from core.migrations import Migration, RunSQL

        class RawSQL(Migration):
            dependencies = ["0002_one_way"]
            operations = [RunSQL("UPDATE ops_items SET name = name", reverse_sql=RunSQL.noop)]
        """,
    )
    assert asyncio.run(engine.rollback()) == "0003_raw_sql"
    with pytest.raises(MigrationError, match=r"0002_one_way .*give columns= to recreate it"):
        asyncio.run(engine.rollback())
    assert project.applied() == ["0001_initial", "0002_one_way"]
