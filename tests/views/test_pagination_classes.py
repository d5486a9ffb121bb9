"""`pagination_class` per ViewSet: page numbers (the default), limit/offset, or a plain list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core import ReadOnlyModelViewSet
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.testing import app_client, app_database
from core.views import LimitOffsetPagination, PageNumberPagination
from core.views.pagination import import_pagination
from tests.example_models import Post, User
from tests.guide_app import PostOutput
from tests.helpers import app_with, count_queries, make_post, viewset_routers


class _Posts(ReadOnlyModelViewSet):
    model = Post
    output_schema = PostOutput
    permission_classes = [AllowAny]
    page_size = 3
    max_page_size = 5
    ordering = ["id"]
    filterset_fields = ["is_published"]


class LimitOffsetPosts(_Posts):
    pagination_class = LimitOffsetPagination


class PageNumberPosts(_Posts):
    pagination_class = PageNumberPagination


class PlainPosts(_Posts):
    pagination_class = None


class InstancePosts(_Posts):
    read_rows = False  # model instances: counted apart, as always


def build_app() -> Any:
    routers = viewset_routers(
        {
            "/lo": LimitOffsetPosts,
            "/pn": PageNumberPosts,
            "/plain": PlainPosts,
            "/default": _Posts,
            "/instances": InstancePosts,
        }
    )
    return app_with(*routers)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app()) as http:
        yield http


@pytest.fixture
async def seven_posts(client: httpx.AsyncClient) -> None:
    db = app_database()
    author = await User.create_user("pager@example.com", "Password1", db=db)
    for i in range(7):
        await make_post(db, author, slug=f"p{i}", views_count=i, is_published=i % 2 == 0)


def views(page: dict[str, Any]) -> list[int]:
    return [post["views_count"] for post in page["results"]]


async def test_limit_offset_pages_with_links(client, seven_posts) -> None:
    first = (await client.get("/lo/")).json()
    assert list(first) == ["count", "next", "previous", "results"]
    assert first["count"] == 7 and views(first) == [0, 1, 2]  # limit defaults to page_size
    assert first["previous"] is None
    assert first["next"] == "http://testserver/lo/?limit=3&offset=3"
    second = (await client.get(first["next"])).json()
    assert views(second) == [3, 4, 5]
    assert second["previous"] == "http://testserver/lo/?limit=3"
    third = (await client.get(second["next"])).json()
    assert views(third) == [6] and third["next"] is None
    assert third["previous"] == "http://testserver/lo/?limit=3&offset=3"
    middle = (await client.get("/lo/", params={"limit": 2, "offset": 4})).json()
    assert views(middle) == [4, 5]
    assert middle["previous"] == "http://testserver/lo/?limit=2&offset=2"


async def test_limit_is_capped_and_links_keep_filters(client, seven_posts) -> None:
    capped = (await client.get("/lo/", params={"limit": 1000})).json()
    assert len(capped["results"]) == 5  # max_page_size
    assert capped["next"] == "http://testserver/lo/?limit=5&offset=5"
    published = (await client.get("/lo/", params={"is_published": "true", "limit": 2})).json()
    assert published["count"] == 4 and views(published) == [0, 2]
    assert "is_published=true" in published["next"]


async def test_an_offset_past_the_end_is_an_empty_page(client, seven_posts) -> None:
    past = await client.get("/lo/", params={"offset": 7})
    assert past.status_code == 200
    assert past.json() == {
        "count": 7,
        "next": None,
        "previous": "http://testserver/lo/?limit=3&offset=4",
        "results": [],
    }
    far = await client.get("/lo/", params={"offset": 2**63 - 1})
    assert far.status_code == 200 and far.json()["results"] == []


async def _statements(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    with count_queries() as statements:
        response = await client.get(path, params=params)
    assert response.status_code in (200, 404), response.text
    return statements


async def test_a_page_of_rows_and_its_count_are_one_statement(client, seven_posts) -> None:
    for path, params in [
        ("/pn/", {}),
        ("/pn/", {"page": 3, "is_published": "true"}),
        ("/lo/", {"offset": 5}),
        ("/lo/", {"limit": 2, "offset": 2, "is_published": "false"}),
    ]:
        statements = await _statements(client, path, **params)
        assert len(statements) == 1 and "(SELECT COUNT(*)" in statements[0], (path, statements)
    for _ in range(3):  # built, built again, then cached with the page bound: same answers
        pages = [(await client.get("/pn/", params={"page": n})).json() for n in (1, 2, 3)]
        assert [page["count"] for page in pages] == [7, 7, 7]
        assert [views(page) for page in pages] == [[0, 1, 2], [3, 4, 5], [6]]
        some = (await client.get("/lo/", params={"limit": 2, "offset": 3})).json()
        assert some["count"] == 7 and views(some) == [3, 4]


async def test_an_empty_page_costs_a_count_only_when_the_rows_cannot_tell(
    client, seven_posts
) -> None:
    # A later page empty means past the end (a 404): no COUNT.
    past = await _statements(client, "/pn/", page=4)
    assert len(past) == 1
    assert (await client.get("/pn/", params={"page": 4})).json() == {"detail": "Invalid page."}
    assert len(await _statements(client, "/lo/", offset=0, limit=1)) == 1
    # Past the end at an offset, the envelope still says how many rows there are.
    past_end = await _statements(client, "/lo/", offset=7)
    assert len(past_end) == 2 and "(SELECT COUNT(*)" not in past_end[1], past_end
    assert (await client.get("/lo/", params={"offset": 7})).json()["count"] == 7
    # An OFFSET beyond what a database takes is past any end, without asking.
    assert await _statements(client, "/pn/", page=2**62) == []


async def test_instances_are_counted_apart(client, seven_posts) -> None:
    statements = await _statements(client, "/instances/", page=2)
    assert len(statements) == 2 and "(SELECT COUNT(*)" not in "".join(statements)
    page = (await client.get("/instances/", params={"page": 2})).content
    rows = (await client.get("/pn/", params={"page": 2})).content
    assert page == rows.replace(b"/pn/", b"/instances/")


async def test_an_empty_table_is_one_statement(client) -> None:
    for path in ("/pn/", "/lo/"):  # page 1 (offset 0) empty: there are no rows at all
        assert len(await _statements(client, path)) == 1
        assert (await client.get(path)).json()["count"] == 0


async def test_limit_offset_on_an_empty_table(client) -> None:
    empty = (await client.get("/lo/")).json()
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
        ({"page": 2}, "page"),  # page numbers are not this view's parameters
    ],
)
async def test_bad_limits_and_offsets_are_422_naming_them(client, seven_posts, params, named):
    response = await client.get("/lo/", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", named]


async def test_non_integer_limit_is_422_like_a_page(client) -> None:
    assert (await client.get("/lo/", params={"limit": "ten"})).status_code == 422


async def test_page_number_is_the_default_and_unchanged(client, seven_posts) -> None:
    explicit = await client.get("/pn/", params={"page": 2})
    default = await client.get("/default/", params={"page": 2})
    assert explicit.content == default.content.replace(b"/default/", b"/pn/")
    assert explicit.content == (
        b'{"count":7,"next":"http://testserver/pn/?page=3","previous":'
        b'"http://testserver/pn/","results":' + explicit.content.split(b'"results":')[1]
    )
    assert views(explicit.json()) == [3, 4, 5]
    assert (await client.get("/pn/", params={"limit": 2})).status_code == 422


async def test_none_is_a_plain_list(client, seven_posts) -> None:
    plain = await client.get("/plain/", params={"is_published": "false"})
    assert [post["views_count"] for post in plain.json()] == [1, 3, 5]
    assert (await client.get("/plain/", params={"page": 1})).status_code == 422


async def test_openapi_documents_each_paginator(client) -> None:
    document = (await client.get("/openapi.json")).json()

    def listing(path: str) -> dict[str, Any]:
        return document["paths"][path]["get"]

    def names(path: str) -> list[str]:
        return [param["name"] for param in listing(path)["parameters"]]

    def body(path: str) -> dict[str, Any]:
        return listing(path)["responses"]["200"]["content"]["application/json"]["schema"]

    assert names("/lo/") == ["limit", "offset", "is_published"]
    assert names("/pn/") == ["page", "page_size", "is_published"]
    assert names("/plain/") == ["is_published"]
    for param in listing("/lo/")["parameters"][:2]:
        assert param["in"] == "query" and param["required"] is False
        assert param["schema"]["anyOf"][0] == {"type": "integer"}
        assert param["description"]
    envelope = "#/components/schemas/PaginatedPostOutput"
    assert body("/lo/") == {"$ref": envelope} and body("/pn/") == {"$ref": envelope}
    assert body("/plain/")["type"] == "array"
    assert body("/plain/")["items"] == {"$ref": "#/components/schemas/PostOutput"}


def test_the_default_class_setting_is_a_dotted_path() -> None:
    assert import_pagination("core.views.pagination.LimitOffsetPagination") is (
        LimitOffsetPagination
    )
    assert import_pagination("") is None and import_pagination(None) is None
    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        import_pagination("core.views.pagination.Nope")
    with pytest.raises(ImproperlyConfigured, match="not a pagination class"):
        import_pagination("core.views.ModelViewSet")
