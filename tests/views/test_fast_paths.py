"""Fast paths are decided when routes are built (`endpoint.plan`) and answer like the slow ones.

A ViewSet scoped by `get_queryset` keeps the row path for list and retrieve; a custom
`get_object` and `read_rows = False` fall back to model instances; every variant answers the
same, rows outside the scope included (404).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.signals import Signals
from tortoise.transactions import in_transaction

from core import AutoRouter, CoreApp, ModelViewSet
from core.permissions import AllowAny, IsOwner
from core.testing import app_client, app_database, force_authenticate
from core.views import endpoints
from core.views.endpoints import ActionEndpoint
from core.views.plan import RoutePlan
from tests.example_models import Post, User
from tests.guide_app import PostInput, PostOutput
from tests.helpers import (
    app_with,
    count_queries,
    is_pool_reset,
    make_post,
    postgres_url,
    settled,
    statements_sent,
)

log = logging.getLogger(__name__)


class Published(ModelViewSet):
    """Scoped the documented way: published posts, newest first."""

    model = Post
    input_schema = PostInput
    output_schema = PostOutput
    permission_classes = [AllowAny]
    page_size = 3

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        return Post.objects.using(db).filter(is_published=True).order_by("-views_count")


class PublishedInstances(Published):
    read_rows = False
    one_trip_create = False


class PublishedLogged(Published):
    async def get_object(self, db: BaseDBAsyncClient, **kwargs: Any) -> Any:
        log.info("get_object %s", kwargs)
        return await super().get_object(db, **kwargs)


class PublishedOwned(Published):
    permission_classes_by_action = {"retrieve": [IsOwner]}


class PublishedCreateHook(Published):
    async def after_create(self, obj: Any, db: BaseDBAsyncClient) -> None:
        log.info("created %s", obj.pk)


class UniqueSlug(Published):
    """`unique_fields` on a unique column: the INSERT's constraint checks it, nothing before."""

    unique_fields = ["slug"]


class UniqueSlugValidated(UniqueSlug):
    """A validation hook: create is no longer one statement (a transaction, the one trip)."""

    async def perform_create_validation(
        self, data: dict[str, Any], db: BaseDBAsyncClient
    ) -> dict[str, Any]:
        return data


class UniqueSlugChecked(UniqueSlug):
    """A custom `perform_create`: the SELECT before it stays (it may write before saving)."""

    async def perform_create(self, data: dict[str, Any], db: BaseDBAsyncClient) -> Any:
        return await super().perform_create(data, db)


VIEWS = {
    "rows": Published,
    "instances": PublishedInstances,
    "logged": PublishedLogged,
    "owned": PublishedOwned,
    "hooked": PublishedCreateHook,
    "unique": UniqueSlug,
    "unique-validated": UniqueSlugValidated,
    "unique-checked": UniqueSlugChecked,
}


def fast_paths_app() -> CoreApp:
    router = AutoRouter(prefix="")
    for prefix, view in VIEWS.items():
        router.register(prefix, view, basename=prefix)
    return app_with(router)


def plans(app: CoreApp) -> dict[str, RoutePlan]:
    """`basename-action` -> the plan its route was built with."""
    return {
        route.name: route.endpoint.plan  # type: ignore[attr-defined]
        for route in app.routes
        if isinstance(getattr(route, "endpoint", None), ActionEndpoint)
    }


def test_plans_are_decided_when_routes_are_built() -> None:
    found = plans(fast_paths_app())
    assert found["rows-list"].rows and found["rows-retrieve"].rows
    assert found["rows-list"].rows_off is None
    assert found["rows-create"].one_trip_create
    assert not found["instances-list"].rows and not found["instances-retrieve"].rows
    assert found["instances-retrieve"].rows_off == "read_rows = False"
    assert not found["instances-create"].one_trip_create
    assert found["logged-list"].rows  # only retrieve looks at the object
    assert not found["logged-retrieve"].rows
    assert found["logged-retrieve"].rows_off == "get_object is overridden"
    assert not found["owned-retrieve"].rows
    assert found["owned-retrieve"].rows_off == "a permission checks objects"
    assert not found["hooked-create"].one_trip_create
    assert found["hooked-retrieve"].rows
    for name in ("update", "partial_update", "destroy"):
        assert found[f"rows-{name}"] == RoutePlan()
    # Create as one INSERT (no BEGIN/COMMIT) only when nothing else runs around it.
    assert found["rows-create"].single_insert_create
    assert found["unique-create"].single_insert_create
    assert found["unique-create"].unique_by_constraint
    for name in ("instances", "hooked", "unique-validated", "unique-checked"):
        assert not found[f"{name}-create"].single_insert_create, name
    assert found["unique-validated-create"].unique_by_constraint
    assert found["unique-validated-create"].one_trip_create
    assert not found["unique-checked-create"].unique_by_constraint


