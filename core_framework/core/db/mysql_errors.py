"""What MySQL/MariaDB driver errors mean: "the server is gone", or "this value cannot be stored".

Works on the exceptions of both drivers (aiomysql raises PyMySQL's, asyncmy its own) without
importing either: both carry the server's error number as `args[0]`.
"""

from __future__ import annotations

import re

#: The server cannot be reached or went away: can't connect (2002 socket, 2003 TCP),
#: gone away (2006), lost during a query (2013), too many connections (1040),
#: server shutting down (1053), and 0 for PyMySQL's "connection already closed".
CONNECTION_ERROR_CODES = frozenset({0, 1040, 1053, 2002, 2003, 2006, 2013})

#: A value the column cannot hold: out of range (1264), bad string/encoding (1366),
#: too long (1406), bad date/time (1292), a NULL into NOT NULL through a default (1048 is
#: an integrity error, not here), a bad JSON document (4025 on MariaDB, 3140 on MySQL).
DATA_ERROR_CODES = frozenset({1264, 1292, 1366, 1406, 3140, 4025})

#: The transaction lost a lock conflict and was rolled back: deadlock (1213), lock wait
#: timeout (1205). Retrying the whole request is the cure.
RETRY_ERROR_CODES = frozenset({1205, 1213})

_DRIVER_MODULES = ("pymysql", "aiomysql", "asyncmy")

_COLUMN_IN_MESSAGE = (
    re.compile(r"for column `[^`]*`\.`[^`]*`\.`([^`]+)`"),  # MariaDB: `db`.`table`.`column`
    re.compile(r"for column '([^']+)'"),  # MySQL and most MariaDB messages
)


def driver_error_code(exc: BaseException) -> int | None:
    """The server's error number of a MySQL driver exception, None for anything else."""
    if not type(exc).__module__.startswith(_DRIVER_MODULES):
        return None
    code = exc.args[0] if exc.args else None
    return code if isinstance(code, int) else None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` or what caused it is a MySQL driver's "cannot reach the server"."""
    for error in _chain(exc):
        code = driver_error_code(error)
        if code in CONNECTION_ERROR_CODES:
            return True
        driver_error = type(error).__module__.startswith(_DRIVER_MODULES)
        if code is None and driver_error and type(error).__name__ == "InterfaceError":
            return True  # "(0, 'Not connected')" and the like
    return False


def is_retryable(exc: BaseException) -> bool:
    """True when `exc` or its cause is a deadlock or a lock wait timeout."""
    return any(driver_error_code(error) in RETRY_ERROR_CODES for error in _chain(exc))


def data_error_code(exc: BaseException) -> int | None:
    """The error number when `exc` (or its cause) says a value cannot be stored."""
    for error in _chain(exc):
        code = driver_error_code(error)
        if code in DATA_ERROR_CODES:
            return code
    return None


def data_error_column(exc: BaseException) -> str | None:
    """The column a data error names ("Out of range value for column 'views' at row 1")."""
    for error in _chain(exc):
        if driver_error_code(error) is None:
            continue
        text = str(error.args[1]) if len(error.args) > 1 else str(error)
        for pattern in _COLUMN_IN_MESSAGE:
            if match := pattern.search(text):
                return match.group(1)
    return None


_TOKEN = re.compile(r"""'(?:[^'\\]|\\.|'')*'?|`(?:[^`]|``)*`?|\w+|\S""", re.S)


def column_of_unencodable_text(exc: UnicodeEncodeError) -> str | None:
    """The column whose value holds the character a driver could not encode to UTF-8.

    The drivers encode the whole statement, values already inlined, so the error's position
    points into one string literal of an INSERT or UPDATE: the column is the one it is
    assigned to (`col`='...') or the one at its place in the INSERT's column list.
    """
    sql = exc.object
    if not isinstance(sql, str):
        return None
    tokens: list[str] = []
    for match in _TOKEN.finditer(sql):
        if match.start() <= exc.start < match.end():
            if not match.group().startswith("'"):
                return None
            break
        tokens.append(match.group())
    else:
        return None
    if len(tokens) >= 2 and tokens[-1] == "=" and tokens[-2].startswith("`"):
        return tokens[-2].strip("`")
    return _insert_column(tokens)


def _insert_column(tokens: list[str]) -> str | None:
    """The column of the value after `tokens` in `INSERT INTO t (a, b) VALUES (x, <here>`."""
    upper = [token.upper() for token in tokens]
    if not upper or upper[0] not in ("INSERT", "REPLACE") or "VALUES" not in upper:
        return None
    values_at = upper.index("VALUES")
    head = tokens[:values_at]
    if "(" not in head:
        return None
    columns = [t.strip("`") for t in head[head.index("(") :] if t.startswith("`")]
    index = depth = 0
    for part in tokens[values_at + 1 :]:
        if part == "(":
            depth += 1
            if depth == 1:
                index = 0
        elif part == ")":
            depth -= 1
        elif part == "," and depth == 1:
            index += 1
    return columns[index] if depth == 1 and index < len(columns) else None
