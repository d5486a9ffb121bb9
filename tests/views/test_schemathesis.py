"""Schemathesis against the guide app's posts API: generated requests are never answered with a 5xx.

Client errors are never a 500 (DESIGN: Errors): huge integers, odd unicode, nulls and wrong types
must all be 4xx. The app runs in-process under `app_client` (lifespan, database) on the test's
event loop; Schemathesis and Hypothesis run in a worker thread and send each generated request
back to that loop, so the database connections stay on the loop that opened them. The schema is
the app's own /openapi.json loaded with `from_dict`: `from_asgi` would fetch it through
schemathesis' ASGI client, which starts the app's lifespan a second time, on its own event loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio.from_thread
import anyio.to_thread
import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth.tokens import create_access_token
from tests.example_models import Post, User
from tests.helpers import make_post

#: Bounded and reproducible: a fixed number of examples per operation, mode and user; no deadline
#: (a request may wait on the database), no example database written to the working tree.
PROFILE = "core-schemathesis"
settings.register_profile(
    PROFILE,
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

BASE_URL = "http://testserver"
POSTS_PATHS = r"^/api/v1/posts/"
#: Every operation the posts ViewSet documents: CRUD and @action routes.
POSTS_OPERATIONS = {
    "GET /api/v1/posts/",
    "POST /api/v1/posts/",
    "GET /api/v1/posts/{id}/",
    "PUT /api/v1/posts/{id}/",
    "PATCH /api/v1/posts/{id}/",
    "DELETE /api/v1/posts/{id}/",
    "POST /api/v1/posts/{id}/publish/",
    "POST /api/v1/posts/{id}/unpublish/",
    "GET /api/v1/posts/{id}/stats/",
    "GET /api/v1/posts/featured/",
    "POST /api/v1/posts/bulk-title/",
}

Send = Callable[[dict[str, Any]], httpx.Response]


def loop_sender(client: httpx.AsyncClient) -> Send:
    """Send schemathesis' request (as `requests` would encode it) through `client`, from a thread."""

    async def send(kwargs: dict[str, Any]) -> httpx.Response:
        prepared = requests.Request(**kwargs).prepare()
        return await client.request(
            prepared.method or "GET",
            prepared.url or "",
            headers=dict(prepared.headers),
            content=prepared.body,
        )

    return lambda kwargs: anyio.from_thread.run(send, kwargs)


def has_inputs(operation: Any) -> bool:
    """Negative data needs something to break: a parameter or a body."""
    return bool(operation.path_parameters or operation.query or operation.body)


def fuzz(
    operation: Any, mode: GenerationMode, post_ids: list[int], token: str | None, send: Send
) -> None:
    """Send generated requests for one operation; every response must be below 500."""
    strategies = [operation.as_strategy(mode)]
    if mode is GenerationMode.POSITIVE and "{id}" in operation.path:
        # Random ids are nearly all 404s: aim valid requests at rows that exist, too.
        strategies += [operation.as_strategy(mode, path_parameters={"id": pk}) for pk in post_ids]
    headers = {"Authorization": f"Bearer {token}"} if token else None

    @settings(settings.get_profile(PROFILE))
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        response = send(case.as_transport_kwargs(base_url=BASE_URL, headers=headers))
        # On a 5xx this raises schemathesis' report: the response and a curl command.
        case.validate_response(response, checks=[not_a_server_error], headers=headers)

    run()


async def seed(db: BaseDBAsyncClient) -> tuple[User, list[int]]:
    """A superuser (who may delete) who owns a few posts: published or not, some featured."""
    author = await User.create_superuser("author@example.com", "Password1", db=db, name="Author")
    posts: list[Post] = [
        await make_post(
            db,
            author,
            title=f"Post {n}",
            slug=f"post-{n}",
            content="Lorem ipsum " * n,
            is_published=n % 2 == 0,
            views_count=60 * n,
        )
        for n in range(5)
    ]
    return author, [post.pk for post in posts]


