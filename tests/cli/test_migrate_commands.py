"""The migration commands, run as `core ...` processes in throw-away projects.

Each test's database is a SQLite file in its project, or PostgreSQL or MySQL/MariaDB when
DATABASE_URL says so (`make test-pg`, `make test-mysql`).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.migrations.projects import ProjectDir, lines, new_project

GUIDE_MIGRATION = """
    # migrations/0002_add_phone_to_users.py
    from core.migrations import Migration, AddColumn

    class Migration0002(Migration):
        dependencies = ["0001_initial"]

        operations = [
            AddColumn(
                table_name="users",
                column_name="phone",
                column_type="VARCHAR(20)",
                nullable=True,
            ),
        ]
"""

SHOP_CHANGE = """
        sku: Mapped[str | None] = Field.string(max_length=20, nullable=True)
        stock: Mapped[int] = Field.integer(default=0)
"""


@pytest.fixture
def project(tmp_path: Path) -> ProjectDir:
    return new_project(tmp_path)


def insert_shop_rows(project: ProjectDir) -> None:
    """A user, a product of theirs and a review of it."""
    project.sql(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, is_active, "
        "is_staff, is_superuser, date_joined) "
        "VALUES (1, 'a@example.com', '!', '', '', TRUE, FALSE, FALSE, '2024-01-01 00:00:00');"
        "INSERT INTO products (id, name, owner_id) VALUES (1, 'Lamp', 1);"
        "INSERT INTO reviews (id, body, product_id) VALUES (1, 'Bright', 1);"
    )


@pytest.mark.db
def test_models_to_migrations_and_back(project: ProjectDir) -> None:
    created = project.core("makemigrations", "--name", "initial")
    assert "Created migrations/0001_initial.py" in created.stdout
    assert (project.root / "migrations" / "__init__.py").is_file()

    applied = project.core("migrate")
    assert "Applying 0001_initial... OK" in applied.stdout
    assert {"users", "products", "reviews", "auth_groups", "users_groups"} <= project.tables()
    insert_shop_rows(project)

    # A model gains two fields: check names the change until a migration exists.
    project.write_models(shop_extra=SHOP_CHANGE)
    unmigrated = project.core("check", ok=False)
    assert unmigrated.returncode == 1
    assert "Add field sku to Product" in unmigrated.stdout
    assert "core makemigrations" in unmigrated.stdout

    project.core("makemigrations", "--name", "add_sku")
    assert project.migration_files() == ["0001_initial.py", "0002_add_sku.py"]
    pending = project.core("check", ok=False)
    assert pending.returncode == 1
    assert "0002_add_sku" in pending.stdout
    assert "makemigrations" not in pending.stdout

    project.core("migrate")
    assert {"sku", "stock"} <= set(project.columns("products"))
    assert project.sql("SELECT stock FROM products") == [{"stock": 0}]  # existing row filled
    assert "No issues" in project.core("check").stdout
    assert "No changes detected" in project.core("makemigrations").stdout

    # --rollback reverts exactly the last migration, keeping rows, references and indexes.
    index_names = project.indexes("products")
    rolled_back = project.core("migrate", "--rollback")
    assert "Rolling back 0002_add_sku... OK" in rolled_back.stdout
    assert not {"sku", "stock"} & set(project.columns("products"))
    assert project.count("products") == 1
    assert project.count("reviews") == 1
    assert project.indexes("products") == index_names
    assert lines(project.core("showmigrations").stdout) == [
        " [X] 0001_initial",
        " [ ] 0002_add_sku",
    ]

    project.core("migrate")
    assert {"sku", "stock"} <= set(project.columns("products"))
    assert project.applied() == ["0001_initial", "0002_add_sku"]


@pytest.mark.db
def test_guide_hand_written_migration_applies_and_rolls_back(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.write("migrations/0002_add_phone_to_users.py", GUIDE_MIGRATION)

    assert "Applying 0002_add_phone_to_users... OK" in project.core("migrate").stdout
    assert "phone" in project.columns("users")
    sql = project.quoted(project.core("sqlmigrate", "0002").stdout)
    assert 'ADD COLUMN "phone" VARCHAR(20)' in sql

    # The migration state knows the column: a model declaring it needs no new migration.
    project.write_models(
        users_extra="phone: Mapped[str | None] = Field.string(max_length=20, nullable=True)"
    )
    assert "No issues" in project.core("check").stdout

    assert "Rolling back 0002_add_phone_to_users" in project.core("migrate", "--rollback").stdout
    assert "phone" not in project.columns("users")
    assert project.applied() == ["0001_initial"]


@pytest.mark.db
def test_a_failing_migration_leaves_schema_and_history_untouched(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    project.write(
        "migrations/0002_broken.py",
        """
        from core.migrations import AddColumn, CreateTable, Migration, RunSQL

        class Broken(Migration):
            dependencies = ["0001_initial"]
            operations = [
                CreateTable("audit_log", columns={"id": "INTEGER PRIMARY KEY"}),
                AddColumn("products", "note", "TEXT"),
                RunSQL("INSERT INTO no_such_table VALUES (1)"),
            ]
        """,
    )
    failed = project.core("migrate", ok=False)

    assert failed.returncode == 1
    assert "Applying 0002_broken... FAILED" in failed.stdout
    error = failed.stderr.strip()
    if project.transactional_ddl:
        assert error.startswith("Error: could not apply 0002_broken (nothing of it was applied): ")
    else:  # MySQL committed the first two operations: migrate undid them
        assert error.startswith(
            "Error: could not apply 0002_broken (it ran outside a transaction; the 2 of 3 "
            "operations that ran were undone, nothing of it remains): "
        )
    assert "no_such_table" in error
    assert len(error.splitlines()) == 1
    assert "audit_log" not in project.tables()
    assert "note" not in project.columns("products")
    assert project.applied() == ["0001_initial"]


@pytest.mark.db
def test_a_half_applied_migration_without_a_transaction_is_reported_until_repaired(
    project: ProjectDir,
) -> None:
    """What ran of a failed migration outside a transaction, and cannot be undone, is shown."""
    if project.dialect == "sqlite":
        pytest.skip("SQLite applies every migration in a transaction: none is half applied")
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    broken = """
        from core.migrations import Migration, RunSQL

        class Half(Migration):
            dependencies = ["0001_initial"]
            atomic = False  # as every migration on MySQL; PostgreSQL then runs it the same way
            operations = [
                RunSQL("CREATE TABLE half_done (id INTEGER)"),  # no reverse_sql: cannot undo
                RunSQL({fail}),
            ]
    """
    project.write(
        "migrations/0002_half.py", broken.format(fail='"INSERT INTO no_such_table VALUES (1)"')
    )
    failed = project.core("migrate", ok=False)
    assert failed.returncode == 1
    assert "PARTLY APPLIED: 1 of 2 operations ran and stay" in failed.stderr
    assert "no_such_table" in failed.stderr
    assert "half_done" in project.tables()
    assert project.applied() == ["0001_initial"]

    shown = lines(project.core("showmigrations").stdout)
    assert shown[0] == " [X] 0001_initial"
    assert shown[1].startswith(" [!] 0002_half  (PARTLY APPLIED: 1 of 2 operations ran and stay")
    checked = project.core("check", ok=False)
    assert checked.returncode == 1
    assert "partly applied" in checked.stdout and "0002_half" in checked.stdout
    assert "Migrations not applied" not in checked.stdout

    again = project.core("migrate", ok=False)  # refuses to run it over what is there
    assert again.returncode == 1
    assert "0002_half is partly applied" in again.stderr
    assert "DELETE FROM core_migrations_partial WHERE name = '0002_half'" in again.stderr

    # Repaired by hand as the message says, with the migration fixed: it applies.
    project.sql(
        "DROP TABLE half_done; DELETE FROM core_migrations_partial WHERE name = '0002_half';"
    )
    project.write("migrations/0002_half.py", broken.format(fail='"SELECT 1"'))
    assert "Applying 0002_half... OK" in project.core("migrate").stdout
    assert project.applied() == ["0001_initial", "0002_half"]
    assert "No issues" in project.core("check").stdout


@pytest.mark.db
def test_reset_db_asks_first_then_drops_everything_and_migrates(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    project.sql("INSERT INTO auth_groups (name) VALUES ('editors')")
    project.sql("CREATE TABLE stray (id INTEGER)")

    no_answer = project.core("reset_db", ok=False)  # stdin is empty: nobody can confirm
    assert no_answer.returncode == 1
    assert "not confirmed" in no_answer.stderr
    declined = project.core("reset_db", ok=False, input="n\n")
    assert declined.returncode == 1
    assert project.count("auth_groups") == 1

    reset = project.core("reset_db", "--yes")
    assert "Applying 0001_initial... OK" in reset.stdout
    assert "stray" not in project.tables()
    assert project.count("auth_groups") == 0
    assert project.applied() == ["0001_initial"]


@pytest.mark.db
def test_showmigrations_and_sqlmigrate(project: ProjectDir) -> None:
    assert "No migrations." in project.core("showmigrations").stdout
    assert "No migrations to roll back." in project.core("migrate", "--rollback").stdout

    project.core("makemigrations", "--name", "initial")
    forward = project.quoted(project.core("sqlmigrate", "0001").stdout)
    # MySQL commits each DDL statement by itself: there is no transaction to show.
    assert forward.startswith("BEGIN;" if project.transactional_ddl else "--")
    assert (
        'CREATE TABLE IF NOT EXISTS "products"' in forward or 'CREATE TABLE "products"' in forward
    )
    assert "-- Create model Product" in forward
    backward = project.quoted(project.core("sqlmigrate", "0001_initial", "--backward").stdout)
    assert 'DROP TABLE "products"' in backward
    assert "products" not in project.tables()  # sqlmigrate runs nothing

    unknown = project.core("sqlmigrate", "0009", ok=False)
    assert unknown.returncode == 1
    assert "Cannot find migration '0009'" in unknown.stderr


@pytest.mark.db
def test_concurrent_migrate_processes_apply_each_migration_once(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.write(
        "migrations/0002_slow_data.py",
        """
        import asyncio

        from core.migrations import CreateTable, Migration, RunPython

        async def count_once(apps, schema_editor):
            await schema_editor.client.execute_query("INSERT INTO runs (n) VALUES (1)")
            await asyncio.sleep(1)  # the other process is waiting for the lock meanwhile

        class SlowData(Migration):
            dependencies = ["0001_initial"]
            operations = [
                CreateTable("runs", columns={"n": "INTEGER NOT NULL"}),
                RunPython(count_once, RunPython.noop),
            ]
        """,
    )
    processes = [project.spawn("migrate") for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]

    for code, stdout, stderr in results:
        assert code == 0, f"stdout:\n{stdout}\nstderr:\n{stderr}"
    output = "".join(stdout for _, stdout, _ in results)
    assert output.count("Applying 0002_slow_data... OK") == 1
    assert project.count("runs") == 1
    assert project.applied() == ["0001_initial", "0002_slow_data"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    project = ProjectDir(root=tmp_path, db_url=None)
    project.write_models()
    url = f"postgresql+asyncpg://core:hunter2@127.0.0.1:{_closed_port()}/shop"
    env = project.env(DATABASE_URL=url)

    # makemigrations needs no database.
    assert "Created migrations/0001_initial.py" in project.core("makemigrations", env=env).stdout
    for command in (["migrate"], ["check"]):
        result = project.core(*command, ok=False, env=env)
        assert result.returncode == 1, command
        assert result.stderr.startswith(
            "Error: cannot connect to postgres database 'shop' at 127.0.0.1"
        ), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "hunter2" not in result.stderr


def test_bad_settings_are_a_one_line_error(tmp_path: Path) -> None:
    project = ProjectDir(root=tmp_path, db_url=None)
    project.write_models()
    result = project.core("migrate", ok=False, env=project.env(MIGRATIONS_ENGINE="south"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: invalid settings: migrations_engine: ")
    assert len(result.stderr.strip().splitlines()) == 1


RENAME = """
    from tortoise import migrations
    from tortoise.migrations import operations as ops


    class Migration(migrations.Migration):
        dependencies = [("models", "0001_initial")]

        operations = [
            ops.RenameField(model_name="Review", old_name="body", new_name="text"),
        ]
