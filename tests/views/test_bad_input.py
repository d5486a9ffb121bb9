"""Bad input is a 4xx with a clear JSON body, never a 500, and writes nothing."""

from __future__ import annotations

import unicodedata

import pytest

from core.auth import AuthenticationFailed
from core.testing import app_database, force_authenticate
from core.views import NotAuthenticated
from tests.example_models import Post
from tests.helpers import make_post

POSTS = "/api/v1/posts/"


async def test_malformed_json_is_400_for_schemas_and_for_handlers_reading_the_body(
    client, alice
) -> None:
    force_authenticate(client, alice)
    for url in (POSTS, "/api/v1/auth/login/", "/api/v1/auth/register/"):
        response = await client.post(
            url, content=b'{"title": ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, url
        assert response.json()["detail"].startswith("Malformed JSON body")
    not_utf8 = await client.post(
        "/api/v1/auth/login/", content=b"\xff\xfe{}", headers={"content-type": "application/json"}
    )
    assert not_utf8.status_code == 400


async def test_wrong_types_are_422_in_fastapis_format_without_echoing_input(client, alice) -> None:
    force_authenticate(client, alice)
    response = await client.post(POSTS, json={"title": ["x"], "slug": "s", "content": 5})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert {tuple(e["loc"]) for e in errors} == {("body", "title"), ("body", "content")}
    assert all("msg" in e and "type" in e and "input" not in e for e in errors)

    weak = await client.post(
        "/api/v1/auth/register/", json={"email": "a@example.com", "password": "secret-weak"}
    )
    assert weak.status_code == 422
    assert "secret-weak" not in weak.text  # a rejected password is never echoed
    assert weak.json()["detail"][0]["loc"] == ["body", "password"]


async def test_a_json_body_that_is_not_an_object_is_422(client, alice) -> None:
    force_authenticate(client, alice)
    for body in ("[]", '"text"', "null", "42"):
        response = await client.post(
            POSTS, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, body


@pytest.mark.parametrize(
    "path", ["abc", "1.5", "99999999999999999999999", "-99999999999", "%00", "9999999"]
)
async def test_ids_that_do_not_parse_or_do_not_exist_are_404(client, path: str) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(method, f"{POSTS}{path}/", json={})
        assert response.status_code in (401, 404), (method, path, response.text)
    assert (await client.get(f"{POSTS}{path}/")).status_code == 404
    assert (await client.get(f"{POSTS}{path}/stats/")).status_code == 404


async def test_unsupported_methods_are_405(client, app_db, alice) -> None:
    post = await make_post(app_db, alice)
    assert (await client.post(f"{POSTS}{post.id}/")).status_code == 405
    assert (await client.put(POSTS, json={})).status_code == 405
    response = await client.get(f"{POSTS}{post.id}/publish/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


async def test_bodies_over_the_limit_are_413(client, alice) -> None:
    force_authenticate(client, alice)
    huge = {"title": "t", "slug": "s", "content": "x" * (1024 * 1024 + 1)}
    response = await client.post(POSTS, json=huge)
    assert response.status_code == 413
    assert response.content == b'{"detail":"Request body is larger than 1048576 bytes."}'

    async def chunks():  # no Content-Length: counted while reading
        for _ in range(17):
            yield b"x" * 65536

    streamed = await client.post(
        POSTS, content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert await Post.objects.count() == 0


async def test_model_limits_are_422_naming_the_field(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    too_long = await client.post(POSTS, json={"title": "t" * 500, "slug": "s", "content": "c"})
    assert too_long.status_code == 422
    error = too_long.json()["detail"][0]
    assert error["loc"] == ["body", "title"]
    assert error["msg"] == "Ensure this value has at most 200 characters (it has 500)."
    assert "ttttt" not in too_long.text  # the refused value is not echoed
    post = await make_post(app_db, alice)
    huge = await client.patch(f"{POSTS}{post.id}/", json={"slug": "s" * 300})
    assert huge.status_code == 422
    assert await Post.objects.using(app_db).filter(slug="title").exists()


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**70])
async def test_integer_filters_are_bounded_by_their_column(client, value: int) -> None:
    response = await client.get(POSTS, params={"views_count__gte": value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "views_count__gte"]


async def test_unknown_routes_are_404_json(client) -> None:
    response = await client.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}  # the views' wording, not Starlette's


DEEP_BODIES = {
    "array": "[" * 1000 + "]" * 1000,
    "object": '{"a": ' * 1000 + "1" + "}" * 1000,
    "in a field": '{"title": ' + "[" * 100_000 + "]" * 100_000 + ', "slug": "s", "content": "c"}',
}


@pytest.mark.parametrize("shape", DEEP_BODIES)
async def test_deeply_nested_json_is_400_on_every_json_endpoint(client, alice, shape) -> None:
    """`[[[...` 1,000 levels deep was a RecursionError (a 500, a traceback under DEBUG)."""
    post = await make_post(app_database(), alice)
    force_authenticate(client, alice)
    schema = (await client.get("/openapi.json")).json()
    sent = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            url = path.replace("{id}", str(post.id)).replace("{pk}", str(post.id))
            response = await client.request(
                method.upper(),
                url,
                content=DEEP_BODIES[shape],
                headers={"content-type": "application/json"},
            )
            sent += 1
            assert response.status_code < 500, (method, path, response.text[:200])
            assert "Traceback" not in response.text and "traceback" not in response.json()
            if response.status_code == 400:
                assert response.json()["detail"] == "Malformed JSON body: nested too deeply"
    assert sent >= 5
    for url in (POSTS, "/api/v1/auth/login/", "/api/v1/auth/register/"):  # schema and handler
        force_authenticate(client, None if "auth" in url else alice)
        response = await client.post(
            url, content=DEEP_BODIES[shape], headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (url, response.text[:200])
        assert response.json() == {"detail": "Malformed JSON body: nested too deeply"}


async def test_nul_and_lone_surrogates_get_one_answer_on_every_database(client, alice) -> None:
    """NUL was stored by SQLite and refused by PostgreSQL; now both refuse it up front."""
    force_authenticate(client, alice)
    for body in (
        '{"title": "a\\u0000b", "slug": "nul", "content": "c"}',
        '{"title": "t", "slug": "s\\ud800", "content": "c"}',
    ):
        response = await client.post(
            POSTS, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["type"] == "string_unstorable"
    assert await Post.objects.using(app_database()).count() == 0
    for query in ("search=a%00b", "is_published=tr%00ue"):
        response = await client.get(f"{POSTS}?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["type"] in ("string_unstorable", "bool_parsing")


async def test_nfc_and_nfd_forms_of_a_unique_string_are_one_value(client, alice) -> None:
    force_authenticate(client, alice)
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    first = await client.post(POSTS, json={"title": "One", "slug": nfd, "content": "c"})
    assert first.status_code == 201 and first.json()["slug"] == nfc
    second = await client.post(POSTS, json={"title": "Two", "slug": nfc, "content": "c"})
    assert second.status_code == 422
    assert second.json()["detail"][0]["loc"] == ["body", "slug"]
    rows = await Post.objects.using(app_database()).all()
    assert [row.slug for row in rows] == [nfc]
    assert await Post.objects.using(app_database()).filter(slug=nfd).count() == 1


async def test_field_errors_have_one_clean_form_whoever_refuses_the_value(client, alice) -> None:
    """A validator's ValueError: no "Value error, " prefix, no `ctx`, no `input`."""
    force_authenticate(client, alice)
    response = await client.post(POSTS, json={"title": "T", "slug": "a b", "content": "c"})
    assert response.status_code == 422
    assert response.content == (
        b'{"detail":[{"loc":["body","slug"],"msg":"Slug cannot contain spaces","type":"value_error"}]}'
    )
    missing = await client.post(POSTS, json={"slug": "s", "content": "c"})
    assert missing.json() == {
        "detail": [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}]
    }
    unknown = await client.get(POSTS, params={"colour": "red"})
    assert unknown.status_code == 422
    [error] = unknown.json()["detail"]
    assert set(error) == {"loc", "msg", "type"} and error["loc"] == ["query", "colour"]


async def test_one_401_class_with_its_challenge(client) -> None:
    assert NotAuthenticated is AuthenticationFailed
    response = await client.get(POSTS, headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Invalid or expired token."}
    anonymous = await client.post(POSTS, json={"title": "T", "slug": "s", "content": "c"})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
