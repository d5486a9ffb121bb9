"""A client generated from `/openapi.json` by openapi-python-client drives `core init`'s project.

No request below is written by hand: each goes through the generated package, whose client is
built with `raise_on_unexpected_status=True`, so an answer with a status the document does not
list raises, and every documented answer is parsed into the documented model. That is what
"the OpenAPI document is exact" means to a user of a generated client.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.cli.test_project_commands import Served, scaffolded

PACKAGE = "blog_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate(spec: bytes, where: Path) -> None:
    """`openapi-python-client generate` into `where/blog_client` (no post-hooks, no network)."""
    (where / "openapi.json").write_bytes(spec)
    (where / "config.yaml").write_text("post_hooks: []\n")
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(where / "openapi.json"),
            "--output-path",
            str(where / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(where / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about what it could not express; an exact document gives none.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Any]:
    """Imports `blog_client.<module>` from the generated package; forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))

    def load(name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}")

    try:
        yield load
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def status(response: Any, expected: int, model: type) -> Any:
    """The parsed body of `response`, checked to be the documented `model` at `expected`."""
    assert response.status_code == HTTPStatus(expected), response.content
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


@pytest.mark.db
def test_a_generated_client_drives_the_example_project_end_to_end(
    tmp_path: Path, generated
) -> None:
    project = scaffolded(tmp_path)
    project.core("makemigrations", "--name", "initial")
    project.core("migrate")
    with Served(project) as http:
        spec = http.get("/openapi.json")  # the one request not made by the generated client
        check_document(spec.json())
        generate(spec.content, tmp_path)
        drive(generated, http.base_url)


def check_document(document: dict[str, Any]) -> None:
    """What the generated client relies on: /health open, 401 wherever a token is read."""
    health = document["paths"]["/health"]["get"]
    assert "security" not in health and "security" not in document
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/"):
                assert "401" in operation["responses"], (method, path)
                assert "503" in operation["responses"], (method, path)
    register = document["paths"]["/api/v1/auth/register/"]["post"]
    body = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    password = document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 1024)
    post_input = document["components"]["schemas"]["PostInput"]["properties"]
    assert post_input["title"]["maxLength"] == 200


