"""`core makemigrations`, `migrate`, `showmigrations`, `check`, `reset_db` and `sqlmigrate`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import rich_click as click
from click import get_current_context
from click.exceptions import Abort

from core.cli.errors import fail, one_line_errors, run
from core.cli.guards import require_project
from core.db.urls import parse_database_url
from core.migrations.engine import MigrationEngine, NotNullAddition, get_engine
from core.migrations.project import Project


def _project() -> Project:
    """The working directory's project, once `require_project` has checked it is one."""
    require_project()
    return Project.current()


def _engine() -> MigrationEngine:
    return get_engine(_project())


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


class ProgressPrinter:
    """`Applying 0001_initial... OK`, one line per migration, closed cleanly on failure."""

    LABELS = {"apply": "Applying", "rollback": "Rolling back"}

    def __init__(self) -> None:
        self.open_line = False
        self.skipped = 0

    def __call__(self, event: str, name: str) -> None:
        if event in self.LABELS:
            click.echo(f"  {self.LABELS[event]} {name}...", nl=False)
            self.open_line = True
        elif event in ("applied", "rolled_back"):
            click.echo(" OK")
            self.open_line = False
        elif event == "skip":
            self.skipped += 1
            click.echo(f"  Skipping {name}: another process applied it")
        elif event == "drift":  # `name` is the whole problem: an applied file edited or gone
            click.echo(f"Warning: {name} (restore it from version control)", err=True)

    def close(self) -> None:
        if self.open_line:
            click.echo(" FAILED")
            self.open_line = False


NOT_NULL_FIX = (
    'Fix: give the field a default= (e.g. default=0 or default=""), or nullable=True; or add it '
    "with nullable=True, fill it in a migration (`core makemigrations --empty`), then drop nullable."
)


class NotNullQuestioner:
    """Warn about NOT NULL columns without a default; in a terminal, ask before writing them."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.refused = False

    def __call__(self, additions: list[NotNullAddition]) -> bool:
        for addition in additions:
            click.echo(
                f"Warning: {addition.describe()}: `core migrate` will fail on a table that has rows.",
                err=True,
            )
        click.echo(NOT_NULL_FIX, err=True)
        if not self.interactive:
            return True
        try:
            self.refused = not click.confirm("Write the migration anyway?", default=False, err=True)
        except Abort:
            click.echo(err=True)
            self.refused = True
        return not self.refused


@click.command()
@click.option("--name", "-n", help="Name of the migration file: NNNN_<name>.py.")
@click.option("--empty", is_flag=True, help="Write an empty migration to fill in by hand.")
@click.option(
    "--no-input",
    "--noinput",
    "no_input",
    is_flag=True,
    help="Ask nothing: write the migration, warning about NOT NULL fields without a default.",
)
@one_line_errors
def makemigrations(name: str | None, empty: bool, no_input: bool) -> None:
    """Write a migration for the changes in your models."""
    interactive = not no_input and sys.stdin.isatty()
    confirm = NotNullQuestioner(interactive)
    paths = run(_engine().makemigrations(name=name, empty=empty, confirm=confirm))
    if not paths:
        if confirm.refused:
            fail(
                "no migration written; change the model as above and run `core makemigrations` again"
            )
        click.echo("No changes detected")
    for path in paths:
        click.echo(f"Created {_shown(path)}")


@click.command()
@click.argument("target", required=False)
@click.option("--rollback", is_flag=True, help="Revert the last applied migration (only that one).")
@one_line_errors
def migrate(target: str | None, rollback: bool) -> None:
    """Apply every pending migration, each in its own transaction.

    With TARGET (a migration's name, or a unique prefix such as 0002), migrate forwards or
    backwards to it, as Django does: later applied migrations are reverted, newest first.
    `core migrate zero` reverts them all.
    """
    if target is not None and rollback:
        fail("give either a TARGET or --rollback, not both")
    printer = ProgressPrinter()
    try:
        if target is not None:
            done = run(_engine().migrate_to(target, printer))
            if not done and not printer.skipped:
                click.echo(f"Nothing to do: the database is already at {target}.")
        elif rollback:
            if run(_engine().rollback(printer)) is None:
                click.echo("No migrations to roll back.")
        elif not run(_engine().migrate(printer)) and not printer.skipped:
            click.echo("No migrations to apply.")
    finally:
        printer.close()


@click.command()
@one_line_errors
def showmigrations() -> None:
    """List the migrations: [X] applied, [ ] pending, [!] partly applied (MySQL)."""
    statuses = run(_engine().showmigrations())
    if not statuses:
        click.echo("No migrations.")
    for status in statuses:
        note = "" if status.on_disk else "  (applied, but its file is missing)"
        mark = "X" if status.applied else " "
        if status.partly:
            mark, note = "!", f"  (PARTLY APPLIED: {status.partly})"
        click.echo(f" [{mark}] {status.name}{note}")


@click.command()
@click.option(
    "--no-database",
    "--offline",
    "no_database",
    is_flag=True,
    help="Compare the models with the migration files only, opening no database (for CI).",
)
@one_line_errors
def check(no_database: bool) -> None:
    """Fail (exit 1) if models changed without a migration, or migrations are unapplied, partly
    applied, or edited since they ran. With --no-database: model changes without a migration."""
    engine = _engine()
    report = run(engine.check_offline() if no_database else engine.check())
    if report.ok:
        if no_database:
            click.echo("No issues: the migration files match the models (database not checked).")
        else:
            click.echo("No issues: models, migrations and database agree.")
        return
    sections = (
        ("Models have changes without a migration (run `core makemigrations`):", report.changes),
        ("Migrations not applied to the database (run `core migrate`):", report.pending),
        ("Migrations partly applied, to repair by hand (see `core migrate`):", report.partly),
        (
            "Applied migrations changed since they ran (restore them from version control):",
            report.drifted,
        ),
    )
    for heading, items in sections:
        if items:
            click.echo(heading)
            for item in items:
                click.echo(f"  - {item}")
    get_current_context().exit(1)


@click.command("reset_db")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@one_line_errors
def reset_db(yes: bool) -> None:
    """Drop every table of the database, then apply all migrations again."""
    project = _project()
    target = parse_database_url(project.settings.database_url).describe()
    if not yes:
        try:
            confirmed = click.confirm(
                f"This destroys all data in {target} and re-applies the migrations. Continue?",
                default=False,
            )
        except Abort:
            confirmed = False
            click.echo()
        if not confirmed:
            fail("reset_db not confirmed; nothing was dropped (use --yes to skip the question)")
    printer = ProgressPrinter()
    try:
        run(get_engine(project).reset(printer))
    finally:
        printer.close()
    click.echo(f"Reset {target}.")


@click.command()
@click.argument("name")
@click.option("--backward", is_flag=True, help="The SQL that reverts the migration instead.")
@one_line_errors
def sqlmigrate(name: str, backward: bool) -> None:
    """Print the SQL of migration NAME (a full name or a unique prefix such as 0002)."""
    project = _project()
    statements = run(get_engine(project).sqlmigrate(name, backward=backward))
    transactional = parse_database_url(project.settings.database_url).dialect in (
        "sqlite",
        "postgres",
    )
    if transactional:
        click.echo("BEGIN;")
    for statement in statements:
        text = statement.rstrip()
        click.echo(text if text.startswith("--") or text.endswith(";") else f"{text};")
    if transactional:
        click.echo("COMMIT;")


MIGRATION_COMMANDS: tuple[click.Command, ...] = (
    makemigrations,
    migrate,
    showmigrations,
    check,
    reset_db,
    sqlmigrate,
)
