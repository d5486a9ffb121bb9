"""HTTP errors the views raise, with DRF's messages and FastAPI's `{"detail": ...}` body."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


class NotFound(HTTPException):
    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__(status_code=404, detail=detail)


class PermissionDenied(HTTPException):
    def __init__(self, detail: str = "You do not have permission to perform this action.") -> None:
        super().__init__(status_code=403, detail=detail)


class NotAuthenticated(HTTPException):
    def __init__(self, detail: str = "Authentication credentials were not provided.") -> None:
        super().__init__(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


class BadRequest(HTTPException):
    def __init__(self, detail: Any) -> None:
        super().__init__(status_code=400, detail=detail)


def field_error(field: str, message: str, kind: str, location: str = "body") -> BadRequest:
    """A 400 naming the field, in the shape of FastAPI's validation errors."""
    return BadRequest([{"loc": [location, field], "msg": message, "type": kind}])
