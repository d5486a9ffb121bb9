"""How ViewSet routes run: authorization first, FastAPI's validation shapes, and inclusion.

AutoRouter routes skip FastAPI's dependency solver; these tests pin down what that must keep:
401/403 before the body is parsed, FastAPI's error locations, routers included with extra
dependencies (which then run), and the same endpoint served by a plain FastAPI route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Depends, HTTPException, Request

from core import AutoRouter, CoreApp, InputSchema, ViewSet, action
from core.permissions import AllowAny
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import Post, User
from tests.guide_app import PostViewSet
from tests.helpers import app_with, make_post

POSTS = "/api/v1/posts/"


async def test_authorization_comes_before_the_body_is_parsed(client) -> None:
    malformed = await client.post(
        POSTS, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 401
    invalid = await client.post(POSTS, json={"title": 5})
    assert invalid.status_code == 401


async def test_validation_errors_keep_fastapis_locations(client, alice) -> None:
    force_authenticate(client, alice)
    response = await client.post(POSTS, json={"title": ["not", "a", "string"], "slug": "s"})
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert ["body", "title"] in locations and ["body", "content"] in locations

    missing = await client.post(POSTS, headers={"content-type": "application/json"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body"]

    not_json = await client.post(POSTS, content=b"title=x", headers={"content-type": "text/plain"})
    assert not_json.status_code == 422

    bad_page = await client.get(POSTS, params={"page": "two"})
    assert bad_page.status_code == 422
    assert bad_page.json()["detail"][0]["loc"] == ["query", "page"]

    assert (await client.get(f"{POSTS}abc/")).status_code == 404
    assert (await client.get(f"{POSTS}{2**40}/")).status_code == 404


async def test_json_media_types_with_parameters_and_suffixes_are_read_as_json(
    client, alice
) -> None:
    force_authenticate(client, alice)
    body = b'{"title": "T", "slug": "one", "content": "c"}'
    cases = [("application/json; charset=utf-8", 201), ("application/merge-patch+json", 422)]
    for content_type, expected in cases:  # the second is read as JSON too: its slug is taken
        response = await client.post(POSTS, content=body, headers={"content-type": content_type})
        assert response.status_code == expected, response.text
        if expected == 422:
            assert response.json()["detail"][0]["loc"] == ["body", "slug"]
    assert await Post.objects.using(app_database()).filter(slug="one").count() == 1


class Recorder:
    """A router-level dependency that records the requests it saw and may refuse them."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, request: Request) -> None:
        self.paths.append(request.url.path)
        if request.headers.get("x-refuse"):
            raise HTTPException(status_code=418, detail="refused by the router dependency")


@pytest.fixture(params=[APIRouter, AutoRouter])
async def recorded(request) -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    """The PostViewSet's router included, with a dependency, in a FastAPI or an AutoRouter."""
    recorder = Recorder()
    posts_router = AutoRouter(prefix="/posts")
    posts_router.register("", PostViewSet, basename="post")
    api_router = request.param(prefix="/api")
    api_router.include_router(posts_router, dependencies=[Depends(recorder)])
    async with app_client(app_with(api_router)) as http:
        yield http, recorder


async def test_dependencies_added_when_including_a_router_run(recorded) -> None:
    http, recorder = recorded
    author = await User.create_user("a@example.com", "Password1", db=app_database())
    post = await make_post(app_database(), author)
    response = await http.get(f"/api/posts/{post.id}/")
    assert response.status_code == 200
    assert response.json()["slug"] == "title"
    assert recorder.paths == [f"/api/posts/{post.id}/"]
    refused = await http.get("/api/posts/", headers={"x-refuse": "1"})
    assert refused.status_code == 418


@pytest.fixture
async def plain_route_client() -> AsyncIterator[httpx.AsyncClient]:
    """A ViewSet endpoint served by FastAPI's own route class (no AutoRouter)."""
    source = AutoRouter(prefix="/posts")
    source.register("", PostViewSet, basename="post")
    plain = APIRouter()
    for route in source.routes:
        plain.add_api_route(
            route.path,  # type: ignore[attr-defined]
            route.endpoint,  # type: ignore[attr-defined]
            methods=list(route.methods),  # type: ignore[attr-defined]
            status_code=route.status_code,  # type: ignore[attr-defined]
        )
    async with app_client(app_with(plain)) as http:
        yield http


