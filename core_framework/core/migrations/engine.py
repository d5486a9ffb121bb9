"""`core makemigrations/migrate/...` on Tortoise's native migration engine.

Tortoise's loader, graph, autodetector, writer, recorder and schema editors do the work. The
one thing done differently from `tortoise.migrations.api.migrate` is how each migration is
run: under a database lock (see `core.migrations.locking`) and, where DDL is transactional,
in one transaction together with its row in the history table, so two processes never apply
a migration twice and a failed migration leaves nothing behind.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from tortoise.apps import Apps
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext, require_context
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.exceptions import IncompatibleStateError
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.migrations.graph import MigrationKey
from tortoise.migrations.migration import Migration as TortoiseMigration
from tortoise.migrations.operations import AddField, CreateModel
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State
from tortoise.migrations.writer import MigrationWriter, format_migration_name

from core.adapters.tortoise import create_table_sql, migration_plan, run_schema_sql
from core.db.connection import connect
from core.db.schema import drop_all_tables
from core.migrations import partial
from core.migrations.base import (
    CheckReport,
    ConfirmNotNull,
    MigrationStatus,
    NotNullAddition,
    Progress,
)
from core.migrations.checksums import (
    drift,
    file_checksum,
    forget_checksum,
    record_checksum,
    recorded_checksums,
)
from core.migrations.editors import core_editor_class
from core.migrations.exceptions import MigrationError
from core.migrations.locking import locked_transaction, runs_in_transaction, session_lock
from core.migrations.project import Project

_NUMBER = re.compile(r"^(\d{4})_")

EMPTY_MIGRATION = '''"""{title}"""

from core.migrations import Migration


class Migration{number:04d}(Migration):
    dependencies = [{dependencies}]

    operations = []
'''


def not_null_additions(writer: MigrationWriter) -> list[NotNullAddition]:
    """The AddField operations of a migration writer that existing rows can't satisfy."""
    created = {op.name for op in writer.operations if isinstance(op, CreateModel)}
    found = []
    for operation in writer.operations:
        if not isinstance(operation, AddField) or operation.model_name in created:
            continue  # a table created by the same migration has no rows yet
        column = operation.field
        if getattr(column, "null", True) or getattr(column, "pk", False):
            continue
        if getattr(column, "default", None) is not None or getattr(column, "generated", False):
            continue
        if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False):
            continue  # filled by the ORM on save, but still NOT NULL without a DB default
        found.append(NotNullAddition(operation.model_name, operation.name, writer.name))
    return found


class MigrationEngine(Protocol):
    """What the CLI needs from a migration engine (Tortoise's native one, or Aerich)."""

    async def makemigrations(
        self, name: str | None = None, empty: bool = False, confirm: ConfirmNotNull | None = None
    ) -> list[Path]: ...
    async def migrate(self, progress: Progress | None = None) -> list[str]: ...
    async def rollback(self, progress: Progress | None = None) -> str | None: ...
    async def migrate_to(self, target: str, progress: Progress | None = None) -> list[str]: ...
    async def showmigrations(self) -> list[MigrationStatus]: ...
    async def check(self) -> CheckReport: ...
    async def check_offline(self) -> CheckReport: ...
    async def sqlmigrate(self, name: str, backward: bool = False) -> list[str]: ...
    async def reset(self, progress: Progress | None = None) -> list[str]: ...


def get_engine(project: Project | None = None) -> MigrationEngine:
    """The engine `Settings.migrations_engine` names, for `project` (default: the cwd's)."""
    project = project or Project.current()
    if project.settings.migrations_engine == "aerich":
        from core.migrations.aerich import AerichEngine

        return AerichEngine(project)
    return TortoiseEngine(project)


def _emit(progress: Progress | None, event: str, name: str) -> None:
    if progress is not None:
        progress(event, name)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Executor(MigrationExecutor):
    """Tortoise's executor with core's schema editors (see `core.migrations.editors`)."""

    def _schema_editor(self, atomic: bool = True, collect_sql: bool = False) -> BaseSchemaEditor:
        native = type(super()._schema_editor(atomic=atomic, collect_sql=collect_sql))
        return core_editor_class(native)(self.connection, atomic=atomic, collect_sql=collect_sql)

    def editor_for(self, db: BaseDBAsyncClient, *, in_transaction: bool) -> BaseSchemaEditor:
        """A schema editor running on `db` (the step's transaction, or the plain connection)."""
        editor = self._schema_editor(atomic=in_transaction)
        editor.client = db
        return editor

    def full_plan(self) -> list[MigrationKey]:
        """Every migration on disk, dependencies first."""
        return self._full_plan()

    async def state_of(self, applied: set[MigrationKey], upto: MigrationKey | None = None) -> State:
        """The models as the applied migrations (those before `upto`) leave them."""
        return await self._project_state(applied, upto=upto)


