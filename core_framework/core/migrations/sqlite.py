"""SQLite: rebuild a table for what ALTER TABLE cannot do.

SQLite cannot add or drop a constraint in place; the documented way is to create the new
table, copy the rows, drop the old one and rename. That is only safe with foreign keys off
(dropping a referenced table would otherwise cascade), which `core migrate` arranges: each
migration runs with `PRAGMA foreign_keys=OFF` and ends with `PRAGMA foreign_key_check`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.schema_editor import SqliteSchemaEditor as TortoiseSqliteSchemaEditor

#: Turns the column and constraint definitions of a CREATE TABLE into the new ones.
ItemsTransform = Callable[[list[str]], list[str]]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def unquote(identifier: str) -> str:
    """`"a b"`, `` `a` ``, `[a]` or `a` → `a b` / `a`."""
    text = identifier.strip()
    if len(text) >= 2 and (text[0], text[-1]) in {('"', '"'), ("`", "`"), ("[", "]"), ("'", "'")}:
        return text[1:-1].replace(text[0] * 2, text[0])
    return text


def split_statements(script: str) -> list[str]:
    """The statements of `script`, cut only where SQLite's tokenizer sees one end.

    A `;` inside a string literal or a comment (a model's docstring becomes one) does not
    cut a statement, as a plain `split(";")` would.
    """
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        statements.append(pending.strip().removesuffix(";"))
    return statements


def split_table_sql(sql: str) -> tuple[str, list[str], str]:
    """`CREATE TABLE t (a, b, CONSTRAINT c ...) x` → (`CREATE TABLE t (`, [`a`, `b`, ...], `) x`).

    Commas inside parentheses, quotes and comments do not split.
    """
    depth, i, n = 0, 0, len(sql)
    head_end = item_start = -1
    items: list[str] = []
    quote_char: str | None = None
    while i < n:
        char = sql[i]
        if quote_char is not None:
            if char == quote_char:
                if quote_char != "]" and sql.startswith(quote_char * 2, i):
                    i += 2
                    continue
                quote_char = None
        elif char in "'\"`":
            quote_char = char
        elif char == "[":
            quote_char = "]"
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            continue
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif char == "(":
            depth += 1
            if depth == 1 and head_end < 0:
                head_end = item_start = i + 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                items.append(sql[item_start:i].strip())
                return sql[:head_end], items, sql[i:]
        elif char == "," and depth == 1:
            items.append(sql[item_start:i].strip())
            item_start = i + 1
        i += 1
    raise ValueError(f"cannot read the column list of: {sql}")


_TYPE_END = re.compile(
    r"\b(CONSTRAINT|PRIMARY|NOT|NULL|UNIQUE|CHECK|DEFAULT|COLLATE|REFERENCES|GENERATED|AS)\b",
    re.IGNORECASE,
)
_NULLABILITY = re.compile(r"(\bDEFAULT\s+)?\b(NOT\s+)?NULL\b", re.IGNORECASE)


def split_column_item(item: str) -> tuple[str, str]:
    """(`"name"`, `TYPE constraints...`) of a column definition."""
    if item[:1] in '"`[':
        closing = "]" if item[0] == "[" else item[0]
        end = item.index(closing, 1) + 1
        return item[:end], item[end:].strip()
    name, _, rest = item.partition(" ")
    return name, rest.strip()


def alter_column_item(
    item: str, column: str, column_type: str | None, nullable: bool | None
) -> str:
    """The column definition `item` with a new type and/or nullability, if it is `column`'s."""
    name, rest = split_column_item(item)
    if unquote(name) != column:
        return item
    match = _TYPE_END.search(rest)
    old_type, constraints = (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
    if nullable is not None:
        constraints = _NULLABILITY.sub(lambda m: m.group(0) if m.group(1) else "", constraints)
        constraints = " ".join(constraints.split()) + ("" if nullable else " NOT NULL")
    return " ".join(
        part for part in (name, column_type or old_type.strip(), constraints.strip()) if part
    )


_FOREIGN_KEY_ITEM = re.compile(
    r'^(?:CONSTRAINT\s+(?P<name>"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|\S+)\s+)?'
    r"FOREIGN\s+KEY\s*\((?P<columns>[^)]*)\)",
    re.IGNORECASE,
)
_INLINE_REFERENCE = re.compile(
    r"\s+(?:CONSTRAINT\s+\S+\s+)?REFERENCES\b.*$", re.IGNORECASE | re.DOTALL
)


def without_foreign_key(items: list[str], name: str | None, column: str | None) -> list[str]:
    """The table definitions minus the foreign key called `name` or on `column` (SQLite)."""
    kept: list[str] = []
    removed = False
    for item in items:
        match = _FOREIGN_KEY_ITEM.match(item)
        if match:
            columns = [unquote(c) for c in match["columns"].split(",")]
            named = bool(name and match["name"] and unquote(match["name"]) == name)
            if named or (column is not None and columns == [column]):
                removed = True
                continue
        elif column is not None and unquote(split_column_item(item)[0]) == column:
            stripped = _INLINE_REFERENCE.sub("", item)
            removed = removed or stripped != item
            item = stripped
        kept.append(item)
    if not removed:
        raise ValueError(f"found no foreign key {name or column!r} to drop")
    return kept


async def _rows(client: BaseDBAsyncClient, sql: str, values: list[Any] | None = None) -> list[dict]:
    return list(await client.execute_query_dict(sql, values))


async def index_definitions(
    client: BaseDBAsyncClient, table: str
) -> list[tuple[str, str, list[str | None]]]:
    """(name, CREATE INDEX sql, columns) of the table's explicitly created indexes."""
    found = []
    for row in await _rows(
        client,
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        [table],
    ):
        columns = [
            info["name"] for info in await _rows(client, f"PRAGMA index_info({quote(row['name'])})")
        ]
        found.append((str(row["name"]), str(row["sql"]), columns))
    return found


async def column_names(client: BaseDBAsyncClient, table: str) -> list[str]:
    return [str(row["name"]) for row in await _rows(client, f"PRAGMA table_info({quote(table)})")]


async def require_foreign_keys_off(client: BaseDBAsyncClient, table: str) -> None:
    rows = await _rows(client, "PRAGMA foreign_keys")
    if rows and next(iter(rows[0].values())):
        raise RuntimeError(
            f"rebuilding SQLite table {table!r} needs PRAGMA foreign_keys=OFF "
            "(run the migration with `core migrate`)"
        )


async def rebuild_table(
    editor: TortoiseSqliteSchemaEditor, table: str, transform: ItemsTransform, what: str
) -> None:
    """Recreate `table` with its definitions passed through `transform`, keeping rows and indexes."""
    if editor.collect_sql:
        editor.collected_sql.append(f"-- SQLite: rebuild table {quote(table)} to {what}")
        return
    client = editor.client
    await require_foreign_keys_off(client, table)
    rows = await _rows(
        client, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    )
    if not rows:
        raise ValueError(f"table {table!r} does not exist")
    _, items, tail = split_table_sql(str(rows[0]["sql"]))
    indexes = await index_definitions(client, table)
    columns = ", ".join(quote(c) for c in await column_names(client, table))
    temporary = quote(f"new__{table}")
    statements = [
        f"CREATE TABLE {temporary} ({', '.join(transform(items))}{tail}",
        f"INSERT INTO {temporary} ({columns}) SELECT {columns} FROM {quote(table)}",  # noqa: S608
        f"DROP TABLE {quote(table)}",
        f"ALTER TABLE {temporary} RENAME TO {quote(table)}",
        *(sql for _, sql, _ in indexes),
    ]
    for statement in statements:
        await client.execute_query(statement)
