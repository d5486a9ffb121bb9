"""`CursorPagination`: opaque, signed cursors over the ordering plus the primary key."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core import CursorPagination, OutputSchema, ReadOnlyModelViewSet
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.testing import app_client, app_database
from core.views.pagination import Cursor, OrderTerm, _adapter, decode_cursor, encode_cursor
from core.views.routes import viewset_routes
from tests.example_models import Post, User
from tests.guide_app import PostOutput
from tests.helpers import app_with, count_queries, make_post, viewset_routers


class NewestFirst(CursorPagination):
    ordering = "-created_at"


class CursorPosts(ReadOnlyModelViewSet):
    """Follows the view's ordering: `ordering`, or `?ordering=` within `ordering_fields`."""

    model = Post
    output_schema = PostOutput
    permission_classes = [AllowAny]
    pagination_class = CursorPagination
    page_size = 3
    max_page_size = 5
    ordering = ["id"]
    ordering_fields = ["views_count", "title", "created_at"]
    filterset_fields = ["is_published"]


class MostViewed(CursorPosts):
    ordering = ["-views_count"]  # ties: the primary key decides, descending too


class NewestPosts(CursorPosts):
    pagination_class = NewestFirst


class SlugOnly(OutputSchema):
    id: int
    slug: str


class HiddenOrdering(CursorPosts):
    """The ordering column is not in the output: the cursor still reads it."""

    output_schema = SlugOnly
    ordering = ["-views_count"]


class ScopedPosts(CursorPosts):
    """No `ordering`: the order `get_queryset` gives is the cursor's."""

    ordering = None
    ordering_fields = []

    def get_queryset(self, db: Any) -> Any:
        return Post.objects.using(db).filter(is_published=True).order_by("-views_count")


def build_app() -> Any:
    routers = viewset_routers(
        {
            "/cur": CursorPosts,
            "/top": MostViewed,
            "/new": NewestPosts,
            "/hidden": HiddenOrdering,
            "/scoped": ScopedPosts,
        }
    )
    return app_with(*routers)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app()) as http:
        yield http


@pytest.fixture
async def author(client: httpx.AsyncClient) -> User:
    return await User.create_user("cursor@example.com", "Password1", db=app_database())


async def add_posts(author: User, start: int, count: int, **values: Any) -> list[Post]:
    db = app_database()
    posts = []
    for i in range(start, start + count):
        fields = {"views_count": i, "is_published": i % 2 == 0, **values}
        posts.append(await make_post(db, author, slug=f"p{i}", title=f"T{i:03}", **fields))
    return posts


def ids(page: dict[str, Any]) -> list[int]:
    return [post["id"] for post in page["results"]]


async def walk(client: httpx.AsyncClient, url: str, link: str = "next") -> list[dict[str, Any]]:
    """Every page from `url` on, following `link`."""
    pages = []
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        next_url = pages[-1][link]
        assert len(pages) < 50
    return pages


async def test_pages_forward_and_back_with_links(client, author) -> None:
    posts = await add_posts(author, 0, 8)
    expected = [post.id for post in posts]
    first = (await client.get("/cur/")).json()
    assert list(first) == ["next", "previous", "results"]  # DRF's cursor envelope: no count
    assert first["previous"] is None and ids(first) == expected[:3]
    assert first["next"].startswith("http://testserver/cur/?cursor=")

    forward = await walk(client, "/cur/")
    assert [ids(page) for page in forward] == [expected[:3], expected[3:6], expected[6:]]
    assert forward[-1]["next"] is None
    assert all(page["previous"] for page in forward[1:])

    backward = await walk(client, forward[-1]["previous"], "previous")
    assert [ids(page) for page in backward] == [expected[3:6], expected[:3]]
    assert backward[-1]["previous"] is None
    assert backward[-1]["next"] is not None  # the first page, reached backwards, links on
    again = (await client.get(backward[-1]["next"])).json()
    assert ids(again) == expected[3:6]


async def test_an_exact_multiple_has_no_empty_last_page(client, author) -> None:
    await add_posts(author, 0, 6)
    pages = await walk(client, "/cur/")
    assert [len(page["results"]) for page in pages] == [3, 3]
    assert pages[-1]["next"] is None


async def test_an_empty_table(client) -> None:
    response = await client.get("/cur/")
    assert response.json() == {"next": None, "previous": None, "results": []}


