"""`MIGRATIONS_ENGINE=aerich`: the migration commands over Aerich, for projects with its history.

Aerich's `Command` and `Migrate` write and read the migration files (`<MIGRATIONS_DIR>/models/
N_<timestamp>_<name>.py`, each an `upgrade(db)`/`downgrade(db)` returning SQL) and diff the
models; `aerich.models` joins the project's models so its `aerich` history table exists.
Applying and reverting are done here, like the native engine does: one version per step under
the migration lock, in one transaction with its `aerich` row. On SQLite the script is split
into statements, because Aerich's `execute_script` would COMMIT halfway (sqlite3's
`executescript` commits first), leaving a failed upgrade half-applied.

Aerich keeps its state on classes (`Migrate.app`, `Migrate._last_version_content`, ...), so a
process runs one command (the CLI does).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from core.db.config import build_tortoise_config
from core.db.connection import is_connection_error, unavailable_message
from core.db.schema import dialect_of, drop_all_tables
from core.db.urls import parse_database_url
from core.exceptions import DatabaseUnavailable
from core.migrations.base import CheckReport, ConfirmNotNull, MigrationStatus, Progress
from core.migrations.exceptions import MigrationError
from core.migrations.locking import (
    locked_transaction,
    runs_in_transaction,
    session_lock,
)
from core.migrations.project import Project
from core.migrations.sqlite import split_statements

if TYPE_CHECKING:
    from aerich import Command

AERICH_MODELS = "aerich.models"


def _require_aerich() -> None:
    try:
        import aerich  # noqa: F401
    except ImportError:
        from core.extras import install_hint

        raise MigrationError(
            f"MIGRATIONS_ENGINE=aerich needs the aerich package: {install_hint('aerich')}"
        ) from None


async def _run_script(db: BaseDBAsyncClient, script: str) -> None:
    if dialect_of(db) == "sqlite":
        for statement in split_statements(script):
            await db.execute_query(statement)
    elif script.strip():
        await db.execute_script(script)


async def _has_history_table(db: BaseDBAsyncClient) -> bool:
    """Whether Aerich's `aerich` table exists (asked without failing, which would end a
    PostgreSQL transaction)."""
    dialect = dialect_of(db)
    if dialect == "sqlite":
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'aerich'"
    elif dialect == "postgres":
        sql = "SELECT 1 WHERE to_regclass('aerich') IS NOT NULL"
    else:
        sql = (
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = 'aerich'"
        )
    return bool(await db.execute_query_dict(sql))


def _mysql_tables_like_create_schema() -> None:
    """Aerich's MySQL DDL with the framework's table options and comment quoting.

    Aerich generates MySQL tables with Tortoise's stock generator: the server's default
    collation, and comments escaped with backslashes that its migration files (Python string
    literals) then lose, so a docstring with an apostrophe became invalid SQL.
    """
    from aerich.ddl.mysql import MysqlDDL

    from core.db.mysql_schema import CollatedSchemaGenerator

    MysqlDDL.schema_generator_cls = CollatedSchemaGenerator
    # Aerich prints a warning on every command unless told which RENAME COLUMN syntax to use;
    # MySQL 8 and MariaDB 10.5+ share the modern one, Aerich's default.
    os.environ.setdefault("AERICH_MYSQL_VERSION", "8.0")


class AerichEngine:
    """The `MigrationEngine` for projects that keep an Aerich migration history."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.app = project.app_label

    def _config(self) -> dict[str, Any]:
        models = self.project.model_modules()
        if AERICH_MODELS not in models:
            models.append(AERICH_MODELS)
        return build_tortoise_config(models=models, settings=self.project.settings)

    @property
    def location(self) -> Path:
        """Aerich's directory for the app: `<MIGRATIONS_DIR>/models`."""
        return self.project.root / self.project.settings.migrations_dir / self.app

    @asynccontextmanager
    async def _command(self, *, offline: bool = False) -> AsyncIterator[Command]:
        """Aerich's `Command`, initialised (offline: the last file is the baseline), closed after."""
        _require_aerich()
        from aerich import Command

        self.project.activate()
        if parse_database_url(self.project.settings.database_url).dialect == "mysql":
            _mysql_tables_like_create_schema()
        location = str(self.project.root / self.project.settings.migrations_dir)
        command = Command(self._config(), app=self.app, location=location)
        try:
            try:
                await command.init(offline=offline)
            except Exception as exc:
                if is_connection_error(exc):
                    url = self.project.settings.database_url
                    raise DatabaseUnavailable(unavailable_message(url, exc)) from exc
                raise
            yield command
        finally:
            await Tortoise.close_connections()

    def _client(self) -> BaseDBAsyncClient:
        from aerich.utils import get_app_connection

        return get_app_connection(self._config(), self.app)

    @staticmethod
    def _versions() -> list[str]:
        from aerich.migrate import Migrate

        return Migrate.get_all_version_files()

    @staticmethod
    def _module(version: str) -> ModuleType:
        from aerich.migrate import Migrate
        from aerich.utils import file_module_info, import_py_module

        return import_py_module(file_module_info(Migrate.migrate_location, Path(version).stem))

    async def _applied(self, db: BaseDBAsyncClient) -> list[str]:
        """Applied versions, oldest first."""
        from aerich.models import Aerich

        if not await _has_history_table(db):
            return []
        rows = (
            await Aerich.filter(app=self.app)
            .using_db(db)
            .order_by("id")
            .values_list("version", flat=True)
        )
        return [str(version) for version in rows]

    # Commands ------------------------------------------------------------------------------

    async def makemigrations(
        self, name: str | None = None, empty: bool = False, confirm: ConfirmNotNull | None = None
    ) -> list[Path]:
        """Aerich's `init-migrations` for the first file, then `migrate` (diffing the last file).

        `confirm` is not asked: Aerich's diff is SQL text, not operations to inspect.
        """
        _require_aerich()
        from aerich import Command

        if not self._has_versions():
            self.project.activate()
            location = str(self.project.root / self.project.settings.migrations_dir)
            try:
                await Command(self._config(), app=self.app, location=location).init_migrations(
                    safe=True
                )
            finally:
                await Tortoise.close_connections()
            return sorted(self.location.glob("0_*.py"))
        async with self._command(offline=True) as command:
            version = await command.migrate(
                name or "update", empty=empty, no_input=True, offline=True
            )
        return [self.location / version] if version else []

    async def migrate(self, progress: Progress | None = None) -> list[str]:
        async with self._command() as _:
            return await self._upgrade(self._client(), progress)

    async def _upgrade(self, db: BaseDBAsyncClient, progress: Progress | None) -> list[str]:
        from aerich.models import Aerich
        from aerich.utils import decompress_dict, get_models_describe

        done: list[str] = []
        applied = set(await self._applied(db))
        for version in [v for v in self._versions() if v not in applied]:
            module = self._module(version)
            in_transaction = runs_in_transaction(db, getattr(module, "RUN_IN_TRANSACTION", True))
            async with self._step(db, version, "apply", in_transaction) as client:
                if version in await self._applied(client):
                    if progress is not None:
                        progress("skip", version)
                    continue
                if progress is not None:
                    progress("apply", version)
                await _run_script(client, await module.upgrade(client))
                state = getattr(module, "MODELS_STATE", None)
                content = decompress_dict(state) if state else get_models_describe(self.app)
                await Aerich.create(version=version, app=self.app, content=content, using_db=client)
            if progress is not None:
                progress("applied", version)
            done.append(version)
        return done

    async def rollback(self, progress: Progress | None = None) -> str | None:
        from aerich.models import Aerich

        async with self._command():
            db = self._client()
            applied = await self._applied(db)
            if not applied:
                return None
            version = applied[-1]
            if version not in self._versions():
                raise MigrationError(f"applied migration {version} is missing from {self.location}")
            module = self._module(version)
            in_transaction = runs_in_transaction(db, getattr(module, "RUN_IN_TRANSACTION", True))
            async with self._step(db, version, "roll back", in_transaction) as client:
                current = await self._applied(client)
                if not current or current[-1] != version:
                    raise MigrationError(
                        "another process changed the applied migrations meanwhile; run it again"
                    )
                if progress is not None:
                    progress("rollback", version)
                script = await module.downgrade(client)
                if not script.strip():
                    raise MigrationError(f"{version} has no downgrade SQL")
                await _run_script(client, script)
                await Aerich.filter(app=self.app, version=version).using_db(client).delete()
            if progress is not None:
                progress("rolled_back", version)
            return version

    @asynccontextmanager
    async def _step(
        self, db: BaseDBAsyncClient, version: str, verb: str, in_transaction: bool
    ) -> AsyncIterator[BaseDBAsyncClient]:
        try:
            if in_transaction:
                async with locked_transaction(db) as txn:
                    yield txn
            else:
                async with session_lock(db):
                    yield db
        except MigrationError:
            raise
        except Exception as exc:
            done = "reverted" if verb == "roll back" else "applied"
            outcome = f"nothing of it was {done}" if in_transaction else "check the database"
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise MigrationError(f"could not {verb} {version} ({outcome}): {message}") from exc

    async def showmigrations(self) -> list[MigrationStatus]:
        async with self._command():
            applied = set(await self._applied(self._client()))
            versions = self._versions()
            statuses = [MigrationStatus(v, v in applied) for v in versions]
            statuses += [
                MigrationStatus(v, True, on_disk=False) for v in sorted(applied - set(versions))
            ]
            return statuses

    async def migrate_to(self, target: str, progress: Progress | None = None) -> list[str]:
        raise MigrationError(
            f"`core migrate {target}` needs MIGRATIONS_ENGINE=tortoise; with Aerich, revert one "
            "migration at a time with `core migrate --rollback`"
        )

    async def check_offline(self) -> CheckReport:
        """Model changes not in the migration files, without reading the database."""
        if not self._has_versions():
            return CheckReport(changes=[f"there are no Aerich migrations in {self.location} yet"])
        async with self._command(offline=True):
            return CheckReport(changes=self._model_changes())

    def _model_changes(self) -> list[str]:
        """Aerich's diff of the models against the last migration file, as one line each."""
        from aerich.migrate import Migrate
        from aerich.utils import get_models_describe

        last = Migrate._last_version_content or {}
        new = get_models_describe(self.app)
        last, new = Migrate._exclude_model_name_changes(last, new)
        Migrate.diff_models(last, new, no_input=True)
        Migrate.diff_models(new, last, False, no_input=True)
        Migrate._merge_operators()
        return [" ".join(op.split()) for op in Migrate.upgrade_operators]

    async def check(self) -> CheckReport:
        if not self._has_versions():
            return CheckReport(changes=[f"there are no Aerich migrations in {self.location} yet"])
        async with self._command(offline=True):
            changes = self._model_changes()
            applied = set(await self._applied(self._client()))
            pending = [v for v in self._versions() if v not in applied]
            return CheckReport(changes=changes, pending=pending)

    def _has_versions(self) -> bool:
        return self.location.is_dir() and any(self.location.glob("[0-9]*_*.py"))

    async def sqlmigrate(self, name: str, backward: bool = False) -> list[str]:
        async with self._command(offline=True):
            matches = [v for v in self._versions() if v == name or v.startswith(name)]
            if len(matches) != 1:
                found = "no" if not matches else "several"
                raise MigrationError(f"{found} Aerich migrations match {name!r}")
            module = self._module(matches[0])
            function = module.downgrade if backward else module.upgrade
            script = await function(self._client())
            return [f"-- {matches[0]}", *split_statements(script)]

    async def reset(self, progress: Progress | None = None) -> list[str]:
        async with self._command():
            db = self._client()
            await drop_all_tables(db)
            return await self._upgrade(db, progress)
