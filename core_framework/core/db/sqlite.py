"""sqlite3 adapters Tortoise lacks, and identifiers that are never read as strings.

SQLite reads a double-quoted name that matches no column as a string literal (its documented
"double-quoted string literal" misfeature): a model field whose column was never migrated
would be selected as the text of its own name. `strict_identifiers` turns that off on each
connection, so such a query fails with `no such column` instead.
"""

from __future__ import annotations

import ctypes
import datetime
import sqlite3
import sys

#: sqlite3.h: double-quoted string literals accepted in DML / in DDL statements.
SQLITE_DBCONFIG_DQS_DML = 1013
SQLITE_DBCONFIG_DQS_DDL = 1014

#: A name no table has: selecting it must fail once double-quoted strings are off.
_PROBE = 'SELECT "core_no_such_column_probe"'


def register_adapters() -> None:
    """Store `datetime.time` as ISO text (Tortoise reads it back with `time.fromisoformat`)."""
    sqlite3.register_adapter(datetime.time, datetime.time.isoformat)


def strict_identifiers(connection: sqlite3.Connection) -> bool:
    """Make `connection` reject double-quoted names that are no column; True if it now does.

    Python 3.12+ has `Connection.setconfig`. On 3.11 the same `sqlite3_db_config` call is
    made through ctypes where that is safe (CPython on Linux, whose variadic calls ctypes
    makes correctly); a probe query then confirms the setting took. Elsewhere it returns
    False, and the app's startup check of the models' columns is the remaining guard.
    """
    setconfig = getattr(connection, "setconfig", None)
    if setconfig is not None:
        setconfig(SQLITE_DBCONFIG_DQS_DML, False)
        setconfig(SQLITE_DBCONFIG_DQS_DDL, False)
    elif not _db_config_by_ctypes(connection):
        return False
    try:
        connection.execute(_PROBE)
    except sqlite3.OperationalError:
        return True
    return False  # pragma: no cover - the setting did not take


def _db_config_by_ctypes(connection: sqlite3.Connection) -> bool:
    """`sqlite3_db_config(db, DQS_*, 0, NULL)` on CPython 3.11 under Linux; False elsewhere."""
    if not _ctypes_db_config_safe():
        return False
    try:
        import _sqlite3

        library = ctypes.CDLL(_sqlite3.__file__)
        db_config = library.sqlite3_db_config
    except (ImportError, OSError, AttributeError):  # pragma: no cover - unusual builds
        return False
    db_config.restype = ctypes.c_int
    # CPython 3.11's pysqlite_Connection: PyObject_HEAD, then the `sqlite3 *db` handle.
    handle = ctypes.c_void_p.from_address(id(connection) + object.__basicsize__).value
    if not handle:  # pragma: no cover - a closed connection
        return False
    for option in (SQLITE_DBCONFIG_DQS_DML, SQLITE_DBCONFIG_DQS_DDL):
        if db_config(ctypes.c_void_p(handle), ctypes.c_int(option), ctypes.c_int(0), None) != 0:
            return False  # pragma: no cover - SQLite older than 3.29
    return True


def strict_identifiers_available() -> bool:
    """Whether `strict_identifiers` can work on this interpreter (without opening a database)."""
    return hasattr(sqlite3.Connection, "setconfig") or _ctypes_db_config_safe()


def _ctypes_db_config_safe() -> bool:
    """CPython 3.11 on Linux: where ctypes makes the variadic `sqlite3_db_config` call right
    and the connection's handle sits where `_db_config_by_ctypes` reads it."""
    return (
        sys.implementation.name == "cpython"
        and sys.version_info[:2] == (3, 11)
        and sys.platform.startswith("linux")
    )
