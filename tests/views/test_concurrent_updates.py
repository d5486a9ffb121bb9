"""Concurrent writes to one row: PATCHes of different fields both land; ETag/If-Match opt-in.

The races run over real HTTP against the ASGI app; on PostgreSQL each request has its own
connection and transaction (READ COMMITTED), so a write of every column loses one change in
most rounds. SQLite runs one write transaction at a time, where they pass trivially.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from core import AutoRouter, InputSchema, ModelViewSet, OutputSchema
from core.permissions import AllowAny
from core.testing import app_client, app_database, force_authenticate
from core.views import OptimisticConcurrencyMixin
from tests.example_models import Post
from tests.helpers import TEST_MODELS, app_with, make_post
from tests.views.versioned_models import Document

POSTS = "/api/v1/posts/"
ROUNDS = 20


async def test_concurrent_patches_of_different_fields_both_land(client, alice) -> None:
    post = await make_post(app_database(), alice)
    force_authenticate(client, alice)
    lost = []
    for round_ in range(ROUNDS):
        title, content = f"title {round_}", f"content {round_}"
        statuses: list[int] = []

        async def patch(body: dict[str, str], statuses: list[int] = statuses) -> None:
            response = await client.patch(f"{POSTS}{post.id}/", json=body)
            statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            group.start_soon(patch, {"title": title})
            group.start_soon(patch, {"content": content})
        assert statuses == [200, 200]
        row = await Post.objects.using(app_database()).get(id=post.id)
        if (row.title, row.content) != (title, content):
            lost.append(round_)
    assert lost == [], f"a change was lost in rounds {lost}"


async def test_a_patch_still_sets_auto_now_columns(client, alice) -> None:
    post = await make_post(app_database(), alice)
    force_authenticate(client, alice)
    response = await client.patch(f"{POSTS}{post.id}/", json={"title": "New"})
    assert response.status_code == 200
    row = await Post.objects.using(app_database()).get(id=post.id)
    assert row.title == "New" and row.content == post.content
    assert row.updated_at is not None and row.updated_at >= post.created_at


class DocumentInput(InputSchema):
    title: str
    body: str = ""


class DocumentOutput(OutputSchema):
    id: int
    title: str
    body: str
    version: int


class DocumentViewSet(OptimisticConcurrencyMixin, ModelViewSet):
    model = Document
    input_schema = DocumentInput
    output_schema = DocumentOutput
    permission_classes = [AllowAny]


class StrictDocumentViewSet(DocumentViewSet):
    require_if_match = True


@pytest.fixture
async def documents() -> AsyncIterator[httpx.AsyncClient]:
    router = AutoRouter(prefix="/api")
    router.register("/documents", DocumentViewSet, basename="document")
    router.register("/strict", StrictDocumentViewSet, basename="strict")
    app = app_with(router, models=[*TEST_MODELS, "tests.views.versioned_models"])
    async with app_client(app) as http:
        yield http


@pytest.mark.db
async def test_etag_on_retrieve_and_if_match_on_put_patch_delete(documents) -> None:
    http = documents
    created = await http.post("/api/documents/", json={"title": "Draft"})
    assert created.status_code == 201 and created.json()["version"] == 0
    url = f"/api/documents/{created.json()['id']}/"

    read = await http.get(url)
    assert read.headers["ETag"] == '"0"'
    patched = await http.patch(url, json={"title": "First"}, headers={"If-Match": '"0"'})
    assert patched.status_code == 200
    assert patched.headers["ETag"] == '"1"' and patched.json()["version"] == 1

    stale = await http.patch(url, json={"title": "Lost"}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert "changed by another request" in stale.json()["detail"]
    replaced = await http.put(
        url, json={"title": "Second", "body": "b"}, headers={"If-Match": 'W/"1"'}
    )
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"2"'
    assert (
        await http.put(url, json={"title": "x"}, headers={"If-Match": '"1"'})
    ).status_code == 412
    row = await Document.objects.using(app_database()).get(id=created.json()["id"])
    assert (row.title, row.body, row.version) == ("Second", "b", 2)
    assert row.updated_at is not None

    assert (await http.patch(url, json={"body": "c"})).status_code == 200  # If-Match optional
    assert (await http.delete(url, headers={"If-Match": '"2"'})).status_code == 412
    assert (await http.delete(url, headers={"If-Match": '"7", "3"'})).status_code == 204
    assert (await http.get(url)).status_code == 404


@pytest.mark.db
async def test_if_match_can_be_required(documents) -> None:
    http = documents
    created = await http.post("/api/strict/", json={"title": "Draft"})
    url = f"/api/strict/{created.json()['id']}/"
    missing = await http.patch(url, json={"title": "x"})
    assert missing.status_code == 428
    assert (await http.delete(url)).status_code == 428
    assert (
        await http.patch(url, json={"title": "x"}, headers={"If-Match": "*"})
    ).status_code == 200


@pytest.mark.db
async def test_concurrent_patches_of_the_same_field_one_wins_one_is_412(documents) -> None:
    """Two writers with the same ETag: exactly one change lands, the other is told (412)."""
    http = documents
    created = await http.post("/api/documents/", json={"title": "Draft"})
    url = f"/api/documents/{created.json()['id']}/"
    for round_ in range(ROUNDS):
        etag = (await http.get(url)).headers["ETag"]
        statuses: dict[str, int] = {}

        async def patch(title: str, etag: str = etag, statuses: dict = statuses) -> None:
            response = await http.patch(url, json={"title": title}, headers={"If-Match": etag})
            statuses[title] = response.status_code

        async with anyio.create_task_group() as group:
            group.start_soon(patch, f"a{round_}")
            group.start_soon(patch, f"b{round_}")
        assert sorted(statuses.values()) == [200, 412], statuses
        winner = next(title for title, status in statuses.items() if status == 200)
        row = await Document.objects.using(app_database()).get(id=created.json()["id"])
        assert (row.title, row.version) == (winner, round_ + 1)
