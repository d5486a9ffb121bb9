"""Build Tortoise's configuration from Settings: the connection and the discovered model modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.config import Settings, get_settings
from core.db.urls import parse_database_url

#: The Tortoise app label every model lives in (one app, as in DESIGN.md).
APP_LABEL = "models"
#: The framework's own model modules, always installed.
CORE_MODEL_MODULES: tuple[str, ...] = ("core.auth.models", "core.throttling.models")


def discover_model_modules(project_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The project's `src/apps/*/models.py` as dotted module paths, in a stable order."""
    root = Path(project_dir or os.getcwd())
    apps_dir = root / "src" / "apps"
    if not apps_dir.is_dir():
        return []
    return [
        f"src.apps.{path.parent.name}.models"
        for path in sorted(apps_dir.glob("*/models.py"))
        if path.parent.name.isidentifier()
    ]


def model_modules(settings: Settings | None = None, models: list[str] | None = None) -> list[str]:
    """Explicit `models`, else `Settings.models`, else discovery; core's own models always."""
    settings = settings or get_settings()
    chosen = models if models is not None else settings.models
    if chosen is None:
        chosen = discover_model_modules()
    # Named, never imported here: the db layer sits below models and auth (Tortoise imports them).
    return [*CORE_MODEL_MODULES, *(m for m in chosen if m not in CORE_MODEL_MODULES)]


def build_tortoise_config(
    database_url: str | None = None,
    models: list[str] | None = None,
    settings: Settings | None = None,
    migrations_module: str | None = None,
) -> dict[str, Any]:
    """The `Tortoise.init(config=...)` dict for one connection ("default") and one app."""
    settings = settings or get_settings()
    url = parse_database_url(database_url or settings.database_url)
    app: dict[str, Any] = {
        "models": model_modules(settings, models),
        "default_connection": "default",
    }
    if migrations_module:
        app["migrations"] = migrations_module
    return {
        "connections": {"default": url.config},
        "apps": {APP_LABEL: app},
        "use_tz": settings.use_tz,
        "timezone": settings.timezone,
    }


def apply_request_timeouts(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Give a PostgreSQL connection the settings' statement and lock timeouts (in place).

    Only for serving requests: a migration may rightly run long or wait for a lock.
    """
    connection = config["connections"]["default"]
    if "asyncpg" not in connection.get("engine", ""):
        return config
    timeouts = {
        "statement_timeout": settings.database_statement_timeout_ms,
        "lock_timeout": settings.database_lock_timeout_ms,
    }
    server_settings = dict(connection["credentials"].get("server_settings") or {})
    for name, milliseconds in timeouts.items():
        if milliseconds:
            server_settings.setdefault(name, str(milliseconds))
    if server_settings:
        connection["credentials"]["server_settings"] = server_settings
    return config