async def test_endpoints_also_run_under_fastapis_own_routes(plain_route_client) -> None:
    http = plain_route_client
    author = await User.create_user("a@example.com", "Password1", db=app_database())
    post = await make_post(app_database(), author)
    assert (await http.get(f"/posts/{post.id}/")).json()["id"] == post.id
    assert (await http.get("/posts/abc/")).status_code == 404
    assert (await http.post("/posts/", json={"title": "t"})).status_code == 401
    listed = await http.get("/posts/", params={"page_size": 1})
    assert listed.json()["count"] == 1


def test_nested_autorouters_are_copied_flat_and_reversible() -> None:
    posts_router = AutoRouter(prefix="/posts", tags=["Posts"])
    posts_router.register("", PostViewSet, basename="post")
    api_router = AutoRouter(prefix="/api/v1")
    api_router.include_router(posts_router)
    app = CoreApp(title="t", routers=[api_router], database_url="sqlite+aiosqlite:///:memory:")
    assert app.url_path_for("post-retrieve", id="3") == "/api/v1/posts/3/"
    assert app.url_path_for("post-publish", id="3") == "/api/v1/posts/3/publish/"
    operation = app.openapi()["paths"]["/api/v1/posts/{id}/"]["get"]
    assert (
        operation["tags"] == ["Posts"]
        and operation["operationId"] == "post_retrieve_api_v1_posts__id___get"
    )
    with pytest.raises(RuntimeError, match="register its ViewSets and routes before including"):
        posts_router.register("again", PostViewSet, basename="again")


async def test_deeply_nested_json_is_400_under_fastapis_own_routes(recorded) -> None:
    """Routes FastAPI serves (a router included with dependencies) parse bodies themselves."""
    http, _ = recorded
    author = await User.create_user("a@example.com", "Password1", db=app_database())
    force_authenticate(http, author)
    response = await http.post(
        "/api/posts/",
        content="[" * 1000 + "]" * 1000,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "detail" in response.json() and "traceback" not in response.json()


async def test_405_allow_lists_every_method_of_the_path(client, alice) -> None:
    """Each ViewSet method is its own route: Allow used to name only the first one's."""
    post = await make_post(app_database(), alice)
    expected = {
        ("DELETE", POSTS): "GET, POST",
        ("POST", f"{POSTS}{post.id}/"): "GET, PUT, PATCH, DELETE",
        ("GET", f"{POSTS}{post.id}/publish/"): "POST",
        # A static action wins over `{id}` for every method, not only for its own.
        ("PUT", f"{POSTS}featured/"): "GET",
        ("DELETE", f"{POSTS}featured/"): "GET",
    }
    for (method, url), allow in expected.items():
        response = await client.request(method, url)
        assert response.status_code == 405, (method, url)
        assert response.headers["allow"] == allow
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}


class NoteInput(InputSchema):
    """Every field has a default: the body of an action taking it is optional."""

    note: str | None = None
    times: int = 1


class NoteInputRequired(InputSchema):
    note: str


class OptionalBodyViewSet(ViewSet):
    permission_classes = [AllowAny]

    @action(methods=["POST"], detail=False, input_schema=NoteInput)
    async def echo(self, request: Request, db, data: NoteInput, **kwargs):
        return data.model_dump()

    @action(methods=["POST"], detail=False, input_schema=NoteInputRequired)
    async def needed(self, request: Request, db, data: NoteInputRequired, **kwargs):
        return data.model_dump()


async def test_an_action_whose_fields_all_have_defaults_takes_no_body() -> None:
    router = AutoRouter(prefix="/notes")
    router.register("", OptionalBodyViewSet, basename="note")
    async with app_client(app_with(router)) as http:
        defaults = {"note": None, "times": 1}
        for sent in (
            {},  # no body at all
            {"content": b""},
            {"content": b"", "headers": {"content-type": "application/json"}},
            {"json": {}},
        ):
            response = await http.post("/notes/echo/", **sent)
            assert response.status_code == 200, (sent, response.text)
            assert response.json() == defaults
        given = await http.post("/notes/echo/", json={"note": "hi", "times": 2})
        assert given.json() == {"note": "hi", "times": 2}
        wrong = await http.post("/notes/echo/", json={"times": "many"})
        assert wrong.status_code == 422
        # A schema with a required field still needs its body.
        missing = await http.post("/notes/needed/")
        assert missing.status_code == 422
        assert missing.json()["detail"][0]["loc"] == ["body"]
        schema = (await http.get("/openapi.json")).json()["paths"]
        assert not schema["/notes/echo/"]["post"]["requestBody"].get("required", False)
        assert schema["/notes/needed/"]["post"]["requestBody"]["required"] is True
