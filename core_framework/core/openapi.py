"""The OpenAPI document made exact about errors: what FastAPI adds by itself, corrected.

FastAPI documents a 422 `HTTPValidationError` on every route with parameters. Here a 422 body
is `ValidationErrorResponse` (no `input`, no `ctx`), and a route whose only parameters are in
the path documents a 404 instead: an unparsable id is answered "Not found." (core.errors).
"""

from __future__ import annotations

from typing import Any

from core.views.errors import ErrorMessage, ValidationErrorResponse

_REF = "#/components/schemas/"
_FASTAPI_422 = _REF + "HTTPValidationError"


def _response(model: type[Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + model.__name__}}},
    }


def _add_components(schemas: dict[str, Any]) -> None:
    for model in (ErrorMessage, ValidationErrorResponse):
        definition = model.model_json_schema(ref_template=_REF + "{model}")
        schemas.update(definition.pop("$defs", {}))
        schemas.setdefault(model.__name__, definition)


def exact_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite FastAPI's automatic 422s in `schema` (in place) and return it."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    used = False
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            content = responses.get("422", {}).get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") != _FASTAPI_422:
                continue
            in_path_only = "requestBody" not in operation and all(
                parameter.get("in") == "path" for parameter in operation.get("parameters", [])
            )
            del responses["422"]
            if in_path_only:
                responses.setdefault("404", _response(ErrorMessage, "Not found"))
            else:
                responses["422"] = _response(
                    ValidationErrorResponse,
                    "Validation error: the fields refused, each with `loc`, `msg` and `type`",
                )
            used = True
    if used:
        _add_components(schemas)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # no reference is left
    if not schemas:
        schema["components"].pop("schemas")
    return schema
