"""`AutoRouter` as a registry: routes are built when an app includes the router."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter

from core import APIView, AutoRouter, CoreApp, ReadOnlyModelViewSet, ViewSet, action
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.routing import Registration
from core.testing import app_client, app_database
from core.views.endpoints import APIViewRoute
from tests.example_models import Post, User
from tests.guide_app import PostOutput, PostViewSet
from tests.helpers import app_with, make_post


class Catalog(ReadOnlyModelViewSet):
    model = Post
    output_schema = PostOutput
    permission_classes = [AllowAny]


def paths(app: CoreApp) -> list[str]:
    return sorted(app.openapi()["paths"])


def test_register_records_and_builds_no_route() -> None:
    router = AutoRouter(prefix="/posts")
    router.register("", PostViewSet, basename="post")
    (entry,) = router.registry
    assert isinstance(entry, Registration)
    assert (entry.prefix, entry.viewset, entry.basename) == ("", PostViewSet, "post")
    assert router._routes == []  # nothing built until the routes are asked for
    assert {route.name for route in router.routes} >= {"post-list", "post-publish"}  # type: ignore[attr-defined]


def test_registering_after_including_in_another_router_is_served() -> None:
    posts = AutoRouter(prefix="/posts", tags=["Posts"])
    api = AutoRouter(prefix="/api")
    api.include_router(posts)
    posts.register("", PostViewSet, basename="post")  # after the include: still built
    catalog = AutoRouter(prefix="/catalog")
    api.include_router(catalog)
    catalog.register("", Catalog, basename="catalog")
    app = app_with(api)
    assert app.url_path_for("post-publish", id="3") == "/api/posts/3/publish/"
    assert app.url_path_for("catalog-list") == "/api/catalog/"
    assert app.openapi()["paths"]["/api/posts/"]["get"]["tags"] == ["Posts"]
    with pytest.raises(RuntimeError, match="register its ViewSets and routes before including"):
        catalog.register("more", Catalog, basename="more")
    with pytest.raises(RuntimeError, match="already included in an app"):
        api.include_router(AutoRouter(prefix="/late"))


def test_a_router_builds_into_every_app_that_includes_it() -> None:
    router = AutoRouter(prefix="/catalog")
    router.register("", Catalog, basename="catalog")
    first = app_with(router)
    second = app_with(router)
    assert paths(first) == paths(second) == ["/catalog/", "/catalog/{id}/"]


def test_a_router_read_before_a_late_registration_is_rebuilt() -> None:
    posts = AutoRouter(prefix="/posts")
    api = AutoRouter(prefix="/api")
    api.include_router(posts)
    assert api.routes == []
    posts.register("", Catalog, basename="catalog")
    assert sorted(route.path for route in api.routes) == ["/api/posts/", "/api/posts/{id:int}/"]  # type: ignore[attr-defined]


async def test_included_the_fastapi_way_a_late_registration_is_served() -> None:
    router = AutoRouter(prefix="/catalog")
    outer = APIRouter(prefix="/api")
    outer.include_router(router)  # FastAPI's own, lazy inclusion
    router.register("", Catalog, basename="catalog")
    async with app_client(app_with(outer)) as http:
        author = await User.create_user("r@example.com", "Password1", db=app_database())
        await make_post(app_database(), author)
        assert (await http.get("/api/catalog/")).json()["count"] == 1


def test_a_basename_is_registered_once_per_router() -> None:
    router = AutoRouter(prefix="/api")
    router.register("/posts", PostViewSet)
    with pytest.raises(ImproperlyConfigured, match="basename 'post' is already registered"):
        router.register("/catalog", Catalog)
    router.register("/catalog", Catalog, basename="catalog")


def test_an_action_cannot_take_a_crud_actions_name() -> None:
    class Clash(ViewSet):
        @action(methods=["GET"], detail=False)
        async def list(self, request: Any, db: Any, **kwargs: Any) -> None:
            return None

    with pytest.raises(ImproperlyConfigured, match=r"Clash\.list: an @action cannot be named"):
        AutoRouter().register("/clash", Clash, basename="clash")


def test_routers_with_options_of_their_own_are_included_the_fastapi_way() -> None:
    from fastapi import Depends

    async def nothing() -> None:
        return None

    guarded = AutoRouter(prefix="/guarded", dependencies=[Depends(nothing)])
    guarded.register("", Catalog, basename="guarded")
    assert not guarded.flattens()
    app = app_with(guarded)
    assert paths(app) == ["/guarded/", "/guarded/{id}/"]
    assert not guarded.mounted  # FastAPI keeps the router: a late registration is served


class Health(APIView):
    permission_classes = [AllowAny]

    async def get(self, request: Any, **kwargs: Any) -> dict[str, str]:
        return {"status": "healthy"}


async def test_routes_added_by_hand_are_built_with_the_viewsets() -> None:
    system = AutoRouter(prefix="/system", tags=["System"])
    system.add_api_route("/health/", Health.as_route("/health/")[1], methods=["GET"])

    @system.get("/version/", tags=["Meta"])
    async def version() -> dict[str, str]:
        return {"version": "1"}

    api = AutoRouter(prefix="/api")
    api.include_router(system, tags=["Outer"])
    api.register("/catalog", Catalog, basename="catalog")
    app = app_with(api)
    routes = {getattr(route, "path", ""): route for route in app.routes}
    assert type(routes["/api/system/health/"]) is APIViewRoute
    assert app.openapi()["paths"]["/api/system/version/"]["get"]["tags"] == [
        "Outer",
        "System",
        "Meta",
    ]
    async with app_client(app) as http:
        assert (await http.get("/api/system/health/")).json() == {"status": "healthy"}
        assert (await http.get("/api/system/version/")).json() == {"version": "1"}
        assert (await http.get("/api/catalog/")).json()["count"] == 0
