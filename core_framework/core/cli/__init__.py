"""The `core` command line: project scaffolding, the dev server and migrations."""

from __future__ import annotations

import os
import sys

import rich_click as click

from core import DISTRIBUTION
from core.cli.migrate_commands import MIGRATION_COMMANDS
from core.cli.project_commands import PROJECT_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    None,  # read from the installed package's metadata, like `pip show core-framework`
    "--version",
    "-V",
    package_name=DISTRIBUTION,
    prog_name=DISTRIBUTION,
    message="%(prog)s %(version)s",
)
@click.option("--traceback", is_flag=True, help="Show the full traceback when a command fails.")
def cli(traceback: bool) -> None:
    """Core Framework: Django-style productivity on FastAPI."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # the project's `src.apps...` and `migrations` packages


for _command in (*PROJECT_COMMANDS, *MIGRATION_COMMANDS):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli()
