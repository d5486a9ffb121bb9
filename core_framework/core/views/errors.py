"""HTTP errors the views raise, with DRF's messages, and the one error body they all share.

Every 4xx body is `{"detail": ...}`: a message (`ErrorMessage`) for every status but 422,
and a list of field errors (`ValidationErrorResponse`) for 422, whether pydantic, a unique
check, a filter or the model refused the value. docs/guide/errors.md lists each status.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict

from core.auth.request import AuthenticationFailed

#: The one 401 class: `core.auth.AuthenticationFailed`, under DRF's other name too.
NotAuthenticated = AuthenticationFailed

#: The one wording of a 404 (FastAPI's own "Not Found" is reworded to it).
NOT_FOUND = "Not found."


class NotFound(HTTPException):
    def __init__(self, detail: str = NOT_FOUND) -> None:
        super().__init__(status_code=404, detail=detail)


class PermissionDenied(HTTPException):
    def __init__(self, detail: str = "You do not have permission to perform this action.") -> None:
        super().__init__(status_code=403, detail=detail)


class BadRequest(HTTPException):
    """A 400 with a message: the request as a whole is wrong (not one field of it)."""

    def __init__(self, detail: Any) -> None:
        super().__init__(status_code=400, detail=detail)


class ValidationFailed(HTTPException):
    """A 422 listing field errors `{"loc": [...], "msg": ..., "type": ...}`, as pydantic's."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(status_code=422, detail=errors)


def field_error(field: str, message: str, kind: str, location: str = "body") -> ValidationFailed:
    """A 422 naming one field, in the shape of every other validation error."""
    return ValidationFailed([{"loc": [location, field], "msg": message, "type": kind}])


def unique_message(model_name: str, field: str) -> str:
    """The one wording of a unique violation, from a unique check or from the database."""
    return f"{model_name} with this {field} already exists."


class ErrorMessage(BaseModel):
    """The body of every error but 422: `{"detail": "A sentence saying what is wrong."}`."""

    model_config = ConfigDict(title="ErrorMessage")

    detail: str


class FieldError(BaseModel):
    """One refused value: where it was (`["body", "title"]`), why, and a machine-readable kind."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorResponse(BaseModel):
    """The body of a 422: every refused value, each as a `FieldError`."""

    detail: list[FieldError]


#: Kept for code that imported it: the body of the errors that carry a message.
ErrorResponse = ErrorMessage

_DESCRIPTIONS = {
    400: "Bad request: a malformed JSON body, or a request the action refuses as a whole",
    401: "Not authenticated: no valid access token, or an invalid one sent (even where none is needed)",
    403: "Forbidden: the user lacks a permission",
    404: "Not found: no such object (or not visible to this user), or no such page",
    405: "Method not allowed: `Allow` lists the methods of this path",
    409: "Conflict: the request conflicts with the current state",
    413: "Request body too large",
    422: "Validation error: the fields refused, each with `loc`, `msg` and `type`",
    429: "Too many requests: throttled; `Retry-After` says how many seconds to wait",
    503: "Service unavailable: the database is unreachable or busy; `Retry-After` says when to retry",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error codes."""
    return {
        code: {
            "model": ValidationErrorResponse if code == 422 else ErrorMessage,
            "description": _DESCRIPTIONS.get(code) or HTTPStatus(code).phrase,
        }
        for code in codes
    }
