"""The `core` command line: project scaffolding, the dev server and migrations."""

from __future__ import annotations

import rich_click as click

from core import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="core")
def cli() -> None:
    """Core Framework: Django-style productivity on FastAPI."""


def main() -> None:
    """Console-script entry point."""
    cli()
