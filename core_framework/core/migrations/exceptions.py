"""Errors of the migration commands, reported as one line by the CLI."""

from __future__ import annotations


class MigrationError(RuntimeError):
    """A migration cannot be made, applied or reverted; the message says which and why."""
