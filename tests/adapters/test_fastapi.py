"""What `core.adapters.fastapi` relies on in FastAPI, checked against the installed FastAPI."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import fastapi.routing
import httpx
from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from core.adapters.fastapi import (
    WRITTEN_FOR,
    answers_default_json,
    default_json_response,
    effective_route,
    embeds_body_fields,
    read_json_body,
    route_selected,
    routes_version,
    validate_body,
    validate_params,
)
from tests.adapters.upstream import attribute, require


def check(condition: Any, name: str, what: str) -> None:
    require(condition, WRITTEN_FOR, name, what, "fastapi")


class Item(BaseModel):
    name: str
    size: int = 1


def test_the_effective_route_context_var_names_the_route_being_included() -> None:
    var = attribute(
        fastapi.routing, "_effective_route_context_var", WRITTEN_FOR, "fastapi", "fastapi.routing"
    )
    check(
        isinstance(var, ContextVar),
        "fastapi.routing._effective_route_context_var",
        "is no ContextVar",
    )
    seen: list[tuple[APIRoute, Any]] = []

    class Recording(APIRoute):
        def get_route_handler(self) -> Any:
            seen.append((self, effective_route(self)))
            return super().get_route_handler()

    router = APIRouter(route_class=Recording)

    @router.post("/items/")
    async def create(item: Item) -> dict[str, str]:
        return {"name": item.name}

    app = FastAPI()
    app.include_router(router, prefix="/api")
    check(seen, "APIRoute.get_route_handler", "is no longer called when a route is built")
    for route, effective in seen:
        check(
            effective is route or effective.original_route is route,
            "fastapi.routing._effective_route_context_var",
            "no longer holds the included route's context (original_route)",
        )
        check(hasattr(effective, "dependant"), "effective route .dependant", "is gone")


_bodies = APIRouter()


@_bodies.post("/one")
async def _one(item: Item) -> None:
    return None


@_bodies.post("/two")
async def _two(item: Item, note: str = Body()) -> None:
    return None


def body_route(*bodies: Any) -> APIRoute:
    """The route with one model body (`Item`), or with two body fields."""
    route = _bodies.routes[0 if len(bodies) == 1 else 1]
    assert isinstance(route, APIRoute)
    return route


def test_embed_body_fields_says_whether_the_body_is_an_object_of_fields() -> None:
    attribute(body_route(Item), "_embed_body_fields", WRITTEN_FOR, "fastapi", "APIRoute")
    check(
        not embeds_body_fields(body_route(Item)),
        "APIRoute._embed_body_fields",
        "is true for one model body",
    )
    check(
        embeds_body_fields(body_route(Item, str)),
        "APIRoute._embed_body_fields",
        "is false for two body fields",
    )


async def test_fastapis_validators_answer_values_and_errors() -> None:
    route = body_route(Item)
    values, errors = await validate_body(route.dependant.body_params, {"name": "a"}, False)
    check(
        errors == [] and values["item"] == Item(name="a"),
        "fastapi.dependencies.utils.request_body_to_args",
        "changed its result",
    )
    _, errors = await validate_body(route.dependant.body_params, {"size": "x"}, False)
    check(
        errors and errors[0]["loc"][0] == "body",
        "fastapi.dependencies.utils.request_body_to_args",
        "changed its errors",
    )

    router = APIRouter()

    @router.get("/q")
    async def query(page: int = 1) -> None:
        return None

    query_route = router.routes[0]
    assert isinstance(query_route, APIRoute)
    values, errors = validate_params(query_route.dependant.query_params, {"page": "3"})
    check(
        values == {"page": 3} and errors == [],
        "fastapi.dependencies.utils.request_params_to_args",
        "changed its result",
    )
    _, errors = validate_params(query_route.dependant.query_params, {"page": "x"})
    check(
        errors and errors[0]["loc"] == ("query", "page"),
        "fastapi.dependencies.utils.request_params_to_args",
        "changed its errors",
    )


async def test_reading_the_body_answers_as_fastapi_does() -> None:
    """The copy of FastAPI's body reading gives the same answers as FastAPI for each body."""
    app = FastAPI()
    route = body_route(Item)

    @app.post("/fastapi")
    async def by_fastapi(item: Item) -> dict[str, Any]:
        return item.model_dump()

    @app.post("/core")
    async def by_core(request: Request) -> dict[str, Any]:
        body = await read_json_body(request)
        values, errors = await validate_body(route.dependant.body_params, body, False)
        if errors:
            raise RequestValidationError(errors, body=body)
        return values["item"].model_dump()

    cases = [
        ("application/json", b'{"name": "a"}'),
        ("application/json; charset=utf-8", b'{"name": "a", "size": 2}'),
        ("application/vnd.api+json", b'{"name": "b"}'),
        ("application/json", b'{"name": '),
        ("application/json", b""),
        ("text/plain", b'{"name": "a"}'),
        (None, b'{"name": "a"}'),
        ("application/json", b'{"size": "x"}'),
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for content_type, content in cases:
            headers = {"content-type": content_type} if content_type else {}
            expected = await client.post("/fastapi", content=content, headers=headers)
            got = await client.post("/core", content=content, headers=headers)
            check(
                (got.status_code, got.json()) == (expected.status_code, expected.json()),
                "FastAPI's JSON body reading (fastapi/routing.py get_request_handler)",
                f"answers {expected.status_code} {expected.json()} for {content_type!r} {content!r}",
            )


class Aliased(BaseModel):
    value: int = Field(alias="theValue")


ANSWERS: list[Any] = [
    {"status": "healthy", "name": "Zoë"},
    [1, 2.5, None, True],
    None,
    {"when": datetime(2024, 6, 1, 12, 30, tzinfo=UTC), "model": Aliased(theValue=3)},
]


async def test_the_default_json_answer_is_fastapis() -> None:
    """`default_json_response` gives FastAPI's bytes, status and content type, per route."""
    app = FastAPI()
    answer: list[Any] = [None]

    async def returns_any() -> Any:
        return answer[0]

    async def unannotated():  # no annotation: no response field
        return answer[0]

    app.add_api_route("/any", returns_any)
    app.add_api_route("/none", unannotated)
    app.add_api_route("/created", returns_any, status_code=201)
    app.add_api_route("/empty", unannotated, status_code=204)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    check(
        all(answers_default_json(route) for route in routes),
        "APIRoute.response_field / response_class",
        "no longer mark a route without a response model or class as FastAPI's default",
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for route in routes:
            for content in ANSWERS:
                answer[0] = content
                expected = await client.get(route.path)
                got = default_json_response(route, content, route.status_code)
                check(
                    (got.status_code, bytes(got.body), got.headers["content-type"])
                    == (expected.status_code, expected.content, expected.headers["content-type"]),
                    "FastAPI's default JSON answer (fastapi/routing.py get_request_handler)",
                    f"answers {expected.status_code} {expected.content!r} on {route.path}",
                )


def test_the_routes_version_changes_when_a_route_is_added() -> None:
    router = APIRouter()
    attribute(router, "_routes_version", WRITTEN_FOR, "fastapi", "fastapi.routing.APIRouter")
    before = routes_version(router)
    router.add_api_route("/x", _one, methods=["POST"])
    check(routes_version(router) != before, "APIRouter._routes_version", "no longer changes")


def test_route_selected_names_the_route_to_telemetry_and_ignores_plain_scopes() -> None:
    import fastapi.telemetry._api as telemetry

    attribute(telemetry, "_route_selected", WRITTEN_FOR, "fastapi", "fastapi.telemetry._api")
    scope: dict[str, Any] = {"type": "http"}
    route_selected(scope, "/posts/{id}/")  # no telemetry on the request: nothing to do
    check(scope == {"type": "http"}, "fastapi.telemetry._api._route_selected", "changes scopes")
