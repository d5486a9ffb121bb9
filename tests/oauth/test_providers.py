"""Provider configuration (environment, `.env`, presets), profiles, and the session cookie."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import Request
from starlette.middleware.sessions import SessionMiddleware

from core import CoreApp
from core.auth import get_auth_backends
from core.auth.oauth import (
    GITHUB_USERINFO_URL,
    GOOGLE_METADATA_URL,
    GitHubProvider,
    OAuthBackend,
    OAuthProfile,
    OAuthProvider,
    get_oauth_provider,
    get_oauth_providers,
    looks_like_jwt,
    oauth_environment,
    providers_from_environment,
    register_oauth_provider,
    reset_oauth_providers,
    unregister_oauth_provider,
)
from core.config import Settings
from core.exceptions import ImproperlyConfigured
from tests.oauth.conftest import create_oauth_app


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OAUTH_* variables; the suite's `framework_state` fixture resets the registry."""
    for key in list(__import__("os").environ):
        if key.upper().startswith("OAUTH_"):
            monkeypatch.delenv(key)
    reset_oauth_providers()


def test_presets_need_only_the_client_credentials() -> None:
    github, google = providers_from_environment(  # sorted by name
        {
            "OAUTH_GOOGLE_CLIENT_ID": "g-id",
            "OAUTH_GOOGLE_CLIENT_SECRET": "g-secret",
            "oauth_github_client_id": "gh-id",  # names are case-insensitive
            "OAUTH_GITHUB_CLIENT_SECRET": "gh-secret",
        }
    )
    assert (google.name, google.title, google.client_id, google.client_secret) == (
        "google",
        "Google",
        "g-id",
        "g-secret",
    )
    assert google.server_metadata_url == GOOGLE_METADATA_URL
    assert google.scope == "openid email profile" and google.is_openid
    assert isinstance(github, GitHubProvider) and github.title == "GitHub"
    assert github.userinfo_url == GITHUB_USERINFO_URL and not github.is_openid


def test_any_provider_from_explicit_endpoints() -> None:
    (provider,) = providers_from_environment(
        {
            "OAUTH_MY_IDP_CLIENT_ID": "id",
            "OAUTH_MY_IDP_AUTHORIZE_URL": "https://idp.example.com/authorize",
            "OAUTH_MY_IDP_ACCESS_TOKEN_URL": "https://idp.example.com/token",
            "OAUTH_MY_IDP_USERINFO_URL": "https://idp.example.com/me",
            "OAUTH_MY_IDP_SCOPE": "email",
            "OAUTH_MY_IDP_REDIRECT_URI": "https://api.example.com/auth/oauth/my_idp/callback/",
            "OAUTH_MY_IDP_TIMEOUT": "2.5",
            # Framework settings that share the prefix are not providers.
            "OAUTH_LINK_EXISTING_ACCOUNTS": "true",
            "OAUTH_TIMEOUT_SECONDS": "3",
        }
    )
    assert provider.name == "my_idp" and provider.title == "My Idp"
    assert provider.token_url == "https://idp.example.com/token"
    assert provider.scope == "email" and provider.timeout == 2.5
    assert provider.redirect_uri == "https://api.example.com/auth/oauth/my_idp/callback/"
    assert provider.client_secret is None


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"OAUTH_ACME_CLIENT_SECRET": "s"}, "without OAUTH_ACME_CLIENT_ID"),
        ({"OAUTH_ACME_CLIENT_ID": "id"}, "needs SERVER_METADATA_URL, or AUTHORIZE_URL"),
        (
            {
                "OAUTH_ACME_CLIENT_ID": "id",
                "OAUTH_ACME_AUTHORIZE_URL": "https://a",
                "OAUTH_ACME_TOKEN_URL": "https://t",
                "OAUTH_ACME_SCOPE": "email",
            },
            "needs USERINFO_URL",
        ),
        (
            {"OAUTH_GOOGLE_CLIENT_ID": "id", "OAUTH_GOOGLE_TIMEOUT": "soon"},
            "not a number of seconds",
        ),
    ],
)
def test_incomplete_configuration_is_refused(variables: dict, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        providers_from_environment(variables)


def test_names_are_url_safe() -> None:
    with pytest.raises(ImproperlyConfigured, match="lower-case letters"):
        OAuthProvider(name="my idp", client_id="x", server_metadata_url="https://x")


def test_the_environment_and_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "OAUTH_ACME_CLIENT_ID=from-file\n"
        "OAUTH_ACME_CLIENT_SECRET=file-secret\n"
        "OAUTH_ACME_SERVER_METADATA_URL=https://acme.example.com/.well-known/openid-configuration\n"
        "OAUTH_LINK_EXISTING_ACCOUNTS=true\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OAUTH_ACME_CLIENT_ID", "from-environment")

    settings = Settings()
    assert oauth_environment(settings)["OAUTH_ACME_CLIENT_SECRET"] == "file-secret"
    assert settings.oauth_link_existing_accounts is True

    acme = get_oauth_provider("ACME")  # read lazily from the environment
    assert acme is not None
    assert (acme.client_id, acme.client_secret) == ("from-environment", "file-secret")


