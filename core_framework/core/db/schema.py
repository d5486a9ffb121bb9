"""Create and drop the schema of the installed models (tests, `reset_db`, quick prototypes)."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.utils import generate_schema_for_client


def dialect_of(db: BaseDBAsyncClient) -> str:
    """`sqlite`, `postgres`, `mysql`, ... as Tortoise names the connection's dialect."""
    return str(db.capabilities.dialect)


async def create_schema(db: BaseDBAsyncClient, safe: bool = True) -> None:
    """CREATE TABLE for every installed model (`safe`: skip tables that already exist)."""
    await generate_schema_for_client(db, safe)


async def drop_all_tables(db: BaseDBAsyncClient) -> None:
    """Drop every table in the connection's database or schema, models' or not."""
    dialect = dialect_of(db)
    if dialect == "postgres":
        await db.execute_script("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    elif dialect == "sqlite":
        rows = await db.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
        statements = "".join(f'DROP TABLE IF EXISTS "{row["name"]}";' for row in rows)
        await db.execute_script(f"PRAGMA foreign_keys=OFF;{statements}PRAGMA foreign_keys=ON;")
    elif dialect == "mysql":
        rows = await db.execute_query_dict("SHOW TABLES")
        names = [next(iter(row.values())) for row in rows]
        if names:
            tables = ", ".join(f"`{name}`" for name in names)
            await db.execute_script(
                f"SET FOREIGN_KEY_CHECKS=0; DROP TABLE IF EXISTS {tables}; SET FOREIGN_KEY_CHECKS=1;"
            )
    else:  # pragma: no cover - other dialects are not supported by the framework
        raise NotImplementedError(f"drop_all_tables does not support {dialect}")


async def recreate_schema(db: BaseDBAsyncClient) -> None:
    """Drop everything, then create the installed models' tables afresh."""
    await drop_all_tables(db)
    await create_schema(db, safe=False)
