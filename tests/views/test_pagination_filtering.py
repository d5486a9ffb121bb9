"""Pagination bounds, filters, search and ordering: allowed and refused."""

from __future__ import annotations

import datetime as dt

import pytest

from core.exceptions import ImproperlyConfigured
from core.views.filters import filter_params
from tests.example_models import Post
from tests.helpers import make_post

POSTS = "/api/v1/posts/"


@pytest.fixture
async def twelve_posts(app_db, alice) -> None:
    for i in range(12):
        await make_post(
            app_db,
            alice,
            title=f"Post {i:02d} {'python' if i % 3 == 0 else 'rust'}",
            slug=f"post-{i:02d}",
            content="about python" if i == 1 else "text",
            views_count=i * 10,
            is_published=i % 2 == 0,
        )


async def test_pages_follow_drf_envelope(client, twelve_posts) -> None:
    first = (await client.get(POSTS)).json()
    assert first["count"] == 12
    assert len(first["results"]) == 5  # the view's page_size
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/posts/?page=2"

    second = (await client.get(first["next"])).json()
    assert [p["slug"] for p in second["results"]] == [f"post-{i:02d}" for i in range(5, 10)]
    assert second["previous"] == "http://testserver/api/v1/posts/"
    third = (await client.get(second["next"])).json()
    assert len(third["results"]) == 2 and third["next"] is None
    assert third["previous"] == "http://testserver/api/v1/posts/?page=2"


async def test_page_size_is_capped_and_links_keep_other_parameters(client, twelve_posts) -> None:
    capped = (await client.get(POSTS, params={"page_size": 1000})).json()
    assert len(capped["results"]) == 10  # max_page_size
    small = (await client.get(POSTS, params={"page_size": 4, "is_published": "true"})).json()
    assert small["count"] == 6 and len(small["results"]) == 4
    assert "is_published=true" in small["next"] and "page_size=4" in small["next"]


@pytest.mark.parametrize("params", [{"page": 0}, {"page": "abc"}, {"page_size": 0}, {"page": -1}])
async def test_bad_page_numbers_are_422(client, twelve_posts, params) -> None:
    response = await client.get(POSTS, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_out_of_range_pages_are_404_but_an_empty_first_page_is_fine(client, alice) -> None:
    empty = await client.get(POSTS)
    assert empty.status_code == 200 and empty.json()["count"] == 0
    assert (await client.get(POSTS, params={"page": 2})).status_code == 404


async def test_out_of_range_page_with_rows(client, twelve_posts) -> None:
    response = await client.get(POSTS, params={"page": 4})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


async def test_declared_filters_and_lookups(client, twelve_posts) -> None:
    published = (await client.get(POSTS, params={"is_published": "true"})).json()
    assert published["count"] == 6
    ranged = (
        await client.get(POSTS, params={"views_count__gte": 30, "views_count__lte": 60})
    ).json()
    assert [p["views_count"] for p in ranged["results"]] == [30, 40, 50, 60]
    exact = (await client.get(POSTS, params={"views_count": 70})).json()
    assert [p["slug"] for p in exact["results"]] == ["post-07"]
    wrong_type = await client.get(POSTS, params={"views_count": "lots"})
    assert wrong_type.status_code == 422


async def test_search_over_declared_fields(client, twelve_posts) -> None:
    found = (await client.get(POSTS, params={"search": "PYTHON"})).json()
    expected = {"post-00", "post-01", "post-03", "post-06", "post-09"}  # titles, and 1's content
    assert {p["slug"] for p in found["results"]} == expected
    assert found["count"] == 5
    both = (await client.get(POSTS, params={"search": "python 09"})).json()
    assert [p["slug"] for p in both["results"]] == ["post-09"]


async def test_ordering(client, twelve_posts) -> None:
    by_views = (await client.get(POSTS, params={"ordering": "-views_count"})).json()
    assert [p["views_count"] for p in by_views["results"]] == [110, 100, 90, 80, 70]
    two_keys = await client.get(POSTS, params={"ordering": "-is_published,title"})
    assert two_keys.status_code == 422  # is_published is not an ordering field
    combined = (await client.get(POSTS, params={"ordering": "title,-id"})).json()
    assert combined["results"][0]["slug"] == "post-00"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"ordering": "password_hash"}, "password_hash"),
        ({"ordering": "author__password_hash"}, "author__password_hash"),
        ({"author__password_hash": "x"}, "author__password_hash"),
        ({"author_id": 1}, "author_id"),
        ({"title__contains": "x"}, "title__contains"),
        ({"unknown": "1"}, "unknown"),
    ],
)
async def test_undeclared_filters_and_ordering_are_422_naming_them(
    client, twelve_posts, params, named
) -> None:
    response = await client.get(POSTS, params=params)
    assert response.status_code == 422
    assert named in str(response.json()["detail"])


