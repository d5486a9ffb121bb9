"""`filter_backends` per ViewSet: the default three, none, or a backend a project writes."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Request
from tortoise.queryset import QuerySet

from core import (
    BaseFilterBackend,
    FilterSetBackend,
    OrderingFilter,
    ReadOnlyModelViewSet,
    SearchFilter,
    Settings,
)
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.testing import app_client, app_database
from core.views.filters import import_filter_backends, query_parameter
from core.views.generics import GenericViewSet
from tests.example_models import Post, User
from tests.guide_app import PostOutput
from tests.helpers import app_with, make_post, viewset_routers


class MinViews(BaseFilterBackend):
    """A project's own backend: `?min_views=` with a typed, bounded integer."""

    def get_query_params(self, view: type[GenericViewSet]) -> list[inspect.Parameter]:
        return [query_parameter("min_views", int, ge=0, description="At least this many views.")]

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: GenericViewSet
    ) -> QuerySet[Any]:
        value = view.query.get("min_views")
        return queryset if value is None else queryset.filter(views_count__gte=value)


class PublishedOnly(BaseFilterBackend):
    """Reads no parameter: narrows every list (the instance is used as it is)."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: GenericViewSet
    ) -> QuerySet[Any]:
        return queryset.filter(is_published=True)


class _Posts(ReadOnlyModelViewSet):
    model = Post
    output_schema = PostOutput
    permission_classes = [AllowAny]
    filterset_fields = ["is_published"]
    search_fields = ["title"]
    ordering_fields = ["views_count"]


class CustomPosts(_Posts):
    filter_backends = [MinViews, PublishedOnly(), OrderingFilter]


class UnfilteredPosts(_Posts):
    filter_backends: list[Any] = []


class DefaultPosts(_Posts):
    """The default list, spelled out."""

    filter_backends = [SearchFilter, OrderingFilter, FilterSetBackend]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    routers = viewset_routers(
        {
            "/custom": CustomPosts,
            "/none": UnfilteredPosts,
            "/default": _Posts,
            "/spelled": DefaultPosts,
        }
    )
    async with app_client(app_with(*routers)) as http:
        yield http


@pytest.fixture
async def six_posts(client: httpx.AsyncClient) -> None:
    db = app_database()
    author = await User.create_user("filters@example.com", "Password1", db=db)
    for i in range(6):
        await make_post(db, author, slug=f"s{i}", title=f"T{i}", views_count=i * 10,
                        is_published=i % 2 == 0)  # fmt: skip


def views(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [post["views_count"] for post in response.json()["results"]]


async def test_a_custom_backend_filters_with_its_typed_parameter(client, six_posts) -> None:
    assert views(await client.get("/custom/")) == [0, 20, 40]  # PublishedOnly, by pk
    assert views(await client.get("/custom/", params={"min_views": 15})) == [20, 40]
    ordered = await client.get("/custom/", params={"min_views": 15, "ordering": "-views_count"})
    assert views(ordered) == [40, 20]
    assert (await client.get("/custom/", params={"min_views": "many"})).status_code == 422
    assert (await client.get("/custom/", params={"min_views": -1})).status_code == 422


async def test_parameters_of_backends_a_view_left_out_are_unknown(client, six_posts) -> None:
    for params in ({"search": "T1"}, {"is_published": "true"}):
        response = await client.get("/custom/", params=params)
        assert response.status_code == 422, params
        (error,) = response.json()["detail"]
        assert error["loc"] == ["query", next(iter(params))]
        assert error["msg"].endswith("Allowed: min_views, ordering, page, page_size.")
    refused = await client.get("/none/", params={"ordering": "views_count"})
    assert refused.status_code == 422
    assert views(await client.get("/none/")) == [0, 10, 20, 30, 40, 50]  # pages stay stable


async def test_the_default_backends_are_search_ordering_and_filterset(client, six_posts) -> None:
    for prefix in ("/default/", "/spelled/"):
        params = {"is_published": "true", "ordering": "-views_count", "search": "t"}
        assert views(await client.get(prefix, params=params)) == [40, 20, 0]
        assert views(await client.get(prefix, params={"search": "T3"})) == [30]
    unknown = await client.get("/default/", params={"author__password_hash": "x"})
    assert unknown.status_code == 422


async def test_openapi_lists_each_backends_parameters(client) -> None:
    document = (await client.get("/openapi.json")).json()

    def names(path: str) -> list[str]:
        return [param["name"] for param in document["paths"][path]["get"]["parameters"]]

    assert names("/custom/") == ["page", "page_size", "min_views", "ordering"]
    assert names("/none/") == ["page", "page_size"]
    expected = ["page", "page_size", "search", "ordering", "is_published"]
    assert names("/default/") == names("/spelled/") == expected
    (min_views,) = [
        param
        for param in document["paths"]["/custom/"]["get"]["parameters"]
        if param["name"] == "min_views"
    ]
    assert min_views["description"] == "At least this many views."
    assert min_views["schema"]["anyOf"][0] == {"type": "integer", "minimum": 0}


def test_the_default_backends_setting_is_a_list_of_dotted_paths() -> None:
    assert Settings().default_filter_backends == [
        "core.views.filters.SearchFilter",
        "core.views.filters.OrderingFilter",
        "core.views.filters.FilterSetBackend",
    ]
    chosen = Settings(default_filter_backends="core.views.OrderingFilter, tests.views.x.Y")  # type: ignore[arg-type]
    assert chosen.default_filter_backends == ["core.views.OrderingFilter", "tests.views.x.Y"]
    (backend,) = import_filter_backends(["core.views.filters.OrderingFilter"])
    assert isinstance(backend, OrderingFilter)
    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        import_filter_backends(["core.views.filters.Nope"])
    with pytest.raises(ImproperlyConfigured, match="not a filter backend"):
        import_filter_backends(["core.views.ModelViewSet"])