def drive(load: Any, base_url: Any) -> None:
    client_module = load("client")
    models = load("models")
    auth = "api.authentication."
    posts = "api.posts."
    register = load(auth + "auth_register_api_v1_auth_register_post")
    login = load(auth + "auth_login_api_v1_auth_login_post")
    refresh = load(auth + "auth_refresh_api_v1_auth_refresh_post")
    me = load(auth + "auth_me_api_v1_auth_me_get")
    password = load(auth + "auth_password_api_v1_auth_password_post")
    create = load(posts + "post_create_api_v1_posts_post")
    retrieve = load(posts + "post_retrieve_api_v1_posts_id_get")
    update = load(posts + "post_update_api_v1_posts_id_put")
    patch = load(posts + "post_partial_update_api_v1_posts_id_patch")
    destroy = load(posts + "post_destroy_api_v1_posts_id_delete")
    listing = load(posts + "post_list_api_v1_posts_get")
    publish = load(posts + "post_publish_api_v1_posts_id_publish_post")
    health = load("api.system.health_health_get")

    def client(token: str | None = None) -> Any:
        options = {"base_url": str(base_url), "raise_on_unexpected_status": True}
        if token is None:
            return client_module.Client(**options)
        return client_module.AuthenticatedClient(token=token, **options)

    anonymous = client()
    assert health.sync_detailed(client=anonymous).status_code == HTTPStatus.OK

    # Register (202 whether or not the email is taken), then a weak password: a clean 422.
    user = {"email": "ann@example.com", "password": "Passw0rdOK-long"}
    body = models.UserRegisterInput(**user)
    registered = status(
        register.sync_detailed(client=anonymous, body=body), 202, models.MessageOutput
    )
    assert registered.message.startswith("Registration received")
    weak = models.UserRegisterInput(email="bob@example.com", password="short")
    refused = status(
        register.sync_detailed(client=anonymous, body=weak), 422, models.ValidationErrorResponse
    )
    assert refused.detail[0].loc == ["body", "password"]
    assert refused.detail[0].msg == "Password must be at least 8 characters"  # no "Value error, "

    # Login: a wrong password is a documented 401; the right one gives tokens.
    wrong = models.LoginInput(email=user["email"], password="not-the-password")
    denied = status(login.sync_detailed(client=anonymous, body=wrong), 401, models.ErrorMessage)
    assert denied.detail == "Invalid email or password"
    tokens = status(
        login.sync_detailed(client=anonymous, body=models.LoginInput(**user)),
        200,
        models.TokenResponse,
    )

    # A refresh token works once: the second use is a documented 401.
    once = models.RefreshTokenInput(refresh_token=tokens.refresh_token)
    status(refresh.sync_detailed(client=anonymous, body=once), 200, models.TokenResponse)
    spent = status(refresh.sync_detailed(client=anonymous, body=once), 401, models.ErrorMessage)
    assert spent.detail == "Invalid or expired refresh token"

    ann = client(tokens.access_token)
    profile = status(me.sync_detailed(client=ann), 200, models.UserOutput)
    assert profile.email == user["email"] and profile.date_joined.tzinfo is not None

    # A bad Bearer token is a 401 even on a route anyone may call.
    forged = status(listing.sync_detailed(client=client("forged")), 401, models.ErrorMessage)
    assert forged.detail == "Invalid or expired token."

    # CRUD.
    first = models.PostInput(title="First", slug="first", content="One", is_published=True)
    created = status(create.sync_detailed(client=ann, body=first), 201, models.PostOutput)
    assert created.slug == "first" and created.created_at.tzinfo is not None
    fetched = status(retrieve.sync_detailed(created.id, client=anonymous), 200, models.PostOutput)
    assert fetched.title == "First"
    changed = models.PostInput(title="First, again", slug="first", content="Two")
    updated = status(
        update.sync_detailed(created.id, client=ann, body=changed), 200, models.PostOutput
    )
    assert updated.title == "First, again" and updated.is_published is False
    patched = status(
        patch.sync_detailed(created.id, client=ann, body=models.PatchedPostInput(content="Three")),
        200,
        models.PostOutput,
    )
    assert patched.content == "Three" and patched.title == "First, again"
    status(publish.sync_detailed(created.id, client=ann), 200, models.PostOutput)

    # Field errors from a unique check and from the model's column length: one status, one form.
    duplicate = status(
        create.sync_detailed(
            client=ann, body=models.PostInput(title="x", slug="first", content="")
        ),
        422,
        models.ValidationErrorResponse,
    )
    assert duplicate.detail[0].to_dict() == {
        "loc": ["body", "slug"],
        "msg": "Post with this slug already exists.",
        "type": "unique",
    }
    too_long = models.PostInput(title="t" * 201, slug="long", content="")
    long = status(
        create.sync_detailed(client=ann, body=too_long), 422, models.ValidationErrorResponse
    )
    assert long.detail[0].loc == ["body", "title"]
    assert "at most 200 characters" in long.detail[0].msg

    # 413: a body over MAX_BODY_SIZE (1 MiB).
    huge = models.PostInput(title="big", slug="big", content="x" * (1024 * 1024 + 1))
    status(create.sync_detailed(client=ann, body=huge), 413, models.ErrorMessage)

    # Pagination and the ordering enum.
    for number in range(2, 5):
        post = models.PostInput(
            title=f"Post {number}", slug=f"post-{number}", content="", is_published=True
        )
        status(create.sync_detailed(client=ann, body=post), 201, models.PostOutput)
    descending = load("models.post_list_api_v1_posts_get_ordering_type_0")
    order = descending.PostListApiV1PostsGetOrderingType0("-title")
    page = status(
        listing.sync_detailed(client=anonymous, page_size=2, ordering=order),
        200,
        models.PaginatedPostOutput,
    )
    assert page.count == 4 and page.next_ is not None and page.previous is None
    assert [post.title for post in page.results] == ["Post 4", "Post 3"]
    last = status(
        listing.sync_detailed(client=anonymous, page_size=2, page=2, ordering=order),
        200,
        models.PaginatedPostOutput,
    )
    assert [post.title for post in last.results] == ["Post 2", "First, again"]
    assert last.next_ is None
    past = status(listing.sync_detailed(client=anonymous, page=9), 404, models.ErrorMessage)
    assert past.detail
    bad_page = status(
        listing.sync_detailed(client=anonymous, page=0), 422, models.ValidationErrorResponse
    )
    assert bad_page.detail[0].loc == ["query", "page"]

    # 403 (no posts.delete permission), 404 (no such post), then a wrong current password: 400.
    status(destroy.sync_detailed(created.id, client=ann), 403, models.ErrorMessage)
    missing = status(retrieve.sync_detailed(999_999, client=anonymous), 404, models.ErrorMessage)
    assert missing.detail == "Not found."
    status(destroy.sync_detailed(created.id, client=anonymous), 401, models.ErrorMessage)
    wrong_current = models.ChangePasswordInput(
        current_password="nope-nope", new_password="An0ther-long-password"
    )
    mistaken = status(
        password.sync_detailed(client=ann, body=wrong_current), 400, models.ErrorMessage
    )
    assert mistaken.detail == "Current password is incorrect"

    # 429: a sixth registration for one email within the hour (register_attempts: 5/hour).
    answers = [register.sync_detailed(client=anonymous, body=body).status_code for _ in range(6)]
    assert HTTPStatus.TOO_MANY_REQUESTS in answers, answers
    throttled = register.sync_detailed(client=anonymous, body=body)
    assert isinstance(throttled.parsed, models.ErrorMessage)
    assert throttled.headers["retry-after"].isdigit()