"""


@pytest.mark.db
def test_a_renamed_field_keeps_its_data_and_rolls_back(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    insert_shop_rows(project)
    project.write("migrations/0002_rename_body.py", RENAME)
    models = project.root / "src/apps/shop/models.py"
    models.write_text(models.read_text().replace("body: Mapped[str]", "text: Mapped[str]"))

    assert "Applying 0002_rename_body... OK" in project.core("migrate").stdout
    assert "text" in project.columns("reviews") and "body" not in project.columns("reviews")
    assert project.sql("SELECT text FROM reviews") == [{"text": "Bright"}]
    assert "No issues" in project.core("check").stdout

    project.core("migrate", "--rollback")
    assert "body" in project.columns("reviews") and "text" not in project.columns("reviews")
    assert project.sql("SELECT body FROM reviews") == [{"body": "Bright"}]


@pytest.mark.db
def test_check_and_migrate_notice_edited_or_missing_applied_migrations(
    project: ProjectDir,
) -> None:
    """An applied migration edited or deleted afterwards went unnoticed."""
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    project.write_models(shop_extra=SHOP_CHANGE)
    project.core("makemigrations", "--name", "add_sku")
    project.core("migrate")
    assert "No issues" in project.core("check").stdout

    first = project.root / "migrations" / "0001_initial.py"
    original = first.read_text()
    first.write_text(original + "\n# edited by hand\n")
    edited = project.core("check", ok=False)
    assert edited.returncode == 1
    assert "0001_initial: edited after it was applied" in edited.stdout
    warned = project.core("migrate")
    assert "Warning: 0001_initial: edited after it was applied" in warned.stderr

    first.write_text(original)  # restored: all clear again
    assert "No issues" in project.core("check").stdout

    (project.root / "migrations" / "0002_add_sku.py").unlink()
    missing = project.core("check", ok=False)
    assert "0002_add_sku: applied, but its file is missing" in missing.stdout


def test_a_sqlite_file_in_a_missing_directory_is_only_a_one_line_error(tmp_path: Path) -> None:
    project = ProjectDir(root=tmp_path, db_url=None)
    project.write_models()
    env = project.env(DATABASE_URL="sqlite+aiosqlite:///./missing/app.db")
    project.core("makemigrations", env=env)  # needs no database
    for command in ("migrate", "check", "showmigrations", "migrate", "check"):
        result = project.core(command, ok=False, env=env)
        assert result.returncode == 1, command
        assert result.stderr == (
            f"Error: cannot connect to SQLite database {tmp_path.resolve()}/missing/app.db: "
            "unable to open database file\n"
        ), (command, result.stderr)
    assert not (tmp_path / "missing").exists()


NOT_NULL_STOCK = """
        stock: Mapped[int] = Field.integer()