async def test_ties_are_broken_by_the_primary_key(client, author) -> None:
    db = app_database()
    posts = [
        await make_post(db, author, slug=f"t{i}", views_count=i // 3) for i in range(10)
    ]  # views 0,0,0,1,1,1,2,2,2,3
    expected = [post.id for post in sorted(posts, key=lambda p: (-p.views_count, -p.id))]
    forward = await walk(client, "/top/")
    assert [post_id for page in forward for post_id in ids(page)] == expected
    backward = await walk(client, forward[-1]["previous"], "previous")
    seen = [post_id for page in reversed(backward) for post_id in ids(page)]
    assert seen == expected[: len(seen)] and len(seen) == 9  # all but the last page


async def test_rows_inserted_between_pages_neither_repeat_nor_skip(client, author) -> None:
    originals = [post.id for post in await add_posts(author, 0, 9)]
    newest_first = list(reversed(originals))
    first = (await client.get("/new/")).json()
    assert ids(first) == newest_first[:3]
    await add_posts(author, 100, 4)  # newer: before the cursor
    second = (await client.get(first["next"])).json()
    assert ids(second) == newest_first[3:6]
    await add_posts(author, 200, 2)
    rest = await walk(client, second["next"])
    assert [post_id for page in rest for post_id in ids(page)] == newest_first[6:]

    # Backwards while rows are inserted at the front: the originals, once each, in order.
    back = (await client.get(rest[-1]["previous"])).json()
    assert ids(back) == newest_first[3:6]
    await add_posts(author, 300, 5)
    earlier = await walk(client, back["previous"], "previous")
    seen = [post_id for page in reversed(earlier) for post_id in ids(page)]
    assert seen[-3:] == newest_first[:3]
    assert len(seen) == len(set(seen)) == 3 + 4 + 2 + 5  # the originals' first page + newer
    assert earlier[-1]["previous"] is None


async def test_page_number_pages_would_repeat_rows_where_cursors_do_not(client, author) -> None:
    """The reason for cursors: with `?page=`, an insert at the front shifts every page."""
    originals = [post.id for post in await add_posts(author, 0, 6)]
    first = (await client.get("/new/")).json()
    await add_posts(author, 10, 1)
    second = (await client.get(first["next"])).json()
    assert set(ids(first)).isdisjoint(ids(second))
    assert sorted(ids(first) + ids(second)) == sorted(originals)


async def test_ascending_inserts_appear_at_the_end(client, author) -> None:
    await add_posts(author, 0, 5)
    first = (await client.get("/cur/")).json()
    second = (await client.get(first["next"])).json()
    assert second["next"] is None
    later = await add_posts(author, 5, 2)
    # The last page's own link is None, but its previous page's next sees the new rows.
    again = (await client.get(first["next"])).json()
    assert ids(again)[-1] == later[0].id and again["next"] is not None


async def test_an_emptied_page_links_back_to_the_rows_before_it(client, author) -> None:
    posts = await add_posts(author, 0, 7)
    first = (await client.get("/cur/")).json()
    for post in posts[3:]:
        await post.delete(using_db=app_database())
    empty = (await client.get(first["next"])).json()
    assert empty["results"] == [] and empty["next"] is None
    back = (await client.get(empty["previous"])).json()
    assert ids(back) == ids(first) and back["previous"] is None


async def test_page_size_is_capped_and_links_keep_the_other_parameters(client, author) -> None:
    await add_posts(author, 0, 12)
    capped = (await client.get("/cur/", params={"page_size": 50})).json()
    assert len(capped["results"]) == 5
    published = (await client.get("/cur/", params={"is_published": "true", "page_size": 2})).json()
    assert [post["views_count"] for post in published["results"]] == [0, 2]
    assert "is_published=true" in published["next"] and "page_size=2" in published["next"]
    second = (await client.get(published["next"])).json()
    assert [post["views_count"] for post in second["results"]] == [4, 6]
    assert (await client.get("/cur/", params={"page_size": 0})).status_code == 422
    assert (await client.get("/cur/", params={"page": 2})).status_code == 422


async def test_the_clients_ordering_is_followed(client, author) -> None:
    await add_posts(author, 0, 7)
    pages = await walk(client, "/cur/?ordering=-title")
    titles = [post["title"] for page in pages for post in page["results"]]
    assert titles == [f"T{i:03}" for i in range(6, -1, -1)]
    assert all("ordering=-title" in page["next"] for page in pages[:-1])


async def test_a_fixed_ordering_refuses_the_ordering_parameter(client, author) -> None:
    await add_posts(author, 0, 2)
    response = await client.get("/new/", params={"ordering": "title"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "ordering"]


def _forge(payload: dict[str, Any], mac: bytes = b"\0" * 16) -> str:
    raw = mac + json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_garbled_or_forged_cursors_are_422(client, author) -> None:
    await add_posts(author, 0, 5)
    valid = (await client.get("/cur/")).json()["next"].split("cursor=")[1]
    other_ordering = (await client.get("/cur/?ordering=title")).json()["next"]
    tampered = valid[:-2] + ("AA" if valid[-2:] != "AA" else "BB")
    for cursor in (
        "garbage",
        "%%%",
        "a" * 5000,
        tampered,
        _forge({"p": [1]}),
        _forge({"p": ["1; DROP TABLE posts"]}),
        base64.urlsafe_b64encode(b"x" * 40).decode(),
        other_ordering.split("cursor=")[1].split("&")[0],  # a cursor for another ordering
    ):
        response = await client.get("/cur/", params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert response.json() == {
            "detail": [
                {"loc": ["query", "cursor"], "msg": "Invalid cursor.", "type": "cursor_invalid"}
            ]
        }
    assert (await client.get("/cur/", params={"cursor": valid})).status_code == 200
    assert await Post.objects.using(app_database()).count() == 5


async def test_an_ordering_column_outside_the_output(client, author) -> None:
    posts = await add_posts(author, 0, 7)
    pages = await walk(client, "/hidden/")
    assert [list(post) for post in pages[0]["results"]] == [["id", "slug"]] * 3
    assert [i for page in pages for i in ids(page)] == [post.id for post in reversed(posts)]


async def test_the_order_of_get_queryset_is_followed(client, author) -> None:
    posts = await add_posts(author, 0, 9)
    pages = await walk(client, "/scoped/")
    published = [post.id for post in reversed(posts) if post.is_published]
    assert [i for page in pages for i in ids(page)] == published
    assert len(pages) == 2


async def test_no_count_query(client, author) -> None:
    await add_posts(author, 0, 5)
    first = (await client.get("/top/")).json()
    with count_queries() as statements:
        response = await client.get(first["next"])
    assert response.status_code == 200
    assert len(statements) == 1
    assert "COUNT(" not in statements[0].upper() and "OFFSET" not in statements[0].upper()


async def test_openapi_documents_the_cursor_envelope_and_parameters(client) -> None:
    document = (await client.get("/openapi.json")).json()
    listing = document["paths"]["/cur/"]["get"]
    params = {param["name"]: param for param in listing["parameters"]}
    assert list(params) == ["cursor", "page_size", "ordering", "is_published"]
    assert params["cursor"]["in"] == "query" and params["cursor"]["required"] is False
    assert params["cursor"]["schema"]["anyOf"][0] == {"type": "string"}
    assert params["cursor"]["description"] == "The pagination cursor value."
    assert params["page_size"]["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    body = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/CursorPaginatedPostOutput"}
    envelope = document["components"]["schemas"]["CursorPaginatedPostOutput"]
    assert list(envelope["properties"]) == ["next", "previous", "results"]
    assert envelope["required"] == ["next", "previous", "results"]
    assert envelope["properties"]["results"]["items"] == {"$ref": "#/components/schemas/PostOutput"}
    assert "422" in listing["responses"]


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"ordering": ["-updated_at"]}, "nullable"),
        ({"ordering_fields": ["updated_at"]}, "nullable"),
        ({"ordering": ["author"]}, "no column 'author'"),
        ({"ordering": ["nope"]}, "no column 'nope'"),
    ],
)
def test_unorderable_columns_are_refused_when_routes_are_built(attrs, message) -> None:
    view = type("Bad", (CursorPosts,), attrs)
    with pytest.raises(ImproperlyConfigured, match=message):
        viewset_routes(view, "/bad", "bad")


def test_cursors_round_trip_typed_values() -> None:
    import datetime as dt
    import uuid
    from decimal import Decimal

    values = (
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        Decimal("1.10"),
        uuid.UUID(int=7),
        "a,b\0",
        -(2**63),
    )
    terms = [
        OrderTerm(f"f{i}", i % 2 == 0, _adapter(type(value))) for i, value in enumerate(values)
    ]
    for cursor in (Cursor(values), Cursor(values, reverse=True, inclusive=True)):
        token = encode_cursor(cursor, terms)
        assert "=" not in token and "/" not in token and "+" not in token
        assert decode_cursor(token, terms) == cursor
