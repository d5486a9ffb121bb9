"""One transaction per unsafe request: committed before the response, rolled back on errors."""

from __future__ import annotations

import asyncio

from core import AutoRouter, InputSchema, ModelViewSet, OutputSchema
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import Label, Post
from tests.helpers import app_with

POSTS = "/api/v1/posts/"


async def test_a_failing_after_create_leaves_no_row(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    response = await client.post(
        "/api/v1/articles/", json={"title": "explode after create", "slug": "x", "content": "c"}
    )
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "Traceback" not in response.text
    assert await Post.objects.using(app_db).count() == 0

    ok = await client.post("/api/v1/articles/", json={"title": "fine", "slug": "x", "content": "c"})
    assert ok.status_code == 201
    assert await Post.objects.using(app_db).count() == 1


async def test_a_committed_create_is_visible_to_the_next_request(client, alice) -> None:
    force_authenticate(client, alice)
    created = await client.post(POSTS, json={"title": "t", "slug": "s", "content": "c"})
    fetched = await client.get(f"{POSTS}{created.json()['id']}/")
    assert fetched.status_code == 200


async def test_ten_parallel_creates_with_the_same_slug(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    body = {"title": "Race", "slug": "race", "content": "c"}
    responses = await asyncio.gather(*(client.post(POSTS, json=body) for _ in range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [422] * 9, [r.text for r in responses]
    taken = {
        "detail": [
            {
                "loc": ["body", "slug"],
                "msg": "Post with this slug already exists.",
                "type": "unique",
            }
        ]
    }
    for response in responses:  # the check's and the constraint's answers read the same
        if response.status_code == 422:
            assert response.json() == taken
    assert await Post.objects.using(app_db).filter(slug="race").count() == 1


class LabelInput(InputSchema):
    code: str


class StrictLabelOutput(OutputSchema):
    """Only numeric codes can be dumped: anything else fails after the INSERT."""

    id: int
    code: int


class LabelViewSet(ModelViewSet):
    model = Label
    input_schema = LabelInput
    output_schema = StrictLabelOutput


async def test_a_response_that_fails_to_build_leaves_no_row() -> None:
    router = AutoRouter(prefix="/labels")
    router.register("", LabelViewSet, basename="label")
    async with app_client(app_with(router)) as http:
        failed = await http.post("/labels/", json={"code": "abc"})
        assert failed.status_code == 500  # the server's schema is wrong, not the request
        assert failed.json() == {"detail": "Internal Server Error"}
        assert await Label.objects.using(app_database()).count() == 0
        created = await http.post("/labels/", json={"code": "123"})
        assert created.status_code == 201 and created.json()["code"] == 123
        assert await Label.objects.using(app_database()).count() == 1


async def test_bad_input_to_a_one_trip_create_is_a_4xx_and_leaves_no_row() -> None:
    router = AutoRouter(prefix="/labels")
    router.register("", LabelViewSet, basename="label")
    async with app_client(app_with(router)) as http:
        assert (await http.post("/labels/", json={"code": "1"})).status_code == 201
        duplicate = await http.post("/labels/", json={"code": "1"})
        assert duplicate.status_code == 422
        assert duplicate.json()["detail"][0]["loc"] == ["body", "code"]
        too_long = await http.post("/labels/", json={"code": "1" * 30})
        assert too_long.status_code == 422
        json_headers = {"content-type": "application/json"}
        for body in (b'{"code": "\\ud800"}', b"\xff\xfe{", b"{", b"[1, 2]"):
            response = await http.post("/labels/", content=body, headers=json_headers)
            assert 400 <= response.status_code < 500, (body, response.text)
        assert await Label.objects.using(app_database()).count() == 1
