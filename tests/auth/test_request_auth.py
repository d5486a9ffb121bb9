"""Request authentication over HTTP: a real FastAPI app, called through its ASGI interface.

Bad credentials are always a 401 with a `WWW-Authenticate: Bearer` challenge and a JSON
`{"detail": ...}` body, never a 500; no credentials is anonymous (`request.state.user` None).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth import (
    APIKeyBackend,
    authenticate_request,
    configure_auth,
    create_access_token,
    create_refresh_token,
    get_auth_config,
    login_required,
    register_auth_backend,
    revoke_token,
    unregister_auth_backend,
)
from tests.example_models import User
from tests.helpers import OTHER_SECRET, SECRET, access_for, bearer


@pytest.fixture(autouse=True)
def auth_config() -> None:
    """The suite's `framework_state` fixture resets this (and auth backends) after each test."""
    configure_auth(secret_key=SECRET, password_hasher="fast_test")


async def get_db(request: Request) -> BaseDBAsyncClient:
    """The test's connection; ASGITransport runs the app in the test's task and Tortoise context."""
    db: BaseDBAsyncClient = request.app.state.db
    return db


DB = Annotated[BaseDBAsyncClient, Depends(get_db)]


async def describe(user: Any, request: Request, db: BaseDBAsyncClient) -> dict[str, Any]:
    """Who the request is; `loaded_by_auth`: whether authentication loaded permissions (never)."""
    loaded = None if user is None else user.permissions_loaded
    return {
        "user": None if user is None else user.email,
        "state_user": None if request.state.user is None else request.state.user.email,
        "loaded_by_auth": loaded,
        "permissions": [] if user is None else sorted(await user.aget_all_permissions(db)),
    }


def build_app(db: BaseDBAsyncClient) -> FastAPI:
    app = FastAPI()
    app.state.db = db

    @app.get("/open")
    async def open_to_all(request: Request, db: DB) -> dict[str, Any]:
        return await describe(await authenticate_request(request, db), request, db)

    @app.get("/private")
    async def private(request: Request, db: DB) -> dict[str, Any]:
        return await describe(await login_required(request, db), request, db)

    @app.get("/both")
    async def both(request: Request, db: DB) -> dict[str, Any]:
        first = await authenticate_request(request, db)
        second = await login_required(request, db)  # reuses request.state.user
        return {**await describe(second, request, db), "same": first is second}

    return app