def test_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTH_GOOGLE_CLIENT_ID", "env-id")
    assert [p.name for p in get_oauth_providers()] == ["google"]

    mine = register_oauth_provider(
        OAuthProvider(name="google", client_id="code-id", server_metadata_url="https://x")
    )
    assert get_oauth_provider("google") is mine  # code wins over the environment
    unregister_oauth_provider("google")
    assert get_oauth_provider("google") is None

    reset_oauth_providers(read_environment=False)
    assert get_oauth_providers() == []


def test_settings_defaults() -> None:
    settings = Settings()
    assert settings.oauth_link_existing_accounts is False
    assert settings.oauth_require_verified_email is True
    assert settings.oauth_timeout_seconds == 10
    assert settings.session_cookie == "core_session"


def test_profiles_from_claims() -> None:
    profile = OAuthProfile.from_claims(
        {"sub": 42, "email": " ada@example.com ", "email_verified": "true", "given_name": "Ada"}
    )
    assert (profile.subject, profile.email, profile.email_verified) == (
        "42",
        "ada@example.com",
        True,
    )
    assert profile.first_name == "Ada" and profile.last_name == ""
    assert not OAuthProfile.from_claims({"sub": "x", "email": "a@b.c"}).email_verified
    assert not OAuthProfile.from_claims(
        {"sub": "x", "email": "a@b.c", "email_verified": "false"}
    ).email_verified
    for claims in ({}, {"sub": ""}, {"sub": None}, {"sub": ["x"]}):
        with pytest.raises(ValueError, match="subject"):
            OAuthProfile.from_claims(claims)


def test_github_profiles() -> None:
    github = GitHubProvider(name="github", client_id="x", **_github_urls())
    user = {"id": 7, "login": "ada", "name": "Ada King Lovelace", "email": "public@example.com"}

    verified = github.profile_from_github(
        user,
        [
            {"email": "other@example.com", "primary": False, "verified": True},
            {"email": "ada@example.com", "primary": True, "verified": True},
        ],
    )
    assert (verified.subject, verified.email, verified.email_verified) == (
        "7",
        "ada@example.com",
        True,
    )
    assert (verified.first_name, verified.last_name) == ("Ada", "King Lovelace")

    unverified = github.profile_from_github(
        user, [{"email": "ada@example.com", "primary": True, "verified": False}]
    )
    assert (unverified.email, unverified.email_verified) == ("public@example.com", False)

    with pytest.raises(ValueError, match="no id"):
        github.profile_from_github({"login": "ada"}, [])


def _github_urls() -> dict[str, str]:
    return {
        "authorize_url": "https://github.example.com/authorize",
        "token_url": "https://github.example.com/token",
        "userinfo_url": "https://github.example.com/user",
    }


def test_jwt_shape() -> None:
    assert looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.e30.sig")
    assert not looks_like_jwt("ya29.a0AfH6SMB")
    assert not looks_like_jwt("a.b.c")
    assert not looks_like_jwt("e30.e30.sig")  # a header without `alg`


async def test_the_backend_ignores_requests_without_its_credentials() -> None:
    backend = OAuthBackend()
    assert await backend.authenticate(None, None) is None  # type: ignore[arg-type]
    assert await backend.authenticate(None, None, provider="nope", id_token="x") is None  # type: ignore[arg-type]
    assert all(not isinstance(b, OAuthBackend) for b in get_auth_backends())


def test_the_session_cookie_is_secure_in_production() -> None:
    def session_options(settings: Settings) -> dict:
        app = create_oauth_app(settings)
        app.build_middleware_stack()
        (middleware,) = [m for m in app.user_middleware if m.cls is SessionMiddleware]
        return middleware.kwargs

    development = session_options(Settings())
    assert development["https_only"] is False and development["same_site"] == "lax"
    production = session_options(Settings(environment="production", secret_key="s" * 40))
    assert production["https_only"] is True
    assert session_options(Settings(session_https_only=True))["https_only"] is True


async def test_apps_without_session_views_never_touch_the_cookie() -> None:
    app = CoreApp(settings=Settings(), routers=[], database_url="sqlite+aiosqlite:///:memory:")

    async def echo_session(request: Request) -> dict:
        return {"session": "session" in request.scope}

    app.add_api_route("/session", echo_session)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/session", headers={"cookie": "core_session=forged"})
    assert response.json() == {"session": False}
    assert "set-cookie" not in response.headers
    assert not app.uses_sessions() and create_oauth_app(Settings()).uses_sessions()


def test_subjects_too_long_to_store_are_refused_by_the_profile() -> None:
    with pytest.raises(ValueError, match="too long"):
        OAuthProfile.from_claims({"sub": "s" * 256})
    assert OAuthProfile.from_claims({"sub": "s" * 255}).subject == "s" * 255
