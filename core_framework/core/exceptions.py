"""Exceptions shared across the framework's layers."""

from __future__ import annotations


class ImproperlyConfigured(RuntimeError):
    """The project's settings or code are wrong in a way the framework cannot work around."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message names host and database, never the password."""


class HashingBusy(RuntimeError):
    """Too many password hashes are running and waiting: answered with a 503 and Retry-After."""


class StatusError(Exception):
    """An error raised below the views layer that carries the HTTP answer it should become.

    Layers under views know nothing of FastAPI, so they raise this (`OAuthLoginError` does)
    and `core.errors` answers with `status_code`, `{"detail": detail}` and `headers`.
    """

    def __init__(
        self, status_code: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers
