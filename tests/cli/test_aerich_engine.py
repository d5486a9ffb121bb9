"""`MIGRATIONS_ENGINE=aerich`: the same commands over an Aerich history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.migrations.projects import ProjectDir, lines, new_project

pytest.importorskip("aerich")

BROKEN_VERSION = '''
    from tortoise import BaseDBAsyncClient

    RUN_IN_TRANSACTION = True


    async def upgrade(db: BaseDBAsyncClient) -> str:
        return """
            CREATE TABLE "audit_log" ("id" INT);
            ALTER TABLE "products" ADD "note" TEXT;
            INSERT INTO "no_such_table" VALUES (1);"""


    async def downgrade(db: BaseDBAsyncClient) -> str:
        return """DROP TABLE "audit_log";"""
'''


@pytest.fixture
def project(tmp_path: Path) -> ProjectDir:
    project = new_project(tmp_path)
    project.write(".env", "DATABASE_URL=sqlite+aiosqlite:///./app.db\nMIGRATIONS_ENGINE=aerich\n")
    return project


def versions(project: ProjectDir) -> list[str]:
    return sorted(p.name for p in (project.root / "migrations" / "models").glob("*.py"))


@pytest.mark.db
def test_aerich_history_round_trip(project: ProjectDir) -> None:
    project.core("makemigrations")
    [initial] = versions(project)
    assert initial.startswith("0_") and initial.endswith("_init.py")
    assert f"Applying {initial}... OK" in project.core("migrate").stdout
    assert {"products", "users", "aerich"} <= project.tables()

    project.write_models(
        shop_extra="sku: Mapped[str | None] = Field.string(max_length=20, nullable=True)"
    )
    changed = project.core("check", ok=False)
    assert changed.returncode == 1
    assert 'ADD "sku" VARCHAR(20)' in project.quoted(changed.stdout)
    offline = project.core("check", "--no-database", ok=False)
    assert offline.returncode == 1
    assert 'ADD "sku" VARCHAR(20)' in project.quoted(offline.stdout)

    project.core("makemigrations", "--name", "add_sku")
    second = versions(project)[1]
    assert second.startswith("1_") and second.endswith("_add_sku.py")
    assert second in project.core("check", ok=False).stdout
    project.core("migrate")
    assert "sku" in project.columns("products")
    assert "No issues" in project.core("check").stdout

    assert f"Rolling back {second}... OK" in project.core("migrate", "--rollback").stdout
    assert "sku" not in project.columns("products")
    assert lines(project.core("showmigrations").stdout) == [f" [X] {initial}", f" [ ] {second}"]

    to_target = project.core("migrate", initial, ok=False)
    assert to_target.stderr.strip() == (
        f"Error: `core migrate {initial}` needs MIGRATIONS_ENGINE=tortoise; with Aerich, "
        "revert one migration at a time with `core migrate --rollback`"
    )


@pytest.mark.db
def test_a_failing_aerich_upgrade_is_rolled_back_whole(project: ProjectDir) -> None:
    if not project.transactional_ddl:
        pytest.skip("MySQL/MariaDB commit DDL as it runs: an upgrade cannot be rolled back whole")
    project.core("makemigrations")
    project.core("migrate")
    project.write("migrations/models/1_20260101000000_broken.py", BROKEN_VERSION)

    failed = project.core("migrate", ok=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith(
        "Error: could not apply 1_20260101000000_broken.py (nothing of it was applied)"
    )
    assert "audit_log" not in project.tables()
    assert "note" not in project.columns("products")
    assert [r["version"] for r in project.sql("SELECT version FROM aerich")] == versions(project)[
        :1
    ]
