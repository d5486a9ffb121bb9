"""Exceptions shared across the framework's layers."""

from __future__ import annotations


class ImproperlyConfigured(RuntimeError):
    """The project's settings or code are wrong in a way the framework cannot work around."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message names host and database, never the password."""


class HashingBusy(RuntimeError):
    """Too many password hashes are running and waiting: answered with a 503 and Retry-After."""
