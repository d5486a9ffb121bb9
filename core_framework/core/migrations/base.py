"""What every migration engine shares: the results and callbacks of its commands.

`engine.py` (Tortoise's native engine) and `aerich.py` both import from here and never from
each other at import time, so neither module's import depends on the other's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CheckReport", "ConfirmNotNull", "MigrationStatus", "NotNullAddition", "Progress"]

#: Called as `progress(event, migration_name)`; events: apply, applied, skip, rollback, rolled_back.
Progress = Callable[[str, str], object]


@dataclass(frozen=True)
class NotNullAddition:
    """A NOT NULL column without a default added to an existing table (fails on its rows)."""

    model: str
    field: str
    migration: str

    def describe(self) -> str:
        return (
            f"{self.migration} adds the NOT NULL field {self.field} to {self.model} with no default"
        )


#: Asked before writing migrations that add NOT NULL columns without a default; False: write none.
ConfirmNotNull = Callable[[list[NotNullAddition]], bool]


@dataclass(frozen=True)
class MigrationStatus:
    """One line of `core showmigrations`."""

    name: str
    applied: bool
    on_disk: bool = True
    #: Set when the migration failed halfway outside a transaction (MySQL): what ran.
    partly: str | None = None


@dataclass(frozen=True)
class CheckReport:
    """What `core check` found: model changes without a migration, unapplied migrations."""

    changes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    #: Migrations that failed halfway outside a transaction and need repair by hand.
    partly: list[str] = field(default_factory=list)
    #: Applied migrations whose file was edited or deleted since (checksums).
    drifted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changes and not self.pending and not self.partly and not self.drifted
