"""How `APIView` routes run: served by `APIViewRoute` without FastAPI's dependency solver.

The direct path must keep what FastAPI's handler gave: authentication, permissions, throttles
(in that order), a transaction for unsafe methods, FastAPI's JSON answer and status code. A
route given more dependencies is served by FastAPI, whose 422 shapes its parameters keep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from tortoise.backends.base.client import BaseDBAsyncClient

from core import APIView, CoreApp
from core.permissions import AllowAny, IsAuthenticated
from core.testing import app_client, app_database, force_authenticate
from core.throttling import BaseThrottle
from core.views.endpoints import APIViewRoute
from tests.example_models import User
from tests.helpers import app_with


class RefuseMarked(BaseThrottle):
    """Records every request it is asked about; refuses those with an `x-throttle` header."""

    seen: list[str] = []

    def allow_request(self, request: Any, view: Any) -> bool:
        RefuseMarked.seen.append(request.url.path)
        return not request.headers.get("x-throttle")

    def wait(self) -> float | None:
        return 7.0


class HealthView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [RefuseMarked]

    async def get(self, request: Request, **kwargs: Any) -> dict[str, str]:
        return {"status": "healthy"}


class AccountView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [RefuseMarked]

    async def get(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        return {"email": request.state.user.email}

    async def post(self, request: Request, db: BaseDBAsyncClient, **kwargs: Any) -> dict[str, Any]:
        return {"in_transaction": "Transaction" in type(db).__name__}


def needs_count(count: int) -> int:
    return count


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, CoreApp]]:
    RefuseMarked.seen = []
    app = app_with()
    app.add_api_route("/health/", HealthView.as_route("/health/")[1], methods=["GET"])
    account = AccountView.as_route("/account/")[1]
    app.add_api_route("/account/", account, methods=["GET", "POST", "DELETE"], status_code=201)
    app.add_api_route("/counted/", account, methods=["GET"], dependencies=[Depends(needs_count)])
    async with app_client(app) as client:
        yield client, app


@pytest.fixture
def http(served) -> httpx.AsyncClient:
    return served[0]


def route_at(app: CoreApp, path: str) -> APIRoute:
    return next(r for r in app.routes if isinstance(r, APIRoute) and r.path == path)


async def test_apiview_routes_skip_the_dependency_solver(served) -> None:
    app = served[1]
    for path in ("/health/", "/account/", "/counted/"):
        assert type(route_at(app, path)) is APIViewRoute
    direct = route_at(app, "/health/").get_route_handler()
    assert direct.__qualname__.startswith("APIViewRoute.")  # not FastAPI's handler
    fallback = route_at(app, "/counted/").get_route_handler()
    assert not fallback.__qualname__.startswith("APIViewRoute.")


async def test_apiview_routes_authorize_then_throttle_then_answer(http) -> None:
    health = await http.get("/health/")
    assert health.status_code == 200
    assert health.json() == {"status": "healthy"}
    assert health.headers["content-type"] == "application/json"

    assert (await http.get("/account/")).status_code == 401  # permissions before throttles
    assert RefuseMarked.seen == ["/health/"]
    throttled = await http.get("/health/", headers={"x-throttle": "1"})
    assert throttled.status_code == 429
    assert RefuseMarked.seen == ["/health/", "/health/"]


async def test_apiview_routes_keep_status_transactions_and_405(http) -> None:
    user = await User.create_user("carol@example.com", "Password1", db=app_database())
    force_authenticate(http, user)
    read = await http.get("/account/")
    assert read.status_code == 201  # the route's status_code, as FastAPI answers it
    assert read.json() == {"email": "carol@example.com"}
    written = await http.post("/account/")
    assert written.json() == {"in_transaction": True}
    assert (await http.delete("/account/")).status_code == 405
    assert (await http.get("/account/", headers={"x-throttle": "1"})).status_code == 429


async def test_apiview_routes_with_more_dependencies_keep_fastapis_422(http) -> None:
    user = await User.create_user("dan@example.com", "Password1", db=app_database())
    assert (await http.get("/counted/", params={"count": "x"})).status_code == 401
    force_authenticate(http, user)
    invalid = await http.get("/counted/", params={"count": "x"})
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["query", "count"]
    assert (await http.get("/counted/", params={"count": "2"})).json() == {"email": user.email}
    assert "/counted/" in RefuseMarked.seen
