"""Exception handlers: every error is JSON `{"detail": ...}`; client errors are never a 500.

One shape (docs/guide/errors.md): a 422 lists field errors `{"loc", "msg", "type"}` whoever
refused the value (pydantic, a unique check or constraint, a filter, the model), with clean
messages and never the submitted value; every other status carries one message. 400 is a
malformed body or a conflict the database names no field for, 404 missing rows and unparsable
ids, 503 when the database is unreachable, 500 otherwise with the traceback logged (and shown
only when DEBUG is on).
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from tortoise.exceptions import DoesNotExist, IntegrityError, OperationalError
from tortoise.exceptions import ValidationError as TortoiseValidationError

from core.db import mysql_errors
from core.db.connection import is_connection_error
from core.db.schema_errors import missing_schema_hint
from core.db.unique import violated_unique_columns
from core.exceptions import DatabaseUnavailable, HashingBusy, StatusError
from core.views.errors import NOT_FOUND, unique_message

logger = logging.getLogger("core.errors")


#: What pydantic puts before the message of a validator's ValueError or assertion.
_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")


def clean_message(message: str) -> str:
    """`"Value error, Slug cannot contain spaces"` -> `"Slug cannot contain spaces"`."""
    for prefix in _MESSAGE_PREFIXES:
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def clean_errors(errors: Any, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Field errors as `{"loc", "msg", "type"}`: no submitted value (never echo a password
    back), no `ctx` (an exception object, shown as `{}`), no pydantic message prefix."""
    cleaned = []
    for error in errors:
        cleaned.append(
            {
                "loc": [*prefix, *error.get("loc", ())],
                "msg": clean_message(str(error.get("msg", ""))),
                "type": str(error.get("type", "value_error")),
            }
        )
    return jsonable_encoder(cleaned)


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        reason = (malformed.get("ctx") or {}).get("error", "invalid JSON")
        return JSONResponse({"detail": f"Malformed JSON body: {reason}"}, status_code=400)
    if errors and all(tuple(e.get("loc", ()))[:1] == ("path",) for e in errors):
        return JSONResponse({"detail": NOT_FOUND}, status_code=404)
    return JSONResponse({"detail": clean_errors(errors)}, status_code=422)


async def pydantic_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A schema validated inside a handler (`Input.model_validate(body)`): 422 like FastAPI's."""
    assert isinstance(exc, ValidationError)
    return JSONResponse(
        {"detail": clean_errors(exc.errors(include_url=False), ("body",))}, status_code=422
    )


async def malformed_json(request: Request, exc: Exception) -> JSONResponse:
    """`await request.json()` in a handler met a body that is not JSON (or not UTF-8)."""
    return JSONResponse({"detail": f"Malformed JSON body: {exc}"}, status_code=400)


async def recursion_error(request: Request, exc: Exception) -> JSONResponse:
    """`await request.json()` in a handler met `[[[[...` nested too deeply: a 400, not a 500."""
    if "decoding a JSON" in str(exc):
        return JSONResponse({"detail": "Malformed JSON body: nested too deeply"}, status_code=400)
    return await server_error(request, exc)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (a ViewSet has one route each)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route_methods
    order = {method: index for index, method in enumerate(_METHOD_ORDER)}
    return sorted(methods, key=lambda method: (order.get(method, len(order)), method))


async def http_error(request: Request, exc: Exception) -> Any:
    """FastAPI's answer to an HTTPException, in DRF's words; a 405 lists `Allow`ed methods.

    Starlette's own 404 and 405 ("Not Found", "Method Not Allowed") become "Not found." and
    `Method "PUT" not allowed.`, the wording the views use.
    """
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = NOT_FOUND
    if exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = f'Method "{request.method}" not allowed.'
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    if detail is not exc.detail or headers != (exc.headers or {}):
        exc = StarletteHTTPException(exc.status_code, detail, headers=headers or None)
    return await http_exception_handler(request, exc)


async def status_error(request: Request, exc: Exception) -> Any:
    """A lower layer's `StatusError` (an OAuth login that failed): the answer it carries."""
    assert isinstance(exc, StatusError)
    return await http_error(
        request, StarletteHTTPException(exc.status_code, exc.detail, exc.headers)
    )


