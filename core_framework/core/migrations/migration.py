"""`Migration`: Tortoise's migration class as the guide writes it (any class name, plain names)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tortoise.migrations.migration import Migration as TortoiseMigration

#: A dependency as written in a migration file: `"0001_initial"` or `("models", "0001_initial")`.
MigrationRef = str | tuple[str, str]


def migration_key(ref: MigrationRef, app_label: str) -> tuple[str, str]:
    """`("models", "0001_initial")` for `"0001_initial"`, `"models.0001_initial"` or the tuple."""
    if isinstance(ref, str):
        app, dot, name = ref.rpartition(".")
        return (app, name) if dot else (app_label, ref)
    app, name = ref
    return (str(app), str(name))


def _keys(refs: Iterable[MigrationRef], app_label: str) -> list[tuple[str, str]]:
    return [migration_key(ref, app_label) for ref in refs]


class Migration(TortoiseMigration):
    """Base class of a migration file, e.g. `class Migration0002(Migration)`.

    Tortoise's loader instantiates the module attribute named `Migration`; defining a subclass
    rebinds that name in its module to the subclass, so the class may have any name.
    `dependencies`, `run_before` and `replaces` may name migrations of the same app plainly.
    """

    dependencies: list[Any] = []  # list[MigrationRef]; Tortoise types it list[tuple[str, str]]
    run_before: list[Any] = []
    replaces: list[Any] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        module = sys.modules.get(cls.__module__)
        if module is not None and cls.__module__ != __name__:
            setattr(module, "Migration", cls)  # noqa: B010 - what the native loader looks up

    def __init__(self, name: str, app_label: str) -> None:
        super().__init__(name, app_label)
        self.dependencies = _keys(self.dependencies, app_label)
        self.run_before = _keys(self.run_before, app_label)
        self.replaces = _keys(self.replaces, app_label)
