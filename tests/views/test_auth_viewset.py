"""The guide's AuthViewSet over HTTP: register, login, refresh, me, password, logout."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest

from core import AutoRouter, Settings
from core.auth import (
    FastTestHasher,
    PBKDF2Hasher,
    create_access_token,
    register_password_hasher,
    set_default_password_hasher,
)
from core.auth.hashers import configure_password_hashing
from core.config import PUBLIC_SECRETS
from core.testing import app_client, app_database, override_settings
from tests.example_models import User
from tests.guide_app import AuthViewSet
from tests.helpers import app_with

AUTH = "/api/v1/auth/"
STRONG = "Str0ngPassword"


async def register(client, email: str = "new@example.com", password: str = STRONG):
    return await client.post(f"{AUTH}register/", json={"email": email, "password": password})


async def login(client, email: str = "new@example.com", password: str = STRONG):
    return await client.post(f"{AUTH}login/", json={"email": email, "password": password})


async def test_register_then_login_then_me(client, app_db) -> None:
    created = await register(client)
    assert created.status_code == 200
    assert created.json()["email"] == "new@example.com"
    assert "password" not in created.text and "password_hash" not in created.text

    duplicate = await register(client, email="NEW@example.com")
    # The same form as a duplicate slug: a 422 naming the field.
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "detail": [
            {
                "loc": ["body", "email"],
                "msg": "User with this email already exists.",
                "type": "unique",
            }
        ]
    }
    assert await User.objects.using(app_db).count() == 1

    tokens = await login(client)
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60

    me = await client.get(f"{AUTH}me/", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "new@example.com"
    assert (await client.get(f"{AUTH}me/")).status_code == 401


async def test_register_cannot_grant_privileges(client, app_db) -> None:
    response = await client.post(
        f"{AUTH}register/",
        json={
            "email": "sneaky@example.com",
            "password": STRONG,
            "is_superuser": True,
            "is_staff": True,
        },
    )
    assert response.status_code == 200
    user = await User.objects.using(app_db).get(email="sneaky@example.com")
    assert not user.is_superuser and not user.is_staff


async def test_login_failures_look_the_same(client, app_db) -> None:
    await register(client)
    await register(client, email="off@example.com")
    await User.objects.using(app_db).filter(email="off@example.com").update(is_active=False)
    answers = [
        await login(client, password="Wrong-password1"),
        await login(client, email="nobody@example.com"),
        await login(client, email="off@example.com"),
    ]
    assert {(r.status_code, r.text) for r in answers} == {
        (401, '{"detail":"Invalid email or password"}')
    }
    missing = await client.post(f"{AUTH}login/", json={"email": "x@example.com"})
    assert missing.status_code == 422


async def test_refresh_and_change_password(client, app_db) -> None:
    await register(client)
    tokens = (await login(client)).json()

    refreshed = await client.post(
        f"{AUTH}refresh/", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    wrong_type = await client.post(
        f"{AUTH}refresh/", json={"refresh_token": tokens["access_token"]}
    )
    assert wrong_type.status_code == 401

    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    bad = await client.post(
        f"{AUTH}password/",
        json={"current_password": "nope", "new_password": "N3wPassword"},
        headers=headers,
    )
    assert bad.status_code == 400
    changed = await client.post(
        f"{AUTH}password/",
        json={"current_password": STRONG, "new_password": "N3wPassword"},
        headers=headers,
    )
    assert changed.status_code == 200
    assert (await login(client)).status_code == 401
    assert (await login(client, password="N3wPassword")).status_code == 200


async def test_logout_revokes_the_access_and_refresh_tokens(client, app_db) -> None:
    await register(client)
    tokens = (await login(client)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get(f"{AUTH}me/", headers=headers)).status_code == 200
    out = await client.post(
        f"{AUTH}logout/", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert out.status_code == 200
    assert (await client.get(f"{AUTH}me/", headers=headers)).status_code == 401
    from core.auth import rotate_refresh_token

    assert await rotate_refresh_token(tokens["refresh_token"], app_db) is None


async def test_disabled_crud_routes_answer_404(client, app_db) -> None:
    await register(client)
    user = await User.objects.using(app_db).get(email="new@example.com")
    assert (await client.get(AUTH)).status_code == 404
    assert (await client.get(f"{AUTH}{user.id}/")).status_code == 404
    assert (
        await client.post(AUTH, json={"email": "a@b.co", "password": STRONG})
    ).status_code == 404
    assert (
        await client.put(f"{AUTH}{user.id}/", json={"email": "x@y.co", "password": STRONG})
    ).status_code == 404
    # PATCH goes through update(), which the guide disabled: the email cannot be hijacked.
    assert (
        await client.patch(f"{AUTH}{user.id}/", json={"email": "evil@example.com"})
    ).status_code == 404
    assert (await client.delete(f"{AUTH}{user.id}/")).status_code == 404
    assert (await User.objects.using(app_db).get(id=user.id)).email == "new@example.com"


SURROGATE = "Str0ng\ud800Password"


async def post_ascii_json(client, url: str, body: dict, **kwargs):
    """POST `body` as ASCII JSON: a lone surrogate travels as the escape `\\ud800`."""
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return await client.post(url, content=json.dumps(body), headers=headers, **kwargs)


async def test_a_lone_surrogate_in_a_password_is_422_everywhere_and_reveals_no_account(
    client, app_db
) -> None:
    """`"\\ud800"` made `password.encode()` raise: a 500 for unknown emails, 401 for known ones."""
    await register(client)
    answers = [
        await post_ascii_json(client, f"{AUTH}login/", {"email": email, "password": SURROGATE})
        for email in ("new@example.com", "nobody@example.com", "bad\ud800@example.com")
    ]
    assert {r.status_code for r in answers} == {422}
    assert {r.json()["detail"][0]["loc"][-1] for r in answers[:2]} == {"password"}
    assert answers[0].text == answers[1].text
    assert "\\ud800" not in answers[0].text  # the rejected text is not echoed

    refused = await post_ascii_json(
        client, f"{AUTH}register/", {"email": "other@example.com", "password": SURROGATE}
    )
    assert refused.status_code == 422
    assert await User.objects.using(app_db).filter(email="other@example.com").count() == 0

    tokens = (await login(client)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for body in (
        {"current_password": STRONG, "new_password": SURROGATE},
        {"current_password": SURROGATE, "new_password": STRONG + "x"},
    ):
        changed = await post_ascii_json(client, f"{AUTH}password/", body, headers=headers)
        assert changed.status_code == 422, changed.text
    assert (await login(client)).status_code == 200  # the password did not change


async def test_a_token_signed_with_a_public_key_is_refused(client, app_db) -> None:
    """With no SECRET_KEY the key was public: an admin token forged with it read every user."""
    admin = await User.create_superuser("root@example.com", STRONG, db=app_db)
    for public in sorted(PUBLIC_SECRETS - {""}):
        with override_settings(secret_key=public):
            forged = create_access_token({"sub": str(admin.id)})
        me = await client.get(f"{AUTH}me/", headers={"Authorization": f"Bearer {forged}"})
        assert me.status_code == 401, public
    genuine = create_access_token({"sub": str(admin.id)})
    me = await client.get(f"{AUTH}me/", headers={"Authorization": f"Bearer {genuine}"})
    assert me.status_code == 200


async def test_django_users_log_in_and_are_upgraded_but_never_down(client, app_db) -> None:
    from tests.auth.test_hashers import DJANGO_DEFAULT_LIST_HASHES

    user = await User.create_user("dj@example.com", None, db=app_db)
    for algorithm in ("pbkdf2_sha1", "argon2", "bcrypt_sha256", "scrypt"):
        user.password_hash = DJANGO_DEFAULT_LIST_HASHES[algorithm]
        await user.save(app_db)
        response = await login(client, email="dj@example.com", password="lètmein")
        assert response.status_code == 200, algorithm
        await user.refresh(app_db)
        assert user.password_hash.startswith("fast_test$"), algorithm  # upgraded at login

    register_password_hasher(PBKDF2Hasher(iterations=1000))
    set_default_password_hasher("pbkdf2_sha256")
    stronger = DJANGO_DEFAULT_LIST_HASHES["pbkdf2_sha256"]  # 2000 iterations
    user.password_hash = stronger
    await user.save(app_db)
    assert (await login(client, email="dj@example.com", password="lètmein")).status_code == 200
    await user.refresh(app_db)
    assert user.password_hash == stronger


async def test_a_password_change_ends_tokens_issued_in_the_same_second(client, app_db) -> None:
    """Revocation compared whole seconds: a token from the second of the change survived it."""
    await register(client)
    for _ in range(3):
        old = (await login(client)).json()["access_token"]
        headers = {"Authorization": f"Bearer {old}"}
        changed = await client.post(
            f"{AUTH}password/",
            json={"current_password": STRONG, "new_password": STRONG},
            headers=headers,
        )
        assert changed.status_code == 200
        assert (await client.get(f"{AUTH}me/", headers=headers)).status_code == 401
        new = (await login(client)).json()["access_token"]  # right away, same second
        me = await client.get(f"{AUTH}me/", headers={"Authorization": f"Bearer {new}"})
        assert me.status_code == 200


class SlowHasher(FastTestHasher):
    """A hasher that takes 0.3 s, so concurrent logins pile up."""

    name = "slow_test"

    def hash(self, password: str) -> str:
        time.sleep(0.3)
        return super().hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        time.sleep(0.3)
        return super().verify(password, encoded)


@pytest.mark.db
async def test_concurrent_hashing_is_bounded_and_a_full_queue_is_503() -> None:
    """Nothing bounded hashing: argon2 could hold 100 MiB per concurrent login.

    Without ATOMIC_REQUESTS, so that SQLite's one write transaction at a time does not
    serialize the logins before they reach the hasher.
    """
    auth_router = AutoRouter(prefix="/api/v1/auth")
    auth_router.register("", AuthViewSet, basename="auth")
    app = app_with(auth_router, settings=Settings(secret_key="k" * 50, atomic_requests=False))
    register_password_hasher(SlowHasher())
    set_default_password_hasher("slow_test")
    configure_password_hashing(concurrency=1, queue=1)
    async with app_client(app) as client:
        await User.create_user("new@example.com", STRONG, db=app_database())
        responses: list[httpx.Response] = []

        async def attempt() -> None:
            responses.append(await login(client))

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(attempt)
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 200, 503, 503, 503]
        busy = next(response for response in responses if response.status_code == 503)
        assert busy.headers["retry-after"] == "1"
        assert "try again" in busy.json()["detail"]
        assert (await login(client)).status_code == 200  # recovers once the queue drains
