"""The database layer: URLs, Tortoise configuration, start/stop, connections and transactions."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import atomic, in_transaction

from core.db.config import build_tortoise_config, discover_model_modules, model_modules
from core.db.connection import (
    check_connection,
    connect,
    is_connection_error,
    start_database,
    stop_database,
)
from core.db.schema import create_schema, drop_all_tables, recreate_schema
from core.db.sqlite import register_adapters
from core.db.urls import DatabaseURL, mask_password, parse_database_url

#: The type of the `db` handle views and queries receive (a Tortoise connection or transaction).
AsyncSession = BaseDBAsyncClient

register_adapters()

__all__ = [
    "AsyncSession",
    "DatabaseURL",
    "IntegrityError",
    "atomic",
    "build_tortoise_config",
    "check_connection",
    "connect",
    "create_schema",
    "discover_model_modules",
    "drop_all_tables",
    "in_transaction",
    "is_connection_error",
    "mask_password",
    "model_modules",
    "parse_database_url",
    "recreate_schema",
    "start_database",
    "stop_database",
]