"""
NOT_NULL_WARNING = (
    "Warning: 0002_stock adds the NOT NULL field stock to Product with no default: "
    "`core migrate` will fail on a table that has rows."
)


def core_in_a_terminal(project: ProjectDir, *args: str, answer: str) -> tuple[int, str]:
    """Run `core ARGS` with a pseudo-terminal as stdin (so it asks), typing `answer`."""
    import os
    import pty
    import subprocess

    from tests.migrations.projects import CORE

    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        result = subprocess.run(
            [CORE, *args],
            cwd=project.root,
            env=project.env(),
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.db
def test_makemigrations_warns_about_a_not_null_field_without_a_default(
    project: ProjectDir,
) -> None:
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    insert_shop_rows(project)
    project.write_models(shop_extra=NOT_NULL_STOCK)

    # In a terminal it asks first; "no" (the default) writes nothing and says why.
    code, output = core_in_a_terminal(project, "makemigrations", "--name", "stock", answer="\n")
    assert code == 1
    assert NOT_NULL_WARNING in output
    assert (
        'Fix: give the field a default= (e.g. default=0 or default=""), or nullable=True' in output
    )
    assert "Write the migration anyway? [y/N]" in output
    assert "Error: no migration written; change the model as above" in output
    assert project.migration_files() == ["0001_initial.py"]

    # Without a terminal (or with --no-input) it writes the migration, with the warning.
    for args in (["--no-input"], []):
        written = project.core("makemigrations", "--name", "stock", *args)
        assert "Created migrations/0002_stock.py" in written.stdout
        assert NOT_NULL_WARNING in written.stderr
        assert "Fix: give the field a default=" in written.stderr
        (project.root / "migrations" / "0002_stock.py").unlink()

    # "yes" in a terminal writes it too; a default on the field needs no question at all.
    code, output = core_in_a_terminal(project, "makemigrations", "--name", "stock", answer="y\n")
    assert code == 0 and "Created migrations/0002_stock.py" in output
    (project.root / "migrations" / "0002_stock.py").unlink()
    project.write_models(shop_extra="stock: Mapped[int] = Field.integer(default=0)\n")
    quiet = project.core("makemigrations", "--name", "stock")
    assert "Warning" not in quiet.stderr and "Created migrations/0002_stock.py" in quiet.stdout
    project.core("migrate")
    assert project.sql("SELECT stock FROM products") == [{"stock": 0}]


# --- migrate <target>, check --no-database, missing tables (issue 15) ------------------------


@pytest.mark.db
def test_migrate_to_a_named_migration_goes_forwards_or_backwards(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    project.write_models(shop_extra=SHOP_CHANGE)
    project.core("makemigrations", "--name", "add_sku")
    project.write_models(
        users_extra="phone: Mapped[str | None] = Field.string(max_length=20, nullable=True)",
        shop_extra=SHOP_CHANGE,
    )
    project.core("makemigrations", "--name", "add_phone")

    # Forwards to a prefix: that migration and what it depends on, no further.
    assert lines(project.core("migrate", "0001").stdout) == ["  Applying 0001_initial... OK"]
    insert_shop_rows(project)
    assert lines(project.core("migrate", "0002").stdout) == ["  Applying 0002_add_sku... OK"]
    assert project.applied() == ["0001_initial", "0002_add_sku"]
    assert "phone" not in project.columns("users")
    assert (
        "Nothing to do: the database is already at 0002" in project.core("migrate", "0002").stdout
    )

    # Forwards by full name, then backwards: later migrations reverted, newest first.
    assert "Applying 0003_add_phone... OK" in project.core("migrate", "0003_add_phone").stdout
    assert lines(project.core("migrate", "0001_initial").stdout) == [
        "  Rolling back 0003_add_phone... OK",
        "  Rolling back 0002_add_sku... OK",
    ]
    assert project.applied() == ["0001_initial"]
    assert not {"sku", "stock"} & set(project.columns("products"))
    assert "phone" not in project.columns("users")
    assert project.count("products") == 1  # the rows of the kept tables stay

    # zero reverts everything; migrate with no target applies everything again.
    assert lines(project.core("migrate", "zero").stdout) == ["  Rolling back 0001_initial... OK"]
    assert not {"users", "products", "reviews"} & project.tables()
    project.core("migrate")
    assert project.applied() == ["0001_initial", "0002_add_sku", "0003_add_phone"]

    unknown = project.core("migrate", "0009", ok=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "Error: no migration named '0009' in migrations/; available: "
        "0001_initial, 0002_add_sku, 0003_add_phone, zero"
    )
    ambiguous = project.core("migrate", "000", ok=False)
    assert ambiguous.stderr.strip() == (
        "Error: '000' matches several migrations in migrations/: "
        "0001_initial, 0002_add_sku, 0003_add_phone; give more of the name"
    )
    both = project.core("migrate", "0001", "--rollback", ok=False)
    assert both.stderr.strip() == "Error: give either a TARGET or --rollback, not both"
    assert project.applied() == ["0001_initial", "0002_add_sku", "0003_add_phone"]


def test_check_without_a_database_compares_models_with_migration_files(tmp_path: Path) -> None:
    """For CI: no database server, no SQLite file; exit 1 listing what needs a migration."""
    project = ProjectDir(root=tmp_path, db_url=None)
    project.write(".env", "DATABASE_URL=sqlite+aiosqlite:///./app.db\n")
    project.write_models()
    # A server that isn't there proves nothing connects.
    unreachable = f"postgresql+asyncpg://core:pw@127.0.0.1:{_closed_port()}/shop"
    env = project.env(DATABASE_URL=unreachable)

    first = project.core("check", "--no-database", ok=False, env=env)
    assert first.returncode == 1
    assert first.stdout.splitlines() == [
        "Models have changes without a migration (run `core makemigrations`):",
        "  - there is no migrations/ package yet",
    ]
    project.core("makemigrations", "--name", "initial", env=env)
    clean = project.core("check", "--no-database", env=env)
    assert clean.stdout.strip() == (
        "No issues: the migration files match the models (database not checked)."
    )

    project.write_models(shop_extra=SHOP_CHANGE)
    changed = project.core("check", "--offline", ok=False, env=env)
    assert changed.returncode == 1
    assert lines(changed.stdout) == [
        "Models have changes without a migration (run `core makemigrations`):",
        "  - Add field sku to Product",
        "  - Add field stock to Product",
    ]
    assert not project.sqlite_path.exists()
    # Without the flag the same command needs its database.
    online = project.core("check", ok=False, env=env)
    assert "Error: cannot connect to postgres database 'shop'" in online.stderr


@pytest.mark.db
def test_a_database_never_migrated_says_to_run_migrate(project: ProjectDir) -> None:
    project.core("makemigrations", "--name", "initial")
    result = project.core(
        "createsuperuser", "--email", "root@example.com", "--password", "Passw0rdOK", ok=False
    )
    assert result.returncode == 1
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1
    assert {
        "sqlite": "no such table: users",
        "postgres": 'relation "users" does not exist',
        "mysql": "Table '",
    }[project.dialect] in error
    assert error.endswith(
        "the database schema is behind the models: run `core migrate` "
        "(and first `core makemigrations` if you changed a model)"
    )
