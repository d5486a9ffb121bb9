"""Translate the guide's SQLAlchemy-style database URLs (and Tortoise's own) into Tortoise config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tortoise.backends.base.config_generator import expand_db_url

from core.exceptions import ImproperlyConfigured

# URL scheme (as users write it) -> the scheme Tortoise's own URL parser understands.
_SCHEMES: dict[str, str] = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "postgres": "asyncpg",
    "postgresql": "asyncpg",
    "postgresql+asyncpg": "asyncpg",
    "asyncpg": "asyncpg",
    "postgresql+psycopg": "psycopg",
    "psycopg": "psycopg",
    "mysql": "mysql",
    "mysql+aiomysql": "mysql",
    "mysql+asyncmy": "mysql",
    "mssql": "mssql",
    "oracle": "oracle",
}

#: MySQL URL scheme -> the driver it selects (`mysql://` means aiomysql, see docs/guide/databases.md).
_MYSQL_DRIVERS: dict[str, str] = {
    "mysql": "aiomysql",
    "mysql+aiomysql": "aiomysql",
    "mysql+asyncmy": "asyncmy",
}

#: Tortoise's scheme -> (the modules its client imports, the distribution they come from).
_DRIVERS: dict[str, tuple[tuple[str, ...], str]] = {
    "asyncpg": (("asyncpg",), "asyncpg"),
    "psycopg": (("psycopg", "psycopg_pool"), "psycopg"),
    "mssql": (("asyncodbc",), "asyncodbc"),
    "oracle": (("asyncodbc",), "asyncodbc"),
}

MEMORY = ":memory:"


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL: the dialect, Tortoise's connection config and a printable form."""

    url: str
    dialect: str  # "sqlite", "postgres", "mysql", ...
    config: dict[str, Any] = field(repr=False)

    @property
    def credentials(self) -> dict[str, Any]:
        return dict(self.config["credentials"])

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_memory(self) -> bool:
        return self.is_sqlite and self.config["credentials"]["file_path"] == MEMORY

    @property
    def database(self) -> str:
        creds = self.config["credentials"]
        return str(creds.get("file_path") or creds.get("database") or "")

    def describe(self) -> str:
        """Host and database for messages and logs; never includes the password."""
        if self.is_sqlite:
            return f"SQLite database {self.database}"
        creds = self.config["credentials"]
        host = creds.get("host") or "localhost"
        port = f":{creds['port']}" if creds.get("port") else ""
        user = f" as user {creds['user']!r}" if creds.get("user") else ""
        return f"{self.dialect} database {self.database!r} at {host}{port}{user}"

    def masked(self) -> str:
        """The URL with its password replaced by `***`."""
        return mask_password(self.url)


def mask_password(url: str) -> str:
    """`scheme://user:***@host/db` for any URL with a password, the URL unchanged otherwise."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _sqlite_path(scheme: str, rest: str, base_dir: str | None) -> str:
    """The file path of a sqlite URL: SQLAlchemy's rules for `sqlite+aiosqlite`, Tortoise's else."""
    if rest in (MEMORY, "/" + MEMORY, "") or rest.startswith(MEMORY):
        return MEMORY
    if scheme == "sqlite+aiosqlite" or rest.startswith(("/./", "/../")):
        # SQLAlchemy: sqlite:///relative/path.db, sqlite:////absolute/path.db
        path = rest[1:] if rest.startswith("/") else rest
    else:
        # Tortoise: sqlite://relative/path.db, sqlite:///absolute/path.db
        path = rest
    path = path.split("?", 1)[0]
    if not path:
        raise ImproperlyConfigured("DATABASE_URL names no SQLite file (use :memory: for memory)")
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(base_dir or os.getcwd(), path))
    return path


def parse_database_url(url: str, base_dir: str | None = None) -> DatabaseURL:
    """Parse `url`; relative SQLite paths are resolved against `base_dir` (default: the cwd)."""
    if "://" not in url:
        raise ImproperlyConfigured(f"DATABASE_URL {mask_password(url)!r} is not a URL")
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    target = _SCHEMES.get(scheme)
    if target is None:
        known = ", ".join(sorted(_SCHEMES))
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use one of: {known}"
        )
    if target == "sqlite":
        config: dict[str, Any] = {
            "engine": "core.db.sqlite_client",
            "credentials": {"file_path": _sqlite_path(scheme, rest, base_dir)},
        }
        query = rest.split("?", 1)[1] if "?" in rest else ""
        for key, value in (item.split("=", 1) for item in query.split("&") if "=" in item):
            config["credentials"][key] = value
        return DatabaseURL(url=url, dialect="sqlite", config=config)
    try:
        config = expand_db_url(f"{target}://{rest}")
    except Exception as exc:  # Tortoise raises ConfigurationError/ValueError on bad parts
        raise ImproperlyConfigured(f"DATABASE_URL {mask_password(url)!r}: {exc}") from None
    if scheme in _MYSQL_DRIVERS:
        config["engine"] = _mysql_engine(_MYSQL_DRIVERS[scheme], url)
    elif target in _DRIVERS:
        _require_driver(target, url)
        if target == "asyncpg":
            config["engine"] = "core.db.asyncpg_client"  # Tortoise's, cheaper pool releases
    dialect = {"asyncpg": "postgres", "psycopg": "postgres"}.get(target, target)
    return DatabaseURL(url=url, dialect=dialect, config=config)


def _mysql_engine(driver: str, url: str) -> str:
    """The framework's Tortoise engine for `driver`; a clear error when it is not installed."""
    from core.db.mysql_client import INSTALL_HINT, driver_installed

    if not driver_installed(driver):
        raise ImproperlyConfigured(
            f"DATABASE_URL {mask_password(url)!r} needs the {driver} driver, which is not "
            f"installed: {INSTALL_HINT}"
        )
    return f"core.db.mysql_{driver}"


def _require_driver(target: str, url: str) -> None:
    """A clear error, naming what to install, when the URL's driver is missing."""
    import importlib.util

    modules, package = _DRIVERS[target]
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        from core.extras import install_hint

        raise ImproperlyConfigured(
            f"DATABASE_URL {mask_password(url)!r} needs the {package} driver, which is not "
            f"installed (no module {missing[0]!r}): {install_hint(package)}"
        )
