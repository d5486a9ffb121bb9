"""sqlite3 adapters Tortoise lacks, so every field type round-trips on SQLite."""

from __future__ import annotations

import datetime
import sqlite3


def register_adapters() -> None:
    """Store `datetime.time` as ISO text (Tortoise reads it back with `time.fromisoformat`)."""
    sqlite3.register_adapter(datetime.time, datetime.time.isoformat)