@pytest.fixture
async def client(db: BaseDBAsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def user(db: BaseDBAsyncClient) -> User:
    user = await User.create_user(email="reader@example.com", password="pw-12345678", db=db)
    await user.add_permission("posts.read", db)
    return user


def raw_header(name: str, value: str | bytes) -> dict[bytes, bytes]:
    """A header sent byte for byte, as a client that does not encode it first would send it."""
    return {name.encode(): value if isinstance(value, bytes) else value.encode()}


def assert_challenge(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]


# --- valid credentials and none --------------------------------------------------------------


async def test_a_valid_bearer_token_identifies_the_user(
    client: httpx.AsyncClient, user: User
) -> None:
    for path in ("/open", "/private", "/both"):
        response = await client.get(path, headers=bearer(access_for(user)))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"] == body["state_user"] == "reader@example.com"
        assert body["loaded_by_auth"] is False  # loaded on demand, by aget_all_permissions
        assert body["permissions"] == ["posts.read"]
    assert response.json()["same"] is True


async def test_the_scheme_is_case_insensitive(client: httpx.AsyncClient, user: User) -> None:
    response = await client.get("/private", headers={"Authorization": f"bearer {access_for(user)}"})
    assert response.status_code == 200


async def test_no_credentials_is_anonymous_on_open_routes_and_401_on_private_ones(
    client: httpx.AsyncClient, user: User
) -> None:
    response = await client.get("/open")
    assert response.status_code == 200
    assert response.json() == {
        "user": None,
        "state_user": None,
        "loaded_by_auth": None,
        "permissions": [],
    }

    response = await client.get("/private")
    assert_challenge(response)
    assert response.json()["detail"] == "Authentication credentials were not provided."


# --- malformed and invalid credentials -------------------------------------------------------

MALFORMED_HEADERS: dict[str, str | bytes] = {
    "empty": "",
    "scheme-only": "Bearer",
    "basic": "Basic abc",
    "two-tokens": "Bearer a b",
    "no-scheme": "abc.def.ghi",
    "oversized": "Bearer " + "a" * 10 * 1024,
    "non-ascii": b"Bearer \xe9\xe9",
    "not-a-jwt": "Bearer abc",
}


@pytest.mark.parametrize("header", MALFORMED_HEADERS.values(), ids=MALFORMED_HEADERS.keys())
@pytest.mark.parametrize("path", ["/open", "/private"])
async def test_malformed_authorization_headers_are_401(
    client: httpx.AsyncClient, user: User, path: str, header: str | bytes
) -> None:
    assert_challenge(await client.get(path, headers=raw_header("Authorization", header)))


async def expired(user: User, db: BaseDBAsyncClient) -> str:
    return access_for(user, expires_delta=dt.timedelta(seconds=-1))


async def forged(user: User, db: BaseDBAsyncClient) -> str:
    """Our exact header and claims, signed with somebody else's key."""
    signing_input = access_for(user).rsplit(".", 1)[0]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    algorithm = digest[get_auth_config().algorithm]
    signature = hmac.new(OTHER_SECRET.encode(), signing_input.encode(), algorithm).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


async def refresh_as_access(user: User, db: BaseDBAsyncClient) -> str:
    return create_refresh_token({"sub": str(user.id)})


async def revoked(user: User, db: BaseDBAsyncClient) -> str:
    token = access_for(user)
    assert await revoke_token(token, db) is True
    return token


async def of_an_inactive_user(user: User, db: BaseDBAsyncClient) -> str:
    token = access_for(user)
    await User.objects.using(db).filter(id=user.id).update(is_active=False)
    return token


async def of_a_deleted_user(user: User, db: BaseDBAsyncClient) -> str:
    token = access_for(user)
    await user.delete(db)
    return token


async def from_before_a_password_change(user: User, db: BaseDBAsyncClient) -> str:
    token = access_for(user)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    await User.objects.using(db).filter(id=user.id).update(password_changed_at=later)
    return token


async def with_a_non_numeric_subject(user: User, db: BaseDBAsyncClient) -> str:
    return create_access_token({"sub": "reader@example.com"})


BAD_TOKENS: list[Callable[[User, BaseDBAsyncClient], Awaitable[str]]] = [
    expired,
    forged,
    refresh_as_access,
    revoked,
    of_an_inactive_user,
    of_a_deleted_user,
    from_before_a_password_change,
    with_a_non_numeric_subject,
]


@pytest.mark.parametrize("make_token", BAD_TOKENS, ids=lambda make: make.__name__)
@pytest.mark.parametrize("path", ["/open", "/private"])
async def test_invalid_tokens_are_401_even_on_open_routes(
    client: httpx.AsyncClient,
    user: User,
    db: BaseDBAsyncClient,
    path: str,
    make_token: Callable[[User, BaseDBAsyncClient], Awaitable[str]],
) -> None:
    token = await make_token(user, db)
    response = await client.get(path, headers=bearer(token))
    assert_challenge(response)
    assert response.json()["detail"] == "Invalid or expired token."


async def test_the_same_token_works_until_it_is_revoked(
    client: httpx.AsyncClient, user: User, db: BaseDBAsyncClient
) -> None:
    token = access_for(user)
    assert (await client.get("/private", headers=bearer(token))).status_code == 200
    await revoke_token(token, db)
    assert_challenge(await client.get("/private", headers=bearer(token)))


# --- other registered backends: API keys ------------------------------------------------------


async def test_an_api_key_identifies_the_user_when_its_backend_is_registered(
    client: httpx.AsyncClient, user: User, db: BaseDBAsyncClient, api_keys: APIKeyBackend
) -> None:
    _, raw = await APIKeyBackend.create_key(user, db, name="ci")
    for path in ("/open", "/private"):
        response = await client.get(path, headers={"X-API-Key": raw})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"] == body["state_user"] == "reader@example.com"
        assert body["loaded_by_auth"] is False  # as for a token: loaded on demand
        assert body["permissions"] == ["posts.read"]


async def test_api_keys_are_ignored_when_the_backend_is_not_registered(
    client: httpx.AsyncClient, user: User, db: BaseDBAsyncClient
) -> None:
    _, raw = await APIKeyBackend.create_key(user, db)
    response = await client.get("/open", headers={"X-API-Key": raw})
    assert response.status_code == 200 and response.json()["user"] is None
    assert_challenge(await client.get("/private", headers={"X-API-Key": raw}))


async def test_unregistering_the_api_key_backend_stops_it(
    client: httpx.AsyncClient, user: User, db: BaseDBAsyncClient
) -> None:
    _, raw = await APIKeyBackend.create_key(user, db)
    register_auth_backend(APIKeyBackend())
    assert (await client.get("/private", headers={"X-API-Key": raw})).status_code == 200
    unregister_auth_backend("api_key")
    assert_challenge(await client.get("/private", headers={"X-API-Key": raw}))


BAD_API_KEYS: dict[str, str | bytes] = {
    "unknown": "0123456789ab.unknown-secret",
    "no-dot": "0123456789abcdef",
    "long-prefix": "a" * 40 + ".secret",
    "oversized": "0123456789ab." + "s" * 10 * 1024,
    "non-ascii": b"0123456789ab.\xe9\xe9",
    "empty": "",
}


@pytest.mark.parametrize("key", BAD_API_KEYS.values(), ids=BAD_API_KEYS.keys())
async def test_bad_api_keys_are_anonymous_never_an_error(
    client: httpx.AsyncClient, user: User, api_keys: APIKeyBackend, key: str | bytes
) -> None:
    response = await client.get("/open", headers=raw_header("X-API-Key", key))
    assert response.status_code == 200 and response.json()["user"] is None
    assert_challenge(await client.get("/private", headers=raw_header("X-API-Key", key)))


async def test_the_bearer_token_is_tried_first_and_a_bad_one_is_not_rescued_by_a_key(
    client: httpx.AsyncClient, user: User, db: BaseDBAsyncClient, api_keys: APIKeyBackend
) -> None:
    other = await User.create_user(email="other@example.com", password="pw-12345678", db=db)
    _, raw = await APIKeyBackend.create_key(other, db)

    response = await client.get("/open", headers={**bearer(access_for(user)), "X-API-Key": raw})
    assert response.status_code == 200 and response.json()["user"] == "reader@example.com"

    assert_challenge(
        await client.get("/open", headers={"Authorization": "Bearer x", "X-API-Key": raw})
    )
