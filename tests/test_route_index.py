"""`CoreApp` matches requests through `RouteIndex`: the router's answers, fewer routes tried.

Every request below is answered by a `CoreApp` and by one whose router loops over every route
(FastAPI's own way); they must agree (first full match, 405 from a partial one, slash
redirects, mounts, a parameter as the first segment, routes added after the first request).
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.responses import PlainTextResponse
from starlette.routing import Match, Mount, Route

from core import CoreApp
from core.config import Settings
from core.routing import RouteIndex


class Anywhere(Route):
    """A route with its own `matches`: the index must try it for every path."""

    def matches(self, scope: Any) -> tuple[Match, dict[str, Any]]:
        if scope["type"] == "http" and scope["path"].endswith("/anything/"):
            return Match.FULL, {"endpoint": self.endpoint, "path_params": {}}
        return Match.NONE, {}


def build(app: FastAPI) -> FastAPI:
    router = APIRouter()

    @router.get("/posts/")
    async def posts_list() -> str:
        return "list"

    @router.post("/posts/")
    async def posts_create() -> str:
        return "create"

    @router.get("/posts/{post_id}/")
    async def posts_one(post_id: int) -> str:
        return f"post {post_id}"

    @router.get("/posts/featured/")  # after `{post_id}`: that one wins, as in FastAPI
    async def posts_featured() -> str:
        return "featured"

    @router.get("/{lang}/about/")
    async def about(lang: str) -> str:
        return f"about {lang}"

    @router.get("/")
    async def root() -> str:
        return "root"

    app.include_router(router, prefix="/api")  # an included router: tried for any path
    for route in router.routes:  # and the same routes flat, indexed by their first segment
        assert isinstance(route, APIRoute)
        app.add_api_route(route.path, route.endpoint, methods=list(route.methods))

    async def static(request: Any) -> PlainTextResponse:
        return PlainTextResponse("mounted " + request.url.path)

    app.router.routes.append(Mount("/files", routes=[Route("/{name}", static)]))
    app.router.routes.append(Anywhere("/never", static))
    return app


PATHS = [
    ("GET", "/posts/"),
    ("POST", "/posts/"),
    ("DELETE", "/posts/"),  # a partial match: 405 with Allow
    ("GET", "/posts/7/"),
    ("GET", "/posts/featured/"),
    ("GET", "/posts/x/"),  # 422: a full match whose parameter is invalid
    ("GET", "/posts"),  # redirected to /posts/
    ("GET", "/en/about/"),
    ("GET", "/posts/about/"),  # the parameter route, through the `posts` segment
    ("GET", "/"),
    ("GET", "/api/posts/3/"),
    ("GET", "/api"),
    ("GET", "/files/a.txt"),
    ("GET", "/deep/anything/"),
    ("GET", "/posts/anything/"),
    ("GET", "/nothing/here/"),
    ("GET", "/later/"),
]


async def answers(app: FastAPI) -> list[tuple[int, str, str | None]]:
    transport = httpx.ASGITransport(app=app)
    found = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method, path in PATHS:
            response = await client.request(method, path)
            found.append((response.status_code, response.text, response.headers.get("allow")))
        if not any(getattr(r, "path", None) == "/later/" for r in app.router.routes):

            @app.get("/later/")  # added after requests were served: the index is rebuilt
            async def later() -> str:
                return "later"

            response = await client.get("/later/")
            found.append((response.status_code, response.text, None))
    return found


async def test_the_index_answers_as_fastapis_router() -> None:
    indexed = build(CoreApp(title="t", settings=Settings(_env_file=None), models=[]))
    assert isinstance(indexed.router.middleware_stack, RouteIndex)
    looped = build(CoreApp(title="t", settings=Settings(_env_file=None), models=[]))
    looped.router.middleware_stack = looped.router.app  # FastAPI's own loop over the routes
    got = await answers(indexed)
    assert got == await answers(looped)
    assert got[3] == (200, '"post 7"', None)
    assert got[2][0] == 405 and got[2][2] == "GET, POST"
    segments = indexed.router.middleware_stack._by_segment  # type: ignore[union-attr]
    assert [r.path for r in segments["posts"] if isinstance(r, APIRoute)] == [
        "/posts/",
        "/posts/",
        "/posts/{post_id}/",
        "/posts/featured/",
        "/{lang}/about/",
    ]
    assert got[-1] == (200, '"later"', None)
