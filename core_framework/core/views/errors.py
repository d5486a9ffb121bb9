"""HTTP errors the views raise, with DRF's messages and FastAPI's `{"detail": ...}` body."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel


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


class ErrorResponse(BaseModel):
    """The body of every error response: `{"detail": ...}` (a message or a list of errors)."""

    detail: Any


_DESCRIPTIONS = {
    400: "Bad request: malformed JSON, an unknown query parameter or a duplicate value",
    401: "Not authenticated: no valid access token",
    403: "Forbidden: the user lacks a permission",
    404: "Not found",
    429: "Too many requests: throttled; `Retry-After` says how many seconds to wait",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error codes."""
    return {code: {"model": ErrorResponse, "description": _DESCRIPTIONS[code]} for code in codes}
