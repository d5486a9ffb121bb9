"""What goes in comes back out, on every database; what cannot be stored is a 4xx naming the field.

These run on SQLite, and again on PostgreSQL and MariaDB (`make test-pg`, `make test-mysql`):
4-byte characters, case- and accent-sensitive unique strings, time zones, and values a column
cannot hold.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
from fastapi import APIRouter, Body
from tortoise.backends.base.client import BaseDBAsyncClient

from core.db.schema import dialect_of
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import Everything, Post, User
from tests.helpers import app_with

POSTS = "/api/v1/posts/"


def everything(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "string": "s",
        "text": "t",
        "integer": 1,
        "big_integer": 1,
        "float_": 1.0,
        "decimal": Decimal("1.00"),
        "datetime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "date": dt.date(2024, 1, 1),
        "time": dt.time(12, 0, tzinfo=dt.UTC),
        "json": [],
        "uuid": uuid.uuid4(),
    }
    row.update(values)
    return row


async def test_four_byte_characters_round_trip_over_http(client, app_db, alice: User) -> None:
    force_authenticate(client, alice)
    title = "Party 🎉 at 𝄞 café: 🙂🇫🇷 漢字"
    created = await client.post(POSTS, json={"title": title, "slug": "party", "content": title * 3})
    assert created.status_code == 201, created.text
    fetched = await client.get(f"{POSTS}{created.json()['id']}/")
    assert fetched.json()["title"] == title
    assert fetched.json()["content"] == title * 3
    assert (await Post.objects.using(app_db).get(slug="party")).title == title


async def test_different_emoji_and_case_or_accent_variants_are_different_slugs(
    client, app_db, alice: User
) -> None:
    """Unique strings compare code points on every database (MySQL: the utf8mb4_bin collation)."""
    force_authenticate(client, alice)
    slugs = ["🙂", "🎉", "resume", "résumé", "resumé", "ß", "ss"]
    for slug in slugs:
        response = await client.post(POSTS, json={"title": "t", "slug": slug, "content": "c"})
        assert response.status_code == 201, (slug, response.text)
    # The API lower-cases slugs; the table itself keeps case variants apart.
    for slug in ("hello", "Hello", "HELLO"):
        await Post.create(title="t", slug=slug, content="c", author=alice, using_db=app_db)
    slugs += ["hello", "Hello", "HELLO"]
    assert await Post.objects.using(app_db).count() == len(slugs)
    # `=` is exact too: no case folding, no accent folding, no emoji equal to another.
    for slug in slugs:
        assert await Post.objects.using(app_db).filter(slug=slug).count() == 1, slug

    duplicate = await client.post(POSTS, json={"title": "t", "slug": "🎉", "content": "c"})
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"][0]["loc"] == ["body", "slug"]
    assert await Post.objects.using(app_db).count() == len(slugs)


async def test_datetimes_and_times_round_trip_with_their_zone(db: BaseDBAsyncClient) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=paris)
    row = await Everything.create(
        **everything(datetime=moment, time=dt.time(0, 0, 0, 1, tzinfo=dt.UTC)), using_db=db
    )
    loaded = await Everything.objects.using(db).get(id=row.id)
    assert loaded.datetime == moment  # the same instant...
    assert loaded.datetime.utcoffset() == dt.timedelta(0)  # ...read back in UTC
    assert isinstance(loaded.time, dt.time)
    assert loaded.time == dt.time(0, 0, 0, 1, tzinfo=dt.UTC)
    late = await Everything.create(
        **everything(time=dt.time(23, 59, 59, 999999, tzinfo=dt.UTC)), using_db=db
    )
    assert (await Everything.objects.using(db).get(id=late.id)).time == dt.time(
        23, 59, 59, 999999, tzinfo=dt.UTC
    )


async def test_lone_surrogates_are_a_422_naming_the_field_and_write_nothing(
    client, app_db, alice: User
) -> None:
    """The input schema refuses them before any database sees them, alike on every database."""
    force_authenticate(client, alice)
    created = await client.post(
        POSTS,
        content=b'{"title": "a\\ud800b", "slug": "s", "content": "c"}',
        headers={"content-type": "application/json"},
    )
    assert created.status_code == 422, created.text
    assert created.json()["detail"][0]["loc"] == ["body", "title"]
    assert await Post.objects.using(app_db).count() == 0

    ok = await client.post(POSTS, json={"title": "t", "slug": "ok", "content": "c"})
    patched = await client.patch(
        f"{POSTS}{ok.json()['id']}/",
        content=b'{"content": "x\\udfff"}',
        headers={"content-type": "application/json"},
    )
    assert patched.status_code == 422, patched.text
    assert patched.json()["detail"][0]["loc"] == ["body", "content"]
    assert (await Post.objects.using(app_db).get(slug="ok")).content == "c"


def _store_router() -> APIRouter:
    """POST /store/ saves one Everything row with the body's values (no schema in between)."""
    router = APIRouter()

    @router.post("/store/", status_code=201)
    async def store(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        values = everything(**body)
        if "decimal" in body:
            values["decimal"] = Decimal(str(body["decimal"]))
        row = await Everything.create(**values, using_db=app_database())
        return {"id": row.id}

    return router


async def test_values_a_column_cannot_hold_are_a_4xx_never_a_500() -> None:
    async with app_client(app_with(_store_router())) as http:
        assert (await http.post("/store/", json={"string": "fine 🙂"})).status_code == 201
        stored = 1
        cases: list[tuple[dict[str, Any], str]] = [
            ({"big_integer": 2**64}, "big_integer"),  # beyond 64 bits
            ({"text": "bad \udc80 text"}, "text"),  # a lone surrogate
        ]
        for body, field in cases:
            response = await _post_raw(http, "/store/", body)
            assert 400 <= response.status_code < 500, (body, response.text)
            if dialect_of(app_database()) == "mysql":
                assert response.json()["detail"][0]["loc"] == ["body", field], response.text
        too_precise = await http.post("/store/", json={"decimal": "123456789012.5"})
        if dialect_of(app_database()) == "sqlite":
            # SQLite does not enforce DECIMAL(10, 2): the value is stored as it is.
            assert too_precise.status_code == 201
            stored += 1
        else:
            assert too_precise.status_code == 422, too_precise.text
            assert too_precise.json()["detail"][0]["loc"][0] == "body"  # one shape everywhere
            if dialect_of(app_database()) == "mysql":
                assert too_precise.json()["detail"][0]["loc"] == ["body", "decimal"]
        assert await Everything.objects.using(app_database()).count() == stored


async def _post_raw(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    """POST `body` as JSON, lone surrogates escaped as JSON allows (`json=` would refuse them)."""
    import json

    return await http.post(
        url, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