@pytest.fixture
async def fast_client() -> Any:
    async with app_client(fast_paths_app()) as http:
        yield http


@pytest.fixture
async def author(fast_client: httpx.AsyncClient) -> User:
    return await User.create_user("author@example.com", "Password1", db=app_database())


async def seed(db: BaseDBAsyncClient, author: User) -> dict[str, Post]:
    posts = {}
    for n in range(7):
        published = n != 3
        posts[f"p{n}"] = await make_post(
            db, author, slug=f"p{n}", title=f"Post {n}", is_published=published, views_count=n
        )
    return posts


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_scoped_list_and_retrieve_answer_alike_on_every_path(
    fast_client: httpx.AsyncClient, author: User
) -> None:
    posts = await seed(app_database(), author)
    hidden = posts["p3"].pk
    for query in ("", "?page=2", "?page=2&page_size=2"):
        expected = (await fast_client.get(f"/instances/{query}")).text
        for prefix in ("rows", "logged"):
            for _ in range(3):  # the SQL is cached from the second request on
                response = await fast_client.get(f"/{prefix}/{query}")
                assert response.text.replace(f"/{prefix}/", "/instances/") == expected
    first = (await fast_client.get("/rows/")).json()
    assert first["count"] == 6
    assert [post["views_count"] for post in first["results"]] == [6, 5, 4]
    for post in posts.values():
        expected_response = await fast_client.get(f"/instances/{post.pk}/")
        for prefix in ("rows", "logged"):
            for _ in range(3):
                response = await fast_client.get(f"/{prefix}/{post.pk}/")
                assert response.status_code == expected_response.status_code
                assert response.json() == expected_response.json()
    for prefix in ("rows", "instances", "logged", "hooked"):  # "owned" is 401 anonymously
        assert (await fast_client.get(f"/{prefix}/{hidden}/")).status_code == 404
        assert (await fast_client.get(f"/{prefix}/999999/")).status_code == 404


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_create_answers_alike_with_and_without_the_one_trip(
    fast_client: httpx.AsyncClient, author: User
) -> None:
    force_authenticate(fast_client, author)  # create sets author_id to the user
    bodies = {}
    for prefix in ("rows", "instances", "hooked"):
        body = {"title": "T", "slug": f"new-{prefix}", "content": "c", "is_published": True}
        response = await fast_client.post(f"/{prefix}/", json=body)
        assert response.status_code == 201
        created = response.json()
        bodies[prefix] = {
            k: v for k, v in created.items() if k not in ("id", "slug", "created_at", "updated_at")
        }
        fetched = await fast_client.get(f"/instances/{created['id']}/")
        assert fetched.json() == created
    assert bodies["rows"] == bodies["instances"] == bodies["hooked"]


