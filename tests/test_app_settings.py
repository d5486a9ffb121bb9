"""`CoreApp(settings=...)` configures everything the app runs, apart from any other app.

Tokens, password hashing, the user model and the time zone follow the app's own settings in
its requests and lifespan; the process's settings apply outside it. What derives from the
settings is built once per app, never per request. Tortoise allows one running ORM per
process, so two apps take turns here; their settings objects live side by side throughout.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from fastapi import FastAPI, Request

from core import APIView, CoreApp, Settings
from core.auth import (
    AuthBackend,
    FastTestHasher,
    JWTBackend,
    PBKDF2Hasher,
    configure_auth,
    create_access_token,
    get_auth_backends,
    get_auth_config,
    get_password_hasher,
    get_token_backend,
    make_password,
    register_auth_backend,
    register_password_hasher,
    register_token_backend,
    set_default_password_hasher,
    tokens,
    verify_token,
)
from core.auth import models as auth_models
from core.auth.oauth import OAuthProvider, get_oauth_providers, register_oauth_provider
from core.config import INSECURE_SECRET_KEY, get_settings, set_settings
from core.datetime import configure_datetime, timezone
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny, IsAuthenticated
from core.testing import (
    app_client,
    app_database,
    force_authenticate,
    override_settings,
    reset_framework_state,
)
from core.views.dependencies import runs_in_transaction
from tests.example_models import User
from tests.helpers import app_with, bearer

#: The apps run on the test database: these re-run on PostgreSQL (`make test-pg`).
pytestmark = pytest.mark.db

SECRET_A = "app-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTU"
SECRET_B = "app-b-secret-0123456789-abcdefghijklmnopqrstuvwxyz-HIJKLMNOPQRSTUVWXYZAB"
SECRET_C = "overridden-secret-0123456789-abcdefghijklmnopqrstuvwxyz-OPQRSTUVWXYZABCD"


class MeView(APIView):
    """Who the token says, and which config object verified it."""

    permission_classes = [IsAuthenticated]

    async def get(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        return {"email": self.user.email, "config": id(get_auth_config())}


class InsideView(APIView):
    """What the framework uses inside a request: a token, the hasher, the time zone."""

    permission_classes = [AllowAny]

    async def get(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        return {
            "token": create_access_token({"sub": "7"}),
            "hasher": get_password_hasher().name,
            "hash": make_password("pw").split("$", 1)[0],
            "timezone": str(timezone.get_default_timezone()),
            "secret_is_apps": get_settings().secret_key == request.app.settings.secret_key,
        }

    async def post(self, request: Request, **kwargs: Any) -> dict[str, Any]:
        return {"atomic": runs_in_transaction(request)}


def make_app(secret: str, **values: Any) -> CoreApp:
    app = app_with(settings=Settings(secret_key=secret, **values))
    app.add_api_route("/me", MeView.as_route("/me")[1], methods=["GET"])
    app.add_api_route("/inside", InsideView.as_route("/inside")[1], methods=["GET", "POST"])
    return app


@asynccontextmanager
async def running(app: CoreApp) -> AsyncIterator[tuple[httpx.AsyncClient, User]]:
    """The app served, with one user (id 1 in every fresh database) logged in."""
    async with app_client(app) as client:
        user = await User.create_user("ada@example.com", "pw-12345678", db=app_database())
        force_authenticate(client, user)
        yield client, user


def claims(token: str, key: str, algorithm: str = "HS256") -> dict[str, Any]:
    decoded: dict[str, Any] = pyjwt.decode(token, key, algorithms=[algorithm])
    return decoded


@pytest.fixture
def process_defaults() -> Iterator[None]:
    """The suite's fast test hasher lifted: the apps' own AUTH_PASSWORD_HASHER decides."""
    reset_framework_state()
    register_password_hasher(PBKDF2Hasher(iterations=1000))  # the real format, cheaply
    yield


# --- tokens follow the app's key -------------------------------------------------------------


async def test_tokens_are_signed_with_the_key_of_the_apps_own_settings() -> None:
    app = make_app(SECRET_A, auth_algorithm="HS512", auth_issuer="app-a")
    async with running(app) as (client, user):
        signed_by_app = (await client.get("/inside")).json()["token"]
        assert claims(signed_by_app, SECRET_A, "HS512")["iss"] == "app-a"
        forced = client.headers["Authorization"].removeprefix("Bearer ")
        assert claims(forced, SECRET_A, "HS512")["sub"] == str(user.pk)
        for token in (signed_by_app, forced):
            with pytest.raises(pyjwt.InvalidSignatureError):
                claims(token, SECRET_B, "HS512")
        me = await client.get("/me")
        assert me.status_code == 200 and me.json()["email"] == "ada@example.com"

    # Outside the app the process's settings apply: with no SECRET_KEY, a random key.
    assert get_settings() is not app.settings
    process_key = get_settings().secret_key
    assert process_key not in (INSECURE_SECRET_KEY, SECRET_A)
    assert claims(create_access_token({"sub": "1"}), process_key)["sub"] == "1"


async def test_two_apps_in_one_process_do_not_leak_into_each_other() -> None:
    app_a, app_b = make_app(SECRET_A), make_app(SECRET_B)
    async with running(app_a) as (client, _):
        token_a = client.headers["Authorization"].removeprefix("Bearer ")
        assert (await client.get("/me")).status_code == 200
    async with running(app_b) as (client, _):
        token_b = client.headers["Authorization"].removeprefix("Bearer ")
        assert (await client.get("/me")).status_code == 200
        refused = await client.get("/me", headers=bearer(token_a))
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
    async with running(app_a) as (client, _):  # the user is created anew: a token of its own
        token_a = client.headers["Authorization"].removeprefix("Bearer ")
        assert (await client.get("/me", headers=bearer(token_a))).status_code == 200
        assert (await client.get("/me", headers=bearer(token_b))).status_code == 401
    assert claims(token_a, SECRET_A)["sub"] == claims(token_b, SECRET_B)["sub"] == "1"
    with pytest.raises(pyjwt.InvalidSignatureError):
        claims(token_a, SECRET_B)
    with app_a.settings_scope():
        assert verify_token(token_a) is not None and verify_token(token_b) is None
    with app_b.settings_scope():
        assert verify_token(token_b) is not None and verify_token(token_a) is None


async def test_configure_auth_is_for_the_process_not_for_an_app_with_settings() -> None:
    configure_auth(secret_key=SECRET_C)
    app = make_app(SECRET_A)
    async with running(app) as (client, _):
        assert claims((await client.get("/inside")).json()["token"], SECRET_A)["sub"] == "7"
        assert (await client.get("/inside")).json()["secret_is_apps"] is True
    assert claims(create_access_token({"sub": "1"}), SECRET_C)["sub"] == "1"


async def test_an_app_without_settings_follows_the_process() -> None:
    configure_auth(secret_key=SECRET_C)
    app = app_with()
    app.add_api_route("/inside", InsideView.as_route("/inside")[1], methods=["GET"])
    async with app_client(app) as client:
        assert claims((await client.get("/inside")).json()["token"], SECRET_C)["sub"] == "7"


# --- resolved once, not per request ----------------------------------------------------------


async def test_the_auth_config_and_user_model_are_resolved_at_startup_not_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[Settings] = []
    lookups: list[Any] = []
    build_config, find_user_model = tokens._build_config, auth_models._find_user_model

    def counting_build(settings: Settings, **values: Any) -> tokens.AuthConfig:
        builds.append(settings)
        return build_config(settings, **values)

    def counting_find(*args: Any) -> Any:
        lookups.append(args)
        return find_user_model(*args)

    monkeypatch.setattr(tokens, "_build_config", counting_build)
    monkeypatch.setattr(auth_models, "_find_user_model", counting_find)
    app = make_app(SECRET_A)
    async with running(app) as (client, _):
        # Both at startup (from the app's settings, with the suite's fast hasher patched in).
        assert (len(builds), len(lookups)) == (1, 1)
        assert builds[0].secret_key == SECRET_A
        answers = [(await client.get("/me")).json() for _ in range(5)]
        assert {answer["email"] for answer in answers} == {"ada@example.com"}
        with app.settings_scope():
            assert {answer["config"] for answer in answers} == {id(get_auth_config())}
        assert (len(builds), len(lookups)) == (1, 1)
    async with running(app) as (client, _):  # a new ORM start finds the user model again
        assert (await client.get("/me")).status_code == 200
    assert (len(builds), len(lookups)) == (1, 2)


async def test_atomic_requests_follow_the_apps_own_settings() -> None:
    for atomic in (False, True):
        async with app_client(make_app(SECRET_A, atomic_requests=atomic)) as client:
            assert (await client.post("/inside")).json() == {"atomic": atomic}


async def test_a_user_model_setting_naming_no_model_stops_the_app_at_startup() -> None:
    app = make_app(SECRET_A, user_model="tests.example_models.Nobody")
    with pytest.raises(ImproperlyConfigured, match="Nobody"):
        async with app_client(app):
            pass  # pragma: no cover


async def test_the_user_lifespan_runs_under_the_apps_settings(process_defaults: None) -> None:
    seen: list[Settings] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        seen.append(get_settings())
        yield

    app = app_with(settings=Settings(secret_key=SECRET_A), lifespan=lifespan)
    async with app_client(app):
        pass
    assert seen == [app.settings] and seen[0] is app.settings


# --- hashers and time zone ------------------------------------------------------------------


async def test_an_app_hashes_with_its_own_hasher_setting(process_defaults: None) -> None:
    set_default_password_hasher("fast_test")  # the process's choice: not the app's
    app = make_app(SECRET_A, auth_password_hasher="pbkdf2_sha256")
    async with app_client(app) as client:
        inside = (await client.get("/inside")).json()
    assert (inside["hasher"], inside["hash"]) == ("pbkdf2_sha256", "pbkdf2_sha256")
    assert get_password_hasher().name == "fast_test"


async def test_an_app_follows_its_own_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tortoise.init writes TIMEZONE and USE_TZ into os.environ: undone after the test.
    monkeypatch.setenv("TIMEZONE", "UTC")
    monkeypatch.setenv("USE_TZ", "True")
    configure_datetime("Asia/Tokyo")
    app = make_app(SECRET_A, timezone="America/Sao_Paulo")
    async with app_client(app) as client:
        assert (await client.get("/inside")).json()["timezone"] == "America/Sao_Paulo"
    assert str(timezone.get_default_timezone()) == "Asia/Tokyo"


# --- override_settings reaches every app -----------------------------------------------------


async def test_override_settings_patches_the_apps_settings_too() -> None:
    app = make_app(SECRET_A)
    async with running(app) as (client, user):
        with override_settings(secret_key=SECRET_C, auth_access_token_expire_minutes=1):
            assert (await client.get("/me")).status_code == 401  # signed with SECRET_A
            force_authenticate(client, user)
            assert (await client.get("/me")).status_code == 200
            token = (await client.get("/inside")).json()["token"]
            payload = claims(token, SECRET_C)
            assert payload["exp"] - int(payload["iat"]) == 60
        assert (await client.get("/me")).status_code == 401  # signed with SECRET_C
        force_authenticate(client, None)
        assert claims((await client.get("/inside")).json()["token"], SECRET_A)["sub"] == "7"


@override_settings(auth_issuer="decorated")
async def test_override_settings_decorates_async_tests() -> None:
    assert get_settings().auth_issuer == "decorated"
    token = create_access_token({"sub": "1"})
    assert claims(token, get_settings().secret_key)["iss"] == "decorated"


@override_settings(app_name="Decorated")
def test_override_settings_decorates_sync_tests() -> None:
    assert get_settings().app_name == "Decorated"


def test_override_settings_nests_and_restores() -> None:
    before = get_settings()
    with override_settings(app_name="Outer", debug=True):
        with override_settings(app_name="Inner"):
            assert (get_settings().app_name, get_settings().debug) == ("Inner", True)
        assert (get_settings().app_name, get_settings().debug) == ("Outer", True)
    assert get_settings().app_name == before.app_name
    assert get_settings().debug is before.debug


# --- one reset for the framework's process-wide state ---------------------------------------


class ExtraBackend(AuthBackend):
    name = "extra"


class OtherTokens(JWTBackend):
    name = "other"


class PlainHasher(FastTestHasher):
    name = "plain"


def test_reset_framework_state_puts_every_registry_back(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("OAUTH_"):
            monkeypatch.delenv(key)
    fresh = Settings()
    set_settings(Settings(app_name="Script", secret_key=SECRET_B))
    configure_auth(secret_key=SECRET_C, password_hasher="scrypt")
    register_password_hasher(PlainHasher())
    register_password_hasher(PBKDF2Hasher(iterations=1))
    register_token_backend(OtherTokens())
    register_auth_backend(ExtraBackend())
    register_oauth_provider(OAuthProvider(name="corp", client_id="id", server_metadata_url="x"))
    configure_datetime("Asia/Tokyo", use_aware_datetimes=False)
    override = override_settings(debug=True)
    override.__enter__()

    reset_framework_state()

    settings = get_settings()
    assert (settings.app_name, settings.debug) == (fresh.app_name, fresh.debug)
    assert get_auth_config().secret_key == fresh.secret_key
    assert get_password_hasher().name == fresh.auth_password_hasher
    assert get_password_hasher("pbkdf2_sha256").iterations == PBKDF2Hasher.iterations  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured):
        get_password_hasher("plain")
    assert get_token_backend().name == "jwt"
    assert [backend.name for backend in get_auth_backends()] == ["default"]
    assert get_oauth_providers() == []
    assert timezone.get_default_timezone() is dt.UTC and timezone.is_aware(timezone.now())
    override.__exit__(None, None, None)  # leaving after a reset changes nothing
    assert get_settings().debug is fresh.debug
