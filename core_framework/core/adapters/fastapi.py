"""FastAPI internals the ViewSet routes rely on (written for fastapi >=0.163.0,<0.164).

`ActionRoute` serves a route without FastAPI's dependency solver but with FastAPI's own
validators, so it needs: the route FastAPI is building a handler for (an included route has
its own effective context), whether its body fields are embedded, FastAPI's parameter and body
validators, and FastAPI's way of reading a JSON body (copied: it is inline in FastAPI).
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter, _effective_route_context_var
from fastapi.telemetry._api import _route_selected
from fastapi.utils import is_body_allowed_for_status_code
from pydantic_core import PydanticUndefined
from starlette.responses import Response

WRITTEN_FOR = "fastapi >=0.163.0,<0.164"


def effective_route(route: APIRoute) -> Any:
    """The route whose handler FastAPI is building: `route`, or its copy being included."""
    context = _effective_route_context_var.get()
    return context if context is not None and context.original_route is route else route


def embeds_body_fields(route: Any) -> bool:
    """Whether the body's fields are read from a JSON object by name (FastAPI's `embed`)."""
    return bool(route._embed_body_fields)


def answers_default_json(route: Any) -> bool:
    """Whether the route answers as FastAPI does by default: `JSONResponse`, no model or `Any`."""
    response_class = route.response_class
    return (
        isinstance(response_class, DefaultPlaceholder)
        and response_class.value is JSONResponse
        and (route.response_field is None or route.response_model is Any)
    )


def default_json_response(route: Any, content: Any, status_code: int | None) -> Response:
    """`content` answered as FastAPI's handler answers it on a route `answers_default_json`.

    With a response field (`Any`, which validates to itself) FastAPI dumps JSON bytes with
    pydantic; without one it encodes with `jsonable_encoder` into a `JSONResponse`. A status
    that allows no body gets none. Mirrors `get_request_handler` in fastapi/routing.py.
    """
    field = route.response_field
    response: Response
    if field is None:
        response = JSONResponse(jsonable_encoder(content), status_code=status_code or 200)
    else:
        body = field.serialize_json(
            content,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
        )
        response = Response(body, media_type="application/json", status_code=status_code or 200)
    if not is_body_allowed_for_status_code(response.status_code):
        response.body = b""
    return response


def validate_params(
    fields: Sequence[Any], received: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Query (or header) values validated by FastAPI: `(values, errors)`."""
    return request_params_to_args(fields, received)


async def validate_body(
    fields: list[Any], body: Any, embed: bool
) -> tuple[dict[str, Any], list[Any]]:
    """The body validated by FastAPI: `(values, errors)`."""
    return await request_body_to_args(fields, body, embed)


async def read_json_body(request: Request) -> Any:
    """The body as FastAPI reads it: JSON when declared as JSON, raw bytes otherwise.

    An empty body is undefined (so "missing" when the body is required); JSON that doesn't
    parse, or nests deeper than the interpreter can decode, is FastAPI's `json_invalid` error,
    which the error handlers answer with a 400. Mirrors fastapi/routing.py's body reading in
    `get_request_handler`.
    """
    body = await request.body()
    if not body:
        return PydanticUndefined
    content_type = request.headers.get("content-type")
    if content_type is None:
        return body
    if content_type != "application/json":
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (
            subtype == "json" or subtype.endswith("+json")
        ):
            return body
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([_json_invalid(exc.pos, exc.msg)], body=exc.doc) from exc
    except RecursionError as exc:  # `[[[[...` nested deeper than the interpreter's stack
        raise RequestValidationError([_json_invalid(0, NESTING_TOO_DEEP)]) from exc


#: Why a body nested deeper than Python's recursion limit is refused.
NESTING_TOO_DEEP = "nested too deeply"


def _json_invalid(position: int, reason: str) -> dict[str, Any]:
    """FastAPI's `json_invalid` error, which the error handlers answer with a 400."""
    return {
        "type": "json_invalid",
        "loc": ("body", position),
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": reason},
    }


def routes_version(router: APIRouter) -> int:
    """A number FastAPI bumps whenever a route is added to `router` itself."""
    return int(router._routes_version)


def route_selected(scope: Any, path: str | None) -> None:
    """Tell FastAPI's telemetry which route serves the request, as its router does."""
    _route_selected(scope=scope, path=path)
