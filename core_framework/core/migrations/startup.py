"""What an app says at startup about its migrations, so a forgotten one can't go unnoticed.

In DEBUG or ENVIRONMENT=development (`core run` of a new project) the app compares the
database with the project's migrations and models, as Django's `runserver` does: unapplied
migrations, model changes without a migration, and on SQLite model columns missing from the
tables. Each problem is one warning on the `core.migrations` logger naming the command to run;
nothing is said when all is in order. Elsewhere (production, testing) only the cheap part runs,
unapplied migrations (the migration files and one read of the history table), logged the same
way.

On SQLite, where a missing column would otherwise be read as its own name (see
`core.db.sqlite.strict_identifiers`), an interpreter that can't turn that off gets the column
check in every mode, and a missing column stops the app from starting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from tortoise.apps import Apps
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext

from core.config import Settings
from core.db.sqlite import strict_identifiers_available
from core.db.urls import parse_database_url
from core.exceptions import ImproperlyConfigured

logger = logging.getLogger("core.migrations")

MAKEMIGRATIONS = "run `core makemigrations`, then `core migrate`"

#: Set while an app starts on tables about to be made from the models (`app_client`).
_schema_from_models: ContextVar[bool] = ContextVar("schema_from_models", default=False)


@contextmanager
def schema_from_models() -> Iterator[None]:
    """Apps started in this block get their tables from the models: nothing to check."""
    token = _schema_from_models.set(True)
    try:
        yield
    finally:
        _schema_from_models.reset(token)


def _is_project(root: Path) -> bool:
    """Whether `root` is a `core init` project (`src/main.py` or `src/apps/`)."""
    return (root / "src" / "main.py").is_file() or (root / "src" / "apps").is_dir()


async def check_migrations_at_startup(
    context: TortoiseContext,
    settings: Settings,
    database_url: str,
    *,
    debug: bool,
    create_schema: bool,
) -> None:
    """Warn (log) about unapplied or missing migrations; see the module's docstring."""
    if create_schema or _schema_from_models.get():
        return  # the tables are made from the models: no migration to compare with
    db = context.db()
    thorough = debug or settings.is_development
    sqlite = parse_database_url(database_url).dialect == "sqlite"
    guard_columns = sqlite and not strict_identifiers_available()
    project = _is_project(Path.cwd())
    warned = project and await _warn_about_migrations(settings, db, changes=thorough)
    if sqlite and ((project and thorough and not warned) or guard_columns):
        missing = await missing_sqlite_columns(db, context.apps)
        if not missing:
            return
        message = f"the database lacks columns of the models: {_some(missing)}; {MAKEMIGRATIONS}"
        if guard_columns:  # SQLite would read each missing column as its own name
            raise ImproperlyConfigured(message)
        logger.warning("%s.", message[0].upper() + message[1:])


async def _warn_about_migrations(settings: Settings, db: BaseDBAsyncClient, changes: bool) -> bool:
    """Log unapplied migrations (and with `changes`, model changes without one); True if any."""
    from core.migrations.engine import TortoiseEngine
    from core.migrations.exceptions import MigrationError
    from core.migrations.project import Project

    if settings.migrations_engine != "tortoise":
        return False
    project = Project(Path.cwd().resolve(), settings)
    if not project.has_migrations():
        if changes:
            logger.warning(
                "This project has no %s/ package yet: %s.",
                project.migrations_module,
                MAKEMIGRATIONS,
            )
        return changes
    try:
        report = await TortoiseEngine(project).running_report(db, changes=changes)
    except MigrationError as exc:
        logger.warning("Could not read the migrations: %s (see `core check`).", exc)
        return True
    if report.pending:
        count = len(report.pending)
        logger.warning(
            "You have %d unapplied migration%s: %s. The API may fail until %s applied: "
            "run `core migrate`.",
            count,
            "" if count == 1 else "s",
            _some(report.pending),
            "it is" if count == 1 else "they are",
        )
    if report.changes:
        logger.warning(
            "Your models have changes that are not in %s/ yet: %s. %s.",
            project.migrations_module,
            _some(report.changes, "; "),
            MAKEMIGRATIONS[0].upper() + MAKEMIGRATIONS[1:],
        )
    return bool(report.pending or report.changes)


def _some(items: list[str], separator: str = ", ", shown: int = 5) -> str:
    """The first `shown` items, and how many more (`core check` lists them all)."""
    text = separator.join(items[:shown])
    if len(items) > shown:
        text += f" (and {len(items) - shown} more: see `core check`)"
    return text


async def missing_sqlite_columns(db: BaseDBAsyncClient, apps: Apps | None) -> list[str]:
    """`table.column` of every model column (or `table` of every table) the SQLite file lacks."""
    missing: list[str] = []
    for model in apps.get_models_iterable() if apps is not None else ():
        meta = model._meta
        if meta.abstract or meta.default_connection not in (None, "default"):
            continue
        table = meta.db_table
        rows = await db.execute_query_dict(f'PRAGMA table_info("{table}")')
        if not rows:
            missing.append(f"{table} (the whole table)")
            continue
        present = {str(row["name"]) for row in rows}
        missing += [
            f"{table}.{column}"
            for column in meta.fields_db_projection.values()
            if column not in present
        ]
    return missing