async def test_the_default_page_size_is_20(client, app_db, alice) -> None:
    for i in range(25):
        await make_post(app_db, alice, slug=f"p{i}", is_published=True)
    response = (await client.get("/api/v1/public-posts/")).json()
    assert response["count"] == 25 and len(response["results"]) == 20


async def test_in_takes_comma_separated_values_typed_from_the_column(client, twelve_posts) -> None:
    found = (await client.get(POSTS, params={"views_count__in": "30, 70,110"})).json()
    assert [p["views_count"] for p in found["results"]] == [30, 70, 110]
    slugs = (await client.get(POSTS, params={"slug__in": "post-01,post-11,nope"})).json()
    assert [p["slug"] for p in slugs["results"]] == ["post-01", "post-11"]
    one = (await client.get(POSTS, params={"views_count__in": "40"})).json()
    assert [p["slug"] for p in one["results"]] == ["post-04"]
    # Combined with other filters, and kept in the links.
    both = await client.get(
        POSTS, params={"views_count__in": "0,20,40,60,80", "is_published": "true", "page_size": 2}
    )
    assert both.json()["count"] == 5
    assert "views_count__in=0%2C20%2C40%2C60%2C80" in both.json()["next"]


async def test_range_takes_two_inclusive_bounds(client, app_db, twelve_posts, alice) -> None:
    ranged = (await client.get(POSTS, params={"views_count__range": "20,50"})).json()
    assert [p["views_count"] for p in ranged["results"]] == [20, 30, 40, 50]
    post = await make_post(app_db, alice, slug="dated", views_count=999)
    post.created_at = dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC)
    await post.save(using_db=app_db, update_fields=["created_at"])
    dated = await client.get(POSTS, params={"created_at__range": "2026-01-01,2026-02-01"})
    assert dated.status_code == 200, dated.text
    assert [p["slug"] for p in dated.json()["results"]] == ["dated"]
    timed = await client.get(
        POSTS, params={"created_at__range": "2026-01-15T11:00:00Z,2026-01-15T13:00:00Z"}
    )
    assert [p["slug"] for p in timed.json()["results"]] == ["dated"]


async def test_filters_across_a_declared_relation(client, app_db, twelve_posts, bob) -> None:
    await make_post(app_db, bob, slug="bobs", views_count=5)
    mine = (await client.get(POSTS, params={"author__email": "bob@example.com"})).json()
    assert [p["slug"] for p in mine["results"]] == ["bobs"]
    nobody = (await client.get(POSTS, params={"author__email": "eve@example.com"})).json()
    assert nobody["count"] == 0


@pytest.mark.parametrize(
    ("params", "named", "message"),
    [
        ({"views_count__in": "1,lots"}, "views_count__in", "'lots'"),
        ({"views_count__in": "1,,2"}, "views_count__in", "''"),
        ({"views_count__in": "99999999999"}, "views_count__in", "less than or equal"),
        ({"views_count__in": "1,2,3,4,5,6"}, "views_count__in", "at most 5"),
        ({"views_count__range": "1"}, "views_count__range", "exactly 2"),
        ({"views_count__range": "1,2,3"}, "views_count__range", "exactly 2"),
        ({"created_at__range": "2026-01-01,soon"}, "created_at__range", "'soon'"),
        ({"slug__in": "a,b\x00"}, "slug__in", "NUL"),
        ({"slug__in": "x" * 201}, "slug__in", "at most 200"),
        ({"author__email__in": "a@b.c"}, "author__email__in", "Unknown"),
        ({"author__password_hash": "x"}, "author__password_hash", "Unknown"),
        ({"author__password_hash__in": "x"}, "author__password_hash__in", "Unknown"),
        ({"is_published__in": "true"}, "is_published__in", "Unknown"),
    ],
)
async def test_bad_in_and_range_values_are_422_naming_the_parameter(
    client, twelve_posts, params, named, message
) -> None:
    response = await client.get(POSTS, params=params)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"][-1] == named
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"views_count": ["in", "between"]}, "unknown filter lookup 'between'"),
        ({"title__length": ["exact"]}, "Post.title is not a foreign key"),
        ({"author__nickname": ["exact"]}, "User has no column 'nickname'"),
        ({"author__groups": ["exact"]}, "User has no column 'groups'"),
    ],
)
def test_bad_declarations_fail_when_the_view_is_built(declared, message) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        filter_params(Post, declared)