async def hashing_busy(request: Request, exc: Exception) -> JSONResponse:
    """Every password-hashing slot and queue place is taken: come back in a second."""
    return JSONResponse(
        {"detail": "Too many password checks at once; try again shortly."},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def does_not_exist(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": NOT_FOUND}, status_code=404)


def _model_name(request: Request | None, table: str | None, exc: BaseException) -> str:
    """The model a unique violation is about: by its table, else the route's ViewSet model."""
    cause = exc.__cause__ or exc.__context__
    table = table or getattr(cause, "table_name", None)  # asyncpg names the table
    if table:
        from tortoise import Tortoise

        for models in Tortoise.apps.values():
            for model in models.values():
                if model._meta.db_table == table:
                    return model.__name__
    route = request.scope.get("route") if request is not None else None
    model = getattr(getattr(getattr(route, "endpoint", None), "view_cls", None), "model", None)
    return getattr(model, "__name__", None) or "An object"


def integrity_detail(exc: BaseException, request: Request | None = None) -> Any:
    """A unique violation as a field error (the unique check's words), else a message."""
    violated = violated_unique_columns(exc)
    if violated is not None:
        table, columns = violated
        field, name = columns[0], _model_name(request, table, exc)
        return [{"loc": ["body", field], "msg": unique_message(name, field), "type": "unique"}]
    texts = [str(exc)]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        texts += [str(cause), str(getattr(cause, "detail", "") or "")]
    if any("foreign key" in t.lower() for t in texts):
        return "A related object does not exist."
    if any("not null" in t.lower() or "null value" in t.lower() for t in texts):
        return "A required value is missing."
    return "The request conflicts with existing data."


async def integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A unique violation is a 422 like the unique check's; other constraints a 400."""
    detail = integrity_detail(exc, request)
    return JSONResponse({"detail": detail}, status_code=422 if isinstance(detail, list) else 400)


#: Tortoise validator messages that quote the refused value, and the same without it.
_ECHOING_MESSAGES = (
    (
        re.compile(r"Length of '.*' (\d+) > (\d+)$", re.S),
        r"Ensure this value has at most \2 characters (it has \1).",
    ),
    (
        re.compile(r"Length of '.*' (\d+) < (\d+)$", re.S),
        r"Ensure this value has at least \2 characters (it has \1).",
    ),
    (
        re.compile(r"Value '.*' does not match regex ('.*')$", re.S),
        r"Value does not match regex \1.",
    ),
    (re.compile(r"'.*' is not a valid (.*)$", re.S), r"Value is not a valid \1"),
)


def model_validation_detail(exc: BaseException) -> str:
    """`"title: Ensure this value has at most 200 characters (it has 201)."`: never the value."""
    text = str(exc)
    for pattern, replacement in _ECHOING_MESSAGES:
        text, count = pattern.subn(replacement, text)
        if count:
            break
    return text


async def model_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A model field refused a value (e.g. a string over max_length): 422 naming the field."""
    field, _, message = model_validation_detail(exc).partition(": ")
    if not message:
        field, message = "", field
    loc = ["body", field] if field else ["body"]
    return JSONResponse(
        {"detail": [{"loc": loc, "msg": message, "type": "model_validation"}]}, status_code=422
    )


#: Modules whose frames mark an exception as raised while binding a query's parameters.
_SQLITE_MODULES = ("sqlite3", "aiosqlite", "tortoise.backends.sqlite")


def _raised_by_sqlite(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(_SQLITE_MODULES):
            return True
        tb = tb.tb_next
    return False


#: Modules whose frames mark an exception as raised by a MySQL driver.
_MYSQL_MODULES = ("pymysql", "aiomysql", "asyncmy", "core.db._tortoise_mysql")


def _raised_by(exc: BaseException, modules: tuple[str, ...]) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(modules):
            return True
        tb = tb.tb_next
    return False


def _is_data_error(exc: BaseException) -> bool:
    """A value the database cannot store (number out of range, bad text encoding...).

    asyncpg reports these as `DataError`; sqlite3 raises a bare `OverflowError` (an integer
    beyond 64 bits) or `UnicodeEncodeError` (a lone surrogate such as JSON's `"\\ud800"`);
    MySQL reports errors 1264, 1366, 1406... and its drivers raise `UnicodeEncodeError`.
    """
    if isinstance(exc, OverflowError | UnicodeEncodeError) and _raised_by_sqlite(exc):
        return True
    if isinstance(exc, UnicodeEncodeError) and _raised_by(exc, _MYSQL_MODULES):
        return True
    if mysql_errors.data_error_code(exc) is not None:
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover
        return False
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, asyncpg.DataError) or isinstance(cause, asyncpg.DataError)


def data_error_detail(exc: BaseException) -> list[dict[str, Any]]:
    """A field error naming the column when the database says which (MySQL does), else the
    body as a whole (`["body"]`): a value the database cannot store is a 422 either way."""
    if isinstance(exc, UnicodeEncodeError):
        field = mysql_errors.column_of_unencodable_text(exc)
        message = "Text cannot be stored: it holds characters that are not valid Unicode."
    else:
        field = mysql_errors.data_error_column(exc)
        code = mysql_errors.data_error_code(exc)
        message = _DATA_ERROR_MESSAGES.get(code or 0, "Value cannot be stored in this field.")
    if field is None:
        message = "A value cannot be stored: out of range or invalid for its field."
        return [{"loc": ["body"], "msg": message, "type": "invalid_value"}]
    return [{"loc": ["body", field], "msg": message, "type": "invalid_value"}]


_DATA_ERROR_MESSAGES = {
    1264: "Value out of range for this field.",
    1292: "Value is not a valid date or time for this field.",
    1366: "Text cannot be stored: it holds characters that are not valid Unicode.",
    1406: "Value is too long for this field.",
}


def database_unavailable_response() -> JSONResponse:
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _is_timeout(exc: BaseException) -> bool:
    """PostgreSQL ended the statement: `statement_timeout` or `lock_timeout` passed."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover
        return False
    timeouts = (asyncpg.exceptions.QueryCanceledError, asyncpg.exceptions.LockNotAvailableError)
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            return False
        if isinstance(current, timeouts):
            return True
        current = current.__cause__ or current.__context__
    return False


def database_timeout_response(request: Request, exc: BaseException) -> JSONResponse:
    logger.warning("database timeout on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "The database is busy: the request took too long. Try again shortly."},
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def operational_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DatabaseUnavailable) or is_connection_error(exc):
        logger.error("database unavailable: %s", exc)
        return database_unavailable_response()
    if _is_timeout(exc):
        return database_timeout_response(request, exc)
    if _is_data_error(exc):
        return JSONResponse({"detail": data_error_detail(exc)}, status_code=422)
    if mysql_errors.is_retryable(exc):
        # A deadlock victim: the transaction is rolled back whole, so the request can be retried.
        logger.warning("transaction rolled back by the database: %s", exc)
        return JSONResponse(
            {"detail": "The database is busy; try again."},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return await server_error(request, exc)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    if is_connection_error(exc):
        logger.error("database unavailable: %s", exc)
        return database_unavailable_response()
    if _is_timeout(exc):
        return database_timeout_response(request, exc)
    hint = missing_schema_hint(exc)  # a table or column missing: say to run `core migrate`
    logger.error(
        "unhandled error on %s %s%s",
        request.method,
        request.url.path,
        f": {hint}" if hint else "",
        exc_info=exc,
    )
    body: dict[str, Any] = {"detail": "Internal Server Error"}
    if request.app.debug:
        if hint:
            body["hint"] = hint
        body["traceback"] = traceback.format_exception(exc)
    return JSONResponse(body, status_code=500)


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(ValidationError, pydantic_validation_error)
    app.add_exception_handler(json.JSONDecodeError, malformed_json)
    app.add_exception_handler(UnicodeDecodeError, malformed_json)
    app.add_exception_handler(RecursionError, recursion_error)
    app.add_exception_handler(DoesNotExist, does_not_exist)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(TortoiseValidationError, model_validation_error)
    app.add_exception_handler(OperationalError, operational_error)
    app.add_exception_handler(OverflowError, operational_error)  # sqlite3: integer too large
    app.add_exception_handler(UnicodeEncodeError, operational_error)  # sqlite3: lone surrogate
    app.add_exception_handler(DatabaseUnavailable, operational_error)
    app.add_exception_handler(HashingBusy, hashing_busy)
    app.add_exception_handler(StatusError, status_error)
    app.add_exception_handler(ConnectionError, operational_error)
    app.add_exception_handler(OSError, operational_error)
    app.add_exception_handler(TimeoutError, operational_error)
    app.add_exception_handler(Exception, server_error)
