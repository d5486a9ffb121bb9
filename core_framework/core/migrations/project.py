"""The project a migration command works on: its root, settings, models and migrations package."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import Settings, get_settings
from core.db.config import APP_LABEL, build_tortoise_config, discover_model_modules, model_modules
from core.exceptions import ImproperlyConfigured

#: Top-level packages of a project (as opposed to installed ones) that commands import.
PROJECT_PACKAGES = ("src",)


@dataclass(frozen=True)
class Project:
    """A project directory: `src/apps/<app>/models.py`, a `migrations` package and `.env`.

    `Project.current()` is the working directory with the settings read from its `.env`.
    """

    root: Path
    settings: Settings = field(repr=False)

    @classmethod
    def current(cls, settings: Settings | None = None) -> Project:
        return cls(Path.cwd().resolve(), settings or get_settings())

    @property
    def app_label(self) -> str:
        return APP_LABEL

    @property
    def migrations_module(self) -> str:
        """`Settings.migrations_dir` as a module path (`migrations`, `db.migrations`)."""
        path = Path(self.settings.migrations_dir)
        if path.is_absolute():
            try:
                path = path.resolve().relative_to(self.root)
            except ValueError:
                raise ImproperlyConfigured(
                    f"MIGRATIONS_DIR {self.settings.migrations_dir!r} is outside the project"
                ) from None
        parts = [part for part in path.parts if part not in ("", ".")]
        if not parts or not all(part.isidentifier() for part in parts):
            raise ImproperlyConfigured(
                f"MIGRATIONS_DIR {self.settings.migrations_dir!r} must be a directory whose "
                "path is a Python module path (e.g. 'migrations')"
            )
        return ".".join(parts)

    @property
    def migrations_path(self) -> Path:
        return self.root.joinpath(*self.migrations_module.split("."))

    def has_migrations(self) -> bool:
        """Whether the migrations package exists (it is never imported from elsewhere)."""
        return self.migrations_path.is_dir()

    def ensure_migrations_package(self) -> Path:
        """Create the migrations directory and its `__init__.py` if missing."""
        path = self.migrations_path
        path.mkdir(parents=True, exist_ok=True)
        init = path / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
        importlib.invalidate_caches()
        return path

    def model_modules(self) -> list[str]:
        """`Settings.models`, else the project's `src/apps/*/models.py`; core's own first."""
        chosen = self.settings.models
        if chosen is None:
            chosen = discover_model_modules(self.root)
        return model_modules(self.settings, chosen)

    def tortoise_config(self) -> dict[str, Any]:
        return build_tortoise_config(
            models=self.model_modules(),
            settings=self.settings,
            migrations_module=self.migrations_module,
        )

    def apps_config(self) -> dict[str, dict[str, Any]]:
        """Tortoise's per-app config (one app, with its migrations module) for the engine."""
        apps: dict[str, dict[str, Any]] = self.tortoise_config()["apps"]
        return apps

    def activate(self) -> None:
        """Import from this project: its root first on `sys.path`, no stale modules.

        Modules of the migrations package are always dropped (files come and go between
        commands); the project's packages are dropped when they came from another directory.
        """
        root = str(self.root)
        if root in sys.path:
            sys.path.remove(root)
        sys.path.insert(0, root)
        migrations = self.migrations_module
        for name in list(sys.modules):
            top = name.split(".", 1)[0]
            if (
                name == migrations
                or name.startswith(migrations + ".")
                or (
                    top in (*PROJECT_PACKAGES, migrations.split(".", 1)[0])
                    and not self._owns(sys.modules[name])
                )
            ):
                del sys.modules[name]
        importlib.invalidate_caches()

    def _owns(self, module: Any) -> bool:
        paths = [getattr(module, "__file__", None), *list(getattr(module, "__path__", []) or [])]
        return any(path and Path(path).resolve().is_relative_to(self.root) for path in paths)