@pytest.fixture
def transactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The connection names of the request transactions `ActionEndpoint.run` opens."""
    opened: list[str] = []

    def spy(connection_name: str | None = None) -> Any:
        opened.append(str(connection_name))
        return in_transaction(connection_name)

    monkeypatch.setattr(endpoints, "in_transaction", spy)
    return opened


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_create_is_one_insert_without_a_transaction(
    fast_client: httpx.AsyncClient, author: User, transactions: list[str]
) -> None:
    force_authenticate(fast_client, author)
    body = {"title": "T", "slug": "one-insert", "content": "c", "is_published": True}
    with count_queries() as statements:
        response = await fast_client.post("/unique/", json=body)
    assert response.status_code == 201, response.text
    writes = [sql for sql in statements if "posts" in sql]
    assert len(writes) == 1 and writes[0].startswith("INSERT"), statements  # no SELECT first
    assert transactions == []  # ATOMIC_REQUESTS is on, yet one statement needs no BEGIN
    assert (await fast_client.get(f"/instances/{response.json()['id']}/")).json() == response.json()

    with count_queries() as statements:
        hooked = await fast_client.post("/unique-validated/", json={**body, "slug": "hooked"})
    assert hooked.status_code == 201
    assert transactions == ["default"]
    assert next(sql for sql in statements if "posts" in sql).startswith("INSERT")


@pytest.mark.db  # re-run on PostgreSQL
async def test_on_postgresql_the_one_insert_goes_back_without_the_reset() -> None:
    """The create's own INSERT changes no session state: no `RESET ALL` round trip after it.
    A refused INSERT, and the statements of a transaction, keep the reset."""
    url = postgres_url("asyncpg's pool reset is PostgreSQL's")
    router = AutoRouter(prefix="")
    router.register("unique", VIEWS["unique"], basename="unique")
    router.register("unique-validated", VIEWS["unique-validated"], basename="unique-validated")
    router.register("instances", VIEWS["instances"], basename="instances")
    async with app_client(app_with(router, database_url=f"{url}?minsize=1&maxsize=1")) as http:
        db = app_database()
        author = await User.create_user("author@example.com", "Password1", db=db)
        force_authenticate(http, author)
        sent = await statements_sent(db)
        body = {"title": "T", "slug": "no-reset", "content": "c", "is_published": True}

        created = await http.post("/unique/", json=body)
        assert created.status_code == 201, created.text
        await settled(sent)
        assert [query.split(" ")[0] for query in sent] == ["SELECT", "INSERT"], sent  # auth, row
        assert (await http.get(f"/unique/{created.json()['id']}/")).json() == created.json()

        sent.clear()
        refused = await http.post("/unique/", json=body)
        assert refused.status_code == 422 and refused.json() == UNIQUE_422
        assert is_pool_reset((await settled(sent))[-1]), sent  # the failed INSERT's is reset
        sent.clear()
        hooked = await http.post("/unique-validated/", json={**body, "slug": "in-a-transaction"})
        assert hooked.status_code == 201
        assert is_pool_reset((await settled(sent))[-1]), sent
        sent.clear()  # the documented off switch: `one_trip_create = False` keeps the reset
        plain = await http.post("/instances/", json={**body, "slug": "one-trip-off"})
        assert plain.status_code == 201
        assert is_pool_reset((await settled(sent))[-1]), sent
        assert await Post.objects.using(db).filter(slug__startswith="no-reset").count() == 1


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_create_with_a_save_signal_runs_in_a_transaction(
    fast_client: httpx.AsyncClient, author: User, transactions: list[str]
) -> None:
    force_authenticate(fast_client, author)
    saved: list[str] = []

    async def listener(sender: Any, instance: Any, *args: Any) -> None:
        saved.append(instance.slug)

    Post.register_listener(Signals.post_save, listener)
    try:
        body = {"title": "T", "slug": "signalled", "content": "c", "is_published": True}
        response = await fast_client.post("/unique/", json=body)
    finally:
        Post._listeners[Signals.post_save][Post].remove(listener)
    assert response.status_code == 201
    assert saved == ["signalled"] and transactions == ["default"]


UNIQUE_422 = {
    "detail": [
        {"loc": ["body", "slug"], "msg": "Post with this slug already exists.", "type": "unique"}
    ]
}


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_a_duplicate_is_the_same_422_on_every_create_path(
    fast_client: httpx.AsyncClient, author: User
) -> None:
    """The constraint (one INSERT, or the one trip) and the SELECT first answer alike, and
    the refused row is never written."""
    db = app_database()
    await make_post(db, author, slug="taken", is_published=True)
    force_authenticate(fast_client, author)
    body = {"title": "T", "slug": "taken", "content": "c", "is_published": True}
    for prefix in ("unique", "unique-validated", "unique-checked"):
        with count_queries() as statements:
            response = await fast_client.post(f"/{prefix}/", json=body)
        assert response.status_code == 422, (prefix, response.text)
        assert response.json() == UNIQUE_422, prefix
        selects = [sql for sql in statements if sql.startswith("SELECT") and "posts" in sql]
        assert len(selects) == (1 if prefix == "unique-checked" else 0), statements
    assert await Post.objects.using(db).filter(slug="taken").count() == 1
    assert await Post.objects.using(db).count() == 1
    # The connection is usable after the refused INSERT, and so is the slug once free.
    fresh = await fast_client.post("/unique/", json={**body, "slug": "free"})
    assert fresh.status_code == 201


@pytest.mark.db  # re-run on PostgreSQL and MariaDB
async def test_a_duplicate_on_update_saved_meanwhile_is_the_same_422(
    fast_client: httpx.AsyncClient, author: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Update checks first; a duplicate that slips past the check (a concurrent write) is
    refused by the constraint with the same body."""
    db = app_database()
    await make_post(db, author, slug="taken", is_published=True)
    mine = await make_post(db, author, slug="mine", is_published=True)

    async def no_check(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(UniqueSlug, "check_unique_fields", no_check)
    force_authenticate(fast_client, author)
    response = await fast_client.patch(f"/unique/{mine.pk}/", json={"slug": "taken"})
    assert response.status_code == 422 and response.json() == UNIQUE_422
    assert (await Post.objects.using(db).get(pk=mine.pk)).slug == "mine"
