"""What authentication and permission checks cost in SQL, counted over HTTP.

A Bearer request authenticates in one statement (the user's row and the token's revocation
together). Groups and permissions load only for a check that needs them, once per request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request

from core import APIView, AutoRouter, ReadOnlyModelViewSet
from core.auth import APIKeyBackend, revoke_token
from core.permissions import (
    AllowAny,
    HasPermission,
    IsAuthenticated,
    IsInGroup,
    IsOwner,
    IsStaff,
    IsSuperUser,
)
from core.testing import app_client, app_database, force_authenticate
from tests.example_models import Post, User
from tests.guide_app import PostOutput
from tests.helpers import app_with, count_queries, make_post, permission_queries


def checked_by(*permissions: Any) -> type[APIView]:
    """An APIView whose GET runs no SQL of its own and reports what it saw."""

    class Checked(APIView):
        permission_classes = permissions

        async def get(self, request: Request) -> dict[str, Any]:
            user = request.state.user
            return {
                "user": None if user is None else user.email,
                "permissions_loaded": None if user is None else user.permissions_loaded,
            }

    return Checked


ROUTES: dict[str, tuple[Any, ...]] = {
    "open": (AllowAny,),
    "authenticated": (IsAuthenticated,),
    "owner": (IsOwner,),
    "superuser": (IsSuperUser,),
    "staff": (IsStaff,),
    "one-permission": (HasPermission("posts.read"),),
    "two-permissions": (HasPermission("posts.read") & HasPermission("posts.write"),),
    "permission-and-group": (HasPermission("posts.read"), IsInGroup("editors")),
    "group": (IsInGroup("editors"),),
}


class OwnedPostViewSet(ReadOnlyModelViewSet):
    """Retrieve is an object check: the post's own SELECT, then IsOwner on it."""

    model = Post
    output_schema = PostOutput
    permission_classes = [IsOwner]
    owner_field = "author_id"


def build_app() -> Any:
    router = APIRouter()
    for name, permissions in ROUTES.items():
        router.add_api_route(f"/{name}", checked_by(*permissions).as_route(f"/{name}")[1])
    posts = AutoRouter(prefix="/owned")
    posts.register("", OwnedPostViewSet, basename="owned")
    return app_with(router, posts)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app()) as http:
        yield http


@pytest.fixture
async def editor(client: httpx.AsyncClient) -> User:
    """A user holding posts.read directly and posts.write through the group `editors`."""
    db = app_database()
    user = await User.create_user("editor@example.com", "Password1", db=db)
    await user.add_permission("posts.read", db)
    await user.add_to_group("editors", db)
    from core.auth import Group

    editors = await Group.get_or_create("editors", db=db)
    await editors.add_permission("posts.write", db)
    return user


async def get(
    client: httpx.AsyncClient, path: str, **options: Any
) -> tuple[httpx.Response, list[str]]:
    with count_queries() as statements:
        response = await client.get(path, **options)
    return response, list(statements)


async def test_a_bearer_request_authenticates_in_one_statement(client, editor) -> None:
    force_authenticate(client, editor)
    for path in ("/open", "/authenticated"):
        response, statements = await get(client, path)
        assert response.status_code == 200, response.text
        assert response.json() == {"user": "editor@example.com", "permissions_loaded": False}
        assert len(statements) == 1, statements
        (sql,) = statements
        assert "users" in sql and "auth_revoked_tokens" in sql


async def test_an_anonymous_request_runs_no_sql(client, editor) -> None:
    response, statements = await get(client, "/open")
    assert response.json() == {"user": None, "permissions_loaded": None}
    assert statements == []


@pytest.mark.parametrize("path", ["/authenticated", "/owner", "/superuser", "/staff"])
async def test_checks_on_the_user_alone_load_no_permissions(client, editor, path) -> None:
    await (
        User.objects.using(app_database())
        .filter(id=editor.id)
        .update(is_staff=True, is_superuser=True)
    )
    force_authenticate(client, editor)
    response, statements = await get(client, path)
    assert response.status_code == 200, response.text
    assert response.json()["permissions_loaded"] is False
    assert len(statements) == 1, statements  # authentication; the view runs none


