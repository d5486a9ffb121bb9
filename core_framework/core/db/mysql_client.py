"""Tortoise engines for MySQL and MariaDB: the driver the URL names, and an explicit collation.

Tortoise's `tortoise.backends.mysql.client` picks its driver when it is imported (asyncmy if
importable, else aiomysql) and keeps it in module globals (`mysql`, `errors`, ...). So that
`mysql+aiomysql://` and `mysql+asyncmy://` each get the driver they name, this module loads
one private copy of that module per driver, with the other driver hidden while it imports.

Every table is created `CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` whatever the server's
default: 4-byte characters (emoji) are stored, and `=`, unique constraints and ordering
compare code points, case- and accent-sensitively, as on PostgreSQL and SQLite.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from core.exceptions import ImproperlyConfigured

#: The character set and collation of every table the framework creates.
CHARSET = "utf8mb4"
COLLATION = "utf8mb4_bin"


def table_options(dialect: str) -> str:
    """What a hand-written CREATE TABLE ends with: the framework's collation on MySQL."""
    return f" CHARACTER SET {CHARSET} COLLATE {COLLATION}" if dialect == "mysql" else ""


#: Run on every new connection: PostgreSQL's isolation level, READ COMMITTED, instead of
#: InnoDB's REPEATABLE READ. Its locking reads and deletes lock the rows they match, not the
#: gaps between index entries, so concurrent transactions that purge and insert (token
#: revocation) do not deadlock on each other's gap locks (error 1213).
SESSION_SETUP = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

#: The URL scheme's driver -> the module the driver is imported as.
DRIVERS = ("aiomysql", "asyncmy")
#: What to install when a driver is missing.
INSTALL_HINT = "pip install 'core-framework[mysql]'"

logger = logging.getLogger("core.db.mysql")

_lock = threading.Lock()
_clients: dict[str, ModuleType] = {}


def driver_installed(driver: str) -> bool:
    """True when the driver's package can be imported."""
    return importlib.util.find_spec(driver) is not None


def _tortoise_client_module(driver: str) -> ModuleType:
    """A private copy of Tortoise's MySQL client module bound to `driver`."""
    with _lock:
        if driver in _clients:
            return _clients[driver]
        if driver not in DRIVERS:
            raise ImproperlyConfigured(f"unknown MySQL driver {driver!r}; use one of {DRIVERS}")
        if not driver_installed(driver):
            raise ImproperlyConfigured(
                f"DATABASE_URL names MySQL with the {driver} driver, which is not installed: "
                f"{INSTALL_HINT}"
            )
        import tortoise.backends.mysql.executor  # noqa: F401 - loads Tortoise's own copy first

        path = Path(sys.modules["tortoise.backends.mysql.executor"].__file__ or "").with_name(
            "client.py"
        )
        name = f"core.db._tortoise_mysql_{driver}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        hidden = [other for other in DRIVERS if other != driver]
        saved = {other: sys.modules.get(other) for other in hidden}
        for other in hidden:
            sys.modules[other] = None  # type: ignore[assignment] # `import other` fails
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            for other, previous in saved.items():
                if previous is None:
                    sys.modules.pop(other, None)
                else:
                    sys.modules[other] = previous
        bound = module.mysql.__name__.split(".")[0]
        if bound != driver:  # pragma: no cover - the import above raised instead
            raise ImproperlyConfigured(f"MySQL client bound to {bound}, not {driver}")
        _clients[driver] = module
        return module


def _quiet_cursor_option(driver: str) -> dict[str, Any]:
    """A cursor class that logs the server's notes instead of printing them.

    After a statement with warnings the drivers run SHOW WARNINGS and print each one (aiomysql
    as a Python warning, asyncmy to its logger): `CREATE TABLE IF NOT EXISTS` on an existing
    table would then write "Table ... already exists" into every `core migrate`. Notes are
    logged at DEBUG, real warnings at WARNING, on the `core.db.mysql` logger.
    """
    base = importlib.import_module(f"{driver}.cursors").Cursor
    option = "cursorclass" if driver == "aiomysql" else "cursor_cls"

    async def _show_warnings(self: Any, conn: Any) -> None:
        if self._result and self._result.has_next:
            return
        for level, code, message in await conn.show_warnings() or ():
            logger.log(
                logging.DEBUG if str(level) == "Note" else logging.WARNING,
                "%s %s: %s",
                level,
                code,
                message,
            )

    quiet = type("QuietCursor", (base,), {"_show_warnings": _show_warnings})
    return {option: quiet}


def client_class_for(driver: str) -> type[Any]:
    """The Tortoise client class for `driver` (aiomysql or asyncmy), made once per process.

    The module copy is private to the framework, so its classes are adjusted in place: the
    transaction wrapper (a subclass of the client) then creates tables the same way.
    """
    module = _tortoise_client_module(driver)
    cls: type[Any] = getattr(module, "_core_client", None) or module.MySQLClient
    if cls is module.MySQLClient:
        from core.db.mysql_schema import CollatedSchemaGenerator

        module.MySQLClient.schema_generator = CollatedSchemaGenerator
        base = module.MySQLClient
        cursor_option = _quiet_cursor_option(driver)

        def __init__(self: Any, **kwargs: Any) -> None:
            base.__init__(self, **kwargs)
            for key, value in cursor_option.items():
                self.extra.setdefault(key, value)
            self.extra.setdefault("init_command", SESSION_SETUP)

        cls = type(
            "MySQLClient",
            (base,),
            {
                "__init__": __init__,
                "__doc__": f"Tortoise's MySQL client on {driver}; tables in {COLLATION}.",
                "__module__": module.__name__,
            },
        )
        setattr(module, "_core_client", cls)  # noqa: B010 - a module made at runtime
    return cls
