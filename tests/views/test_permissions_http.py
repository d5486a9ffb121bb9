"""Every permission combination over HTTP: 401 when anonymous, 403 when authenticated."""

from __future__ import annotations

import pytest

from core.testing import force_authenticate
from tests.example_models import Post, User
from tests.helpers import make_post

POSTS = "/api/v1/posts/"
GUARDED = "/api/v1/guarded/"


async def test_class_permissions_apply_to_actions_not_in_by_action(client, app_db, alice) -> None:
    """POST /posts/ (create) falls back to permission_classes = [IsAuthenticated]."""
    anonymous = await client.post(POSTS, json={"title": "t", "slug": "s", "content": "c"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    force_authenticate(client, alice)
    assert (
        await client.post(POSTS, json={"title": "t", "slug": "s", "content": "c"})
    ).status_code == 201


async def test_is_owner_on_update(client, app_db, alice, bob) -> None:
    post = await make_post(app_db, alice)
    body = {"title": "x", "slug": "x", "content": "x"}
    assert (await client.put(f"{POSTS}{post.id}/", json=body)).status_code == 401
    force_authenticate(client, bob)
    forbidden = await client.put(f"{POSTS}{post.id}/", json=body)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "You do not own this object."}
    assert (await client.patch(f"{POSTS}{post.id}/", json={"title": "y"})).status_code == 403
    assert (await Post.objects.using(app_db).get(id=post.id)).title == "Title"
    force_authenticate(client, alice)
    assert (await client.patch(f"{POSTS}{post.id}/", json={"title": "y"})).status_code == 200


async def test_has_permission_on_destroy_through_direct_grant_group_or_superuser(
    client, app_db, alice, bob
) -> None:
    post = await make_post(app_db, alice)
    assert (await client.delete(f"{POSTS}{post.id}/")).status_code == 401
    force_authenticate(client, bob)
    assert (await client.delete(f"{POSTS}{post.id}/")).status_code == 403

    await bob.add_to_group("moderators", app_db)
    from core.auth import Group

    moderators = await Group.get_or_create("moderators", db=app_db)
    await moderators.add_permission("posts.delete", app_db)
    assert (await client.delete(f"{POSTS}{post.id}/")).status_code == 204

    second = await make_post(app_db, alice, slug="second")
    await bob.remove_from_group("moderators", app_db)
    assert (await client.delete(f"{POSTS}{second.id}/")).status_code == 403  # read per request
    await bob.add_permission("posts.delete", app_db)
    assert (await client.delete(f"{POSTS}{second.id}/")).status_code == 204

    third = await make_post(app_db, alice, slug="third")
    admin = await User.create_superuser("root@example.com", "Password1", db=app_db)
    force_authenticate(client, admin)
    assert (await client.delete(f"{POSTS}{third.id}/")).status_code == 204


async def test_or_composition_is_staff_or_in_group(client, app_db, alice, bob) -> None:
    assert (await client.get(GUARDED)).status_code == 401
    force_authenticate(client, bob)
    assert (await client.get(GUARDED)).status_code == 403
    await bob.add_to_group("editors", app_db)
    assert (await client.get(GUARDED)).status_code == 200
    force_authenticate(client, alice)
    assert (await client.get(GUARDED)).status_code == 403
    await User.objects.using(app_db).filter(id=alice.id).update(is_staff=True)
    assert (await client.get(GUARDED)).status_code == 200


async def test_and_not_composition(client, app_db, alice) -> None:
    post = await make_post(app_db, alice)
    assert (await client.get(f"{GUARDED}{post.id}/")).status_code == 401
    force_authenticate(client, alice)
    assert (await client.get(f"{GUARDED}{post.id}/")).status_code == 200
    admin = await User.create_superuser("root@example.com", "Password1", db=app_db)
    force_authenticate(client, admin)
    assert (await client.get(f"{GUARDED}{post.id}/")).status_code == 403  # ~IsAdmin


async def test_action_permission_and_custom_permission(client, app_db, alice, bob) -> None:
    force_authenticate(client, alice)
    assert (await client.get(f"{GUARDED}audit/")).status_code == 403
    await alice.add_permission("posts.audit", app_db)
    audited = await client.get(f"{GUARDED}audit/")
    assert audited.status_code == 200 and audited.json() == {"audited": True}


async def test_inactive_users_tokens_are_refused(client, app_db, alice) -> None:
    force_authenticate(client, alice)
    assert (await client.get("/api/v1/auth/me/")).status_code == 200
    await User.objects.using(app_db).filter(id=alice.id).update(is_active=False)
    refused = await client.get("/api/v1/auth/me/")
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer a b", "Bearer " + "x" * 10_000],
)
async def test_malformed_authorization_headers_are_401(client, header: str) -> None:
    response = await client.get("/api/v1/posts/", headers={"Authorization": header})
    assert response.status_code == 401
    assert "detail" in response.json()


async def test_non_ascii_authorization_header_is_401(client) -> None:
    response = await client.get("/api/v1/posts/", headers={b"Authorization": b"Bearer \xe9\xe9"})
    assert response.status_code == 401


async def test_forged_and_wrong_type_tokens_are_401(client, app_db, alice) -> None:
    from core.auth import create_refresh_token

    refresh = create_refresh_token({"sub": str(alice.id)})
    response = await client.get("/dashboard", headers={"Authorization": f"Bearer {refresh}"})
    assert response.status_code == 401
    force_authenticate(client, alice)
    token = client.headers["Authorization"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await client.get("/dashboard", headers={"Authorization": forged})
    assert response.status_code == 401