async def test_is_owner_on_an_object_loads_no_permissions(client, editor) -> None:
    post = await make_post(app_database(), editor)
    force_authenticate(client, editor)
    response, statements = await get(client, f"/owned/{post.id}/")
    assert response.status_code == 200, response.text
    assert permission_queries(statements) == []
    assert len(statements) == 2, statements  # authentication, then the post's row

    other = await User.create_user("other@example.com", "Password1", db=app_database())
    force_authenticate(client, other)
    response, statements = await get(client, f"/owned/{post.id}/")
    assert response.status_code == 403
    assert permission_queries(statements) == [] and len(statements) == 2, statements


@pytest.mark.parametrize(
    "path", ["/one-permission", "/two-permissions", "/permission-and-group", "/group"]
)
async def test_permission_classes_load_permissions_once_per_request(client, editor, path) -> None:
    force_authenticate(client, editor)
    response, statements = await get(client, path)
    assert response.status_code == 200, response.text
    assert response.json()["permissions_loaded"] is True
    loads = permission_queries(statements)
    # One load: the user's groups, direct permissions, and the groups' permissions.
    assert len(loads) == 3, statements
    assert len(statements) == 1 + len(loads), statements

    # The next request loads them afresh (a permission taken away counts at once).
    response, again = await get(client, path)
    assert response.status_code == 200 and len(again) == len(statements), again


async def test_a_missing_permission_is_a_403_after_one_load(client, editor) -> None:
    db = app_database()
    await editor.remove_permission("posts.read", db)
    force_authenticate(client, editor)
    response, statements = await get(client, "/two-permissions")
    assert response.status_code == 403
    assert len(permission_queries(statements)) == 3, statements


async def test_a_superuser_passes_permission_checks_without_loading(client, editor) -> None:
    await User.objects.using(app_database()).filter(id=editor.id).update(is_superuser=True)
    force_authenticate(client, editor)
    response, statements = await get(client, "/two-permissions")
    assert response.status_code == 200 and response.json()["permissions_loaded"] is False
    assert len(statements) == 1, statements


async def test_an_api_key_request_loads_no_permissions(client, editor, api_keys) -> None:
    _, raw = await APIKeyBackend.create_key(editor, app_database())
    response, statements = await get(client, "/authenticated", headers={"X-API-Key": raw})
    assert response.status_code == 200, response.text
    assert response.json() == {"user": "editor@example.com", "permissions_loaded": False}
    assert permission_queries(statements) == [], statements

    response, statements = await get(client, "/one-permission", headers={"X-API-Key": raw})
    assert response.status_code == 200 and response.json()["permissions_loaded"] is True
    assert len(permission_queries(statements)) == 3, statements


async def test_refused_tokens_cost_at_most_one_statement(client, editor) -> None:
    """Revoked (at once), inactive, deleted and password-changed users: 401, one query each."""
    db = app_database()
    force_authenticate(client, editor)
    assert (await client.get("/authenticated")).status_code == 200
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert await revoke_token(token, db)
    response, statements = await get(client, "/authenticated")
    assert response.status_code == 401 and len(statements) == 1, statements

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    for number, change in enumerate(({"is_active": False}, {"password_changed_at": later})):
        user = await User.create_user(f"user{number}@example.com", "P1", db=db)
        force_authenticate(client, user)
        assert (await client.get("/authenticated")).status_code == 200
        await User.objects.using(db).filter(id=user.id).update(**change)
        response, statements = await get(client, "/authenticated")
        assert response.status_code == 401 and len(statements) == 1, (change, statements)

    gone = await User.create_user("gone@example.com", "P1", db=db)
    force_authenticate(client, gone)
    await gone.delete(db)
    response, statements = await get(client, "/open")
    assert response.status_code == 401 and len(statements) == 1, statements