class _NoHistory(MigrationRecorder):
    """A recorder that reports nothing applied without touching the database (`sqlmigrate`)."""

    def __init__(self) -> None:
        super().__init__(connection=None)

    async def applied_migrations(self) -> list[MigrationKey]:
        return []


@asynccontextmanager
async def _reading_migrations(module: str) -> AsyncIterator[None]:
    """Report what is wrong with the migration files (unknown dependency, ...) as a MigrationError."""
    try:
        yield
    except (ValueError, IncompatibleStateError) as exc:
        raise MigrationError(f"{module}/: {_one_line(exc)}") from exc


class TortoiseEngine:
    """Migrations with Tortoise's native engine; one app (`models`), the project's package."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.app_label = project.app_label

    # ORM lifetime -------------------------------------------------------------------------

    @asynccontextmanager
    async def _database(self) -> AsyncIterator[BaseDBAsyncClient]:
        """The ORM started on the project's database (checked reachable), closed afterwards."""
        self.project.activate()
        settings = self.project.settings
        async with connect(
            settings.database_url, models=self.project.model_modules(), settings=settings
        ) as db:
            yield db

    @asynccontextmanager
    async def _offline(self) -> AsyncIterator[BaseDBAsyncClient]:
        """The ORM's models and a client that never connects (makemigrations, sqlmigrate)."""
        self.project.activate()
        async with TortoiseContext() as context:
            await context.init(config=self.project.tortoise_config(), init_connections=False)
            yield context.db()

    def _executor(self, db: BaseDBAsyncClient) -> Executor:
        return Executor(db, self.project.apps_config())

    def _detector(self) -> MigrationAutodetector:
        apps = require_context().apps
        assert isinstance(apps, Apps)
        return MigrationAutodetector(apps, self.project.apps_config())

    # Commands --------------------------------------------------------------------------------

    async def makemigrations(
        self, name: str | None = None, empty: bool = False, confirm: ConfirmNotNull | None = None
    ) -> list[Path]:
        """Write migrations for the models' changes (or an empty one); [] when nothing changed.

        `confirm` is shown the NOT NULL columns without a default the changes add to existing
        tables (which `migrate` can't fill); when it answers False nothing is written.
        """
        self.project.ensure_migrations_package()
        async with self._offline():
            detector = self._detector()
            if empty:
                return [await self._write_empty(detector, name)]
            async with _reading_migrations(self.project.migrations_module):
                writers = await detector.changes()
            for writer in writers:
                if name:
                    match = _NUMBER.match(writer.name)
                    writer.name = format_migration_name(int(match.group(1)) if match else 1, name)
            risky = [addition for writer in writers for addition in not_null_additions(writer)]
            if risky and confirm is not None and not confirm(risky):
                return []
            paths = [writer.write() for writer in writers]
            return paths

    async def _write_empty(self, detector: MigrationAutodetector, name: str | None) -> Path:
        async with _reading_migrations(self.project.migrations_module):
            await detector.loader.build_graph()
        graph = detector.loader.graph
        numbers = [
            int(match.group(1))
            for key in graph.nodes
            if key.app_label == self.app_label and (match := _NUMBER.match(key.name))
        ]
        number = max(numbers, default=0) + 1
        filename = format_migration_name(number, name or "custom")
        leaves = graph.leaf_nodes(self.app_label)
        path = self.project.migrations_path / f"{filename}.py"
        path.write_text(
            EMPTY_MIGRATION.format(
                title=f"Hand-written migration {filename}.",
                number=number,
                dependencies=", ".join(f'"{key.name}"' for key in leaves),
            ),
            encoding="utf-8",
        )
        return path

    async def migrate(self, progress: Progress | None = None) -> list[str]:
        """Apply every unapplied migration, each atomically; the names applied here."""
        if not self.project.has_migrations():
            return []
        async with self._database() as db:
            return await self._migrate(db, progress)

    async def _migrate(
        self,
        db: BaseDBAsyncClient,
        progress: Progress | None,
        only: set[MigrationKey] | None = None,
    ) -> list[str]:
        executor = self._executor(db)
        pending = await self._pending(executor)
        if only is not None:  # `migrate <target>`: the target and what it depends on
            pending = [m for m in pending if MigrationKey(m.app_label, m.name) in only]
        for problem in await self._drift(executor, db):
            _emit(progress, "drift", problem)
        applied_here: list[str] = []
        state: State | None = None
        for migration in pending:
            key = MigrationKey(app_label=migration.app_label, name=migration.name)
            async with self._step(executor, db, migration, "apply") as (client, applied):
                if key in applied:  # another process got there first
                    _emit(progress, "skip", key.name)
                    state = None
                    continue
                if state is None:
                    state = await executor.state_of(applied)
                _emit(progress, "apply", key.name)
                partly = await partial.read(client)
                if key.name in partly:
                    raise MigrationError(partial.refusal(key.name, partly[key.name]))
                editor = executor.editor_for(client, in_transaction=client is not db)
                if client is db:  # no transaction: undo what ran if a later operation fails
                    await partial.apply_or_undo(migration, state, editor)
                else:
                    await migration.apply(state, schema_editor=editor)
                await MigrationRecorder(client).record_applied(key.app_label, key.name)
                path = self.project.migrations_path / f"{key.name}.py"
                if path.is_file():
                    await record_checksum(client, key.app_label, key.name, file_checksum(path))
            _emit(progress, "applied", key.name)
            applied_here.append(key.name)
        if not applied_here and not executor.loader.applied_migrations:
            return applied_here
        async with session_lock(db):  # applied before checksums existed: record them as they are
            history = await MigrationRecorder(db).applied_migrations()
            recorded = await recorded_checksums(db, self.app_label)
            for key in history:
                path = self.project.migrations_path / f"{key.name}.py"
                if key.app_label == self.app_label and key.name not in recorded and path.is_file():
                    await record_checksum(db, key.app_label, key.name, file_checksum(path))
        return applied_here

    async def rollback(self, progress: Progress | None = None) -> str | None:
        """Revert the last applied migration only; its name, or None when none is applied."""
        if not self.project.has_migrations():
            return None
        async with self._database() as db:
            executor = self._executor(db)
            await self._load(executor)
            target = self._last_applied(executor, executor.loader.applied_migrations)
            if target is None:
                return None
            self._refuse_one_way([target], executor)

            def still_last(applied: set[MigrationKey]) -> bool:
                return self._last_applied(executor, applied) == target

            await self._unapply(executor, db, target, progress, still_last)
            return target.name

    def _refuse_one_way(self, keys: list[MigrationKey], executor: Executor) -> None:
        """Raise before anything runs if one of `keys` has an operation with no reverse."""
        for key in keys:
            migration = executor.loader.graph.nodes[key]
            assert migration is not None
            one_way = [op.describe() for op in migration.operations if not op.reversible]
            if one_way:
                raise MigrationError(
                    f"{key.name} cannot be rolled back: {'; '.join(one_way)} has no reverse "
                    "(give RunSQL reverse_sql= / RunPython reverse_code=)"
                )

    async def _unapply(
        self,
        executor: Executor,
        db: BaseDBAsyncClient,
        target: MigrationKey,
        progress: Progress | None,
        still_due: Callable[[set[MigrationKey]], bool],
    ) -> None:
        """Revert one applied migration under the lock; `still_due(applied)` re-checks it there."""
        migration = executor.loader.graph.nodes[target]
        assert migration is not None
        async with self._step(executor, db, migration, "roll back") as (client, applied):
            if not still_due(applied):
                raise MigrationError(
                    "another process changed the applied migrations meanwhile; run it again"
                )
            _emit(progress, "rollback", target.name)
            state = await executor.state_of(applied, upto=target)
            editor = executor.editor_for(client, in_transaction=client is not db)
            await migration.unapply(state, schema_editor=editor)
            await MigrationRecorder(client).record_unapplied(target.app_label, target.name)
            await forget_checksum(client, target.app_label, target.name)
        _emit(progress, "rolled_back", target.name)

    async def migrate_to(self, target: str, progress: Progress | None = None) -> list[str]:
        """Migrate forwards or backwards to `target`, as Django's `migrate <app> <name>`.

        `target` is a migration's name or a unique prefix of it (`0002`), or `zero` to revert
        every migration. Forwards applies it and what it depends on; backwards reverts every
        applied migration that depends on it, newest first. The names applied or reverted.
        """
        if not self.project.has_migrations():
            raise MigrationError(
                f"there is no {self.project.migrations_module}/ package: nothing to migrate to"
            )
        async with self._database() as db:
            executor = self._executor(db)
            await self._load(executor)
            key = self._target_key(executor, target)
            applied = set(executor.loader.applied_migrations)
            name = "__first__" if key is None else key.name
            goal = [MigrationTarget(app_label=self.app_label, name=name)]
            steps = migration_plan(executor, applied, goal)
            if not any(step.backward for step in steps):
                keys = {MigrationKey(s.migration.app_label, s.migration.name) for s in steps}
                return await self._migrate(db, progress, only=keys) if keys else []
            backward = [MigrationKey(s.migration.app_label, s.migration.name) for s in steps]
            self._refuse_one_way(backward, executor)
            for step_key in backward:

                def still_applied(now: set[MigrationKey], key: MigrationKey = step_key) -> bool:
                    return key in now

                await self._unapply(executor, db, step_key, progress, still_applied)
            return [key.name for key in backward]

    def _target_key(self, executor: Executor, target: str) -> MigrationKey | None:
        """The migration `target` names (exactly, or by a unique prefix); None for `zero`."""
        if target == "zero":
            return None
        names = [key.name for key in executor.full_plan() if key.app_label == self.app_label]
        matches = [name for name in names if name == target] or [
            name for name in names if name.startswith(target)
        ]
        if len(matches) == 1:
            return MigrationKey(app_label=self.app_label, name=matches[0])
        where = f"{self.project.migrations_module}/"
        if matches:
            raise MigrationError(
                f"{target!r} matches several migrations in {where}: {', '.join(matches)}; "
                "give more of the name"
            )
        available = ", ".join([*names, "zero"]) if names else "none"
        raise MigrationError(f"no migration named {target!r} in {where}; available: {available}")

    async def _load(self, executor: Executor) -> None:
        """Read the migration files and the history table."""
        async with _reading_migrations(self.project.migrations_module):
            await executor.loader.build_graph()

    async def _pending(self, executor: Executor) -> list[TortoiseMigration]:
        """The unapplied migrations, dependencies first."""
        await self._load(executor)
        applied = set(executor.loader.applied_migrations)
        steps = migration_plan(executor, applied)
        return [step.migration for step in steps if not step.backward]

    def _last_applied(self, executor: Executor, applied: set[MigrationKey]) -> MigrationKey | None:
        """The applied migration no other applied one depends on (the latest, in plan order)."""
        nodes = executor.loader.graph.nodes
        missing = sorted(
            k.name for k in applied if k.app_label == self.app_label and k not in nodes
        )
        if missing:
            raise MigrationError(
                f"applied migration(s) {', '.join(missing)} are not in "
                f"{self.project.migrations_module}/; restore them before rolling back"
            )
        for key in reversed(executor.full_plan()):
            if key in applied:
                return key
        return None

    @asynccontextmanager
    async def _step(
        self, executor: Executor, db: BaseDBAsyncClient, migration: TortoiseMigration, verb: str
    ) -> AsyncIterator[tuple[BaseDBAsyncClient, set[MigrationKey]]]:
        """Hold the migration lock (in one transaction where possible); yield the client to run
        on and the migrations applied at that moment. Failures become one MigrationError."""
        transactional = runs_in_transaction(db, migration.atomic)
        try:
            if transactional:
                async with locked_transaction(db) as txn:
                    yield txn, await self._history(executor, txn)
            else:
                async with session_lock(db):
                    yield db, await self._history(executor, db)
        except MigrationError:
            raise
        except Exception as failure:
            exc: BaseException = failure
            if isinstance(failure, partial.Outcome):
                outcome, exc = failure.outcome, failure.error
            elif transactional:
                outcome = f"nothing of it was {'reverted' if verb == 'roll back' else 'applied'}"
            else:
                outcome = "it ran outside a transaction: check the database"
            raise MigrationError(
                f"could not {verb} {migration.name} ({outcome}): {_one_line(exc)}"
            ) from exc

    @staticmethod
    async def _history(executor: Executor, db: BaseDBAsyncClient) -> set[MigrationKey]:
        """Create the history table if needed (inside the step) and read it."""
        recorder = MigrationRecorder(db)
        editor = executor.editor_for(db, in_transaction=True)
        table_sql = create_table_sql(editor, recorder.model)
        await run_schema_sql(
            editor, table_sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
        )
        return set(await recorder.applied_migrations())

    async def showmigrations(self) -> list[MigrationStatus]:
        """Every migration, dependencies first, applied or not (plus applied ones not on disk)."""
        if not self.project.has_migrations():
            return []
        async with self._database() as db:
            executor = self._executor(db)
            await self._load(executor)
            applied = executor.loader.applied_migrations
            partly = await partial.read(db)
            statuses = [
                MigrationStatus(k.name, k in applied, partly=partly.get(k.name))
                for k in executor.full_plan()
            ]
            nodes = executor.loader.graph.nodes
            statuses += [
                MigrationStatus(k.name, True, on_disk=False)
                for k in sorted(applied)
                if k.app_label == self.app_label and k not in nodes
            ]
            return statuses

    async def check(self) -> CheckReport:
        """Model changes without a migration and unapplied migrations; writes nothing."""
        if not self.project.has_migrations():
            return CheckReport(
                changes=[f"there is no {self.project.migrations_module}/ package yet"]
            )
        async with self._database() as db:
            async with _reading_migrations(self.project.migrations_module):
                writers = await self._detector().changes()
            changes = [op.describe() for writer in writers for op in writer.operations]
            executor = self._executor(db)
            pending = [migration.name for migration in await self._pending(executor)]
            partly = await partial.read(db)
            drifted = await self._drift(executor, db)
            return CheckReport(
                changes=changes,
                pending=[name for name in pending if name not in partly],
                partly=[partial.describe(name, partly[name]) for name in pending if name in partly],
                drifted=drifted,
            )

    async def check_offline(self) -> CheckReport:
        """Model changes without a migration, from the models and migration files alone.

        No database is opened (`core check --no-database`, for CI); unapplied migrations
        can't be known without one and are not reported.
        """
        if not self.project.has_migrations():
            return CheckReport(
                changes=[f"there is no {self.project.migrations_module}/ package yet"]
            )
        async with self._offline():
            async with _reading_migrations(self.project.migrations_module):
                writers = await self._detector().changes()
            return CheckReport(changes=[op.describe() for w in writers for op in w.operations])

    async def running_report(self, db: BaseDBAsyncClient, *, changes: bool) -> CheckReport:
        """Unapplied migrations (and with `changes`, model changes without a migration) for
        an app whose ORM runs on `db`: its startup check. Reads only; creates no table."""
        pending: list[str] = []
        found: list[str] = []
        async with _reading_migrations(self.project.migrations_module):
            if changes:
                writers = await self._detector().changes()
                found = [op.describe() for writer in writers for op in writer.operations]
            executor = self._executor(db)
            pending = [migration.name for migration in await self._pending(executor)]
        return CheckReport(changes=found, pending=pending)

    async def _drift(self, executor: Executor, db: BaseDBAsyncClient) -> list[str]:
        """Applied migrations edited or deleted since they ran; reads only.

        Call after `_pending` or `_load` (the loader has read the history).
        """
        applied = [
            key.name
            for key in executor.loader.applied_migrations
            if key.app_label == self.app_label
        ]
        recorded = await recorded_checksums(db, self.app_label, create=False)
        return drift(applied, self.project.migrations_path, recorded)

    async def sqlmigrate(self, name: str, backward: bool = False) -> list[str]:
        """The SQL of one migration (name or unique prefix), without touching the database."""
        if not self.project.has_migrations():
            raise MigrationError(f"there is no {self.project.migrations_module}/ package")
        async with self._offline() as db:
            executor = self._executor(db)
            executor.loader.recorder = _NoHistory()
            try:
                return await executor.collect_sql(self.app_label, name, backward=backward)
            except ValueError as exc:
                raise MigrationError(_one_line(exc)) from None

    async def reset(self, progress: Progress | None = None) -> list[str]:
        """Drop every table of the database, then apply all migrations."""
        async with self._database() as db:
            await drop_all_tables(db)
            if not self.project.has_migrations():
                return []
            return await self._migrate(db, progress)