async def test_no_generated_request_gets_a_server_error(
    client: httpx.AsyncClient, app_db: BaseDBAsyncClient
) -> None:
    author, post_ids = await seed(app_db)
    token = create_access_token({"sub": str(author.pk)})
    raw_schema = (await client.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(raw_schema).include(path_regex=POSTS_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    # DELETE last, so the seeded rows serve every other operation first.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    assert {op.label for op in operations} == POSTS_OPERATIONS
    send = loop_sender(client)

    def run_all() -> None:
        for op in operations:
            for user_token in (None, token):  # anonymous, then the author
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    if mode is GenerationMode.POSITIVE or has_inputs(op):
                        fuzz(op, mode, post_ids, user_token, send)

    await anyio.to_thread.run_sync(run_all)


#: Inputs fuzzing found or rarely draws, pinned here, each with the statuses it may get. Some are
#: stored by SQLite but refused by PostgreSQL (NUL bytes, int4 overflow): never a 5xx on either.
CLIENT_ERROR = range(400, 500)
NOT_SERVER_ERROR = range(200, 500)
HOSTILE_REQUESTS = [
    # An integer beyond 64 bits in a filter: sqlite3 raised OverflowError (a 500).
    ("GET", "/api/v1/posts/?views_count__lte=78553647371024039936", None, CLIENT_ERROR),
    ("GET", "/api/v1/posts/?views_count__gte=-78553647371024039936", None, CLIENT_ERROR),
    # Beyond the int32 column (PostgreSQL's int4), within 64 bits.
    ("GET", "/api/v1/posts/?views_count=2147483648", None, NOT_SERVER_ERROR),
    ("GET", "/api/v1/posts/?page=78553647371024039936", None, CLIENT_ERROR),
    ("GET", "/api/v1/posts/?page_size=78553647371024039936", None, NOT_SERVER_ERROR),
    ("GET", "/api/v1/posts/78553647371024039936/", None, CLIENT_ERROR),
    ("GET", "/api/v1/posts/2147483648/stats/", None, CLIENT_ERROR),
    ("GET", "/api/v1/posts/?search=a%00b", None, NOT_SERVER_ERROR),
    ("GET", "/api/v1/posts/?search=%ED%A0%80", None, NOT_SERVER_ERROR),
    ("GET", "/api/v1/posts/?ordering=%00", None, CLIENT_ERROR),
    ("GET", "/api/v1/posts/?is_published=maybe", None, CLIENT_ERROR),
    # A lone surrogate is valid JSON but not storable text: sqlite3 raised UnicodeEncodeError.
    ("POST", "/api/v1/posts/", '{"title": "\\ud800", "slug": "s", "content": "c"}', CLIENT_ERROR),
    ("PATCH", "/api/v1/posts/{id}/", '{"content": "\\udfff"}', CLIENT_ERROR),
    (
        "POST",
        "/api/v1/posts/bulk-title/",
        '{"current_password": "\\ud800", "new_password": "x"}',
        CLIENT_ERROR,
    ),
    # NUL bytes: PostgreSQL text cannot hold them (SQLite can).
    (
        "POST",
        "/api/v1/posts/",
        '{"title": "a\\u0000b", "slug": "nul", "content": "c"}',
        NOT_SERVER_ERROR,
    ),
    (
        "PUT",
        "/api/v1/posts/{id}/",
        '{"title": "t", "slug": "s\\u0000", "content": "c"}',
        NOT_SERVER_ERROR,
    ),
    # Over the column's max_length (the input schema does not say so); a taken slug.
    (
        "POST",
        "/api/v1/posts/",
        '{"title": "' + "t" * 201 + '", "slug": "l", "content": "c"}',
        CLIENT_ERROR,
    ),
    (
        "POST",
        "/api/v1/posts/bulk-title/",
        '{"current_password": "t", "new_password": "post-3"}',
        CLIENT_ERROR,
    ),
    # Nulls, wrong types, not JSON.
    ("PATCH", "/api/v1/posts/{id}/", '{"title": null}', CLIENT_ERROR),
    ("PUT", "/api/v1/posts/{id}/", '{"title": 1, "slug": [], "content": {}}', CLIENT_ERROR),
    ("POST", "/api/v1/posts/", "null", CLIENT_ERROR),
    ("POST", "/api/v1/posts/", "1e999999", CLIENT_ERROR),
    ("POST", "/api/v1/posts/", '{"title": "unterminated', CLIENT_ERROR),
    ("POST", "/api/v1/posts/", b"\xff\xfe", CLIENT_ERROR),
]


async def test_hostile_inputs_are_never_server_errors(
    client: httpx.AsyncClient, app_db: BaseDBAsyncClient
) -> None:
    author, post_ids = await seed(app_db)
    client.headers["Authorization"] = f"Bearer {create_access_token({'sub': str(author.pk)})}"
    unexpected = []
    for method, path, body, expected in HOSTILE_REQUESTS:
        headers = {"content-type": "application/json"} if body is not None else {}
        url = path.replace("{id}", str(post_ids[1]))
        response = await client.request(method, url, content=body, headers=headers)
        echoed = response.status_code >= 400 and any(
            value in response.text for value in long_strings(body)
        )
        if (
            response.status_code not in expected
            or "json" not in response.headers["content-type"]
            or echoed  # an error names the field, it does not send a long input back
        ):
            unexpected.append((method, url, body, response.status_code, response.text[:300]))
    assert not unexpected


def long_strings(body: str | bytes | None) -> list[str]:
    """The long string values of a JSON object body."""
    try:
        data = json.loads(body or "null")
    except ValueError:
        return []
    values = data.values() if isinstance(data, dict) else []
    return [value for value in values if isinstance(value, str) and len(value) > 100]
