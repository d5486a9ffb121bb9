"""The guide's MultiAuthViewSet over HTTP, with its GoogleOAuthBackend against a real provider."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from joserfc.jwk import RSAKey

from core import AutoRouter, CoreApp
from core.auth import (
    APIKeyBackend,
    OAuthIdentity,
    is_password_usable,
    register_auth_backend,
)
from core.auth.oauth import GoogleOAuthBackend
from core.config import Settings
from tests.example_models import User
from tests.oauth.conftest import API, ME, browser_login, create_oauth_app
from tests.oauth.guide_multi_auth import MultiAuthViewSet, register_google_backend
from tests.oauth.provider import CLIENT_ID, OTHER_CLIENT_ID, Provider, free_port

MULTI = f"{API}/multi"


@pytest.fixture
def app() -> CoreApp:
    multi_router = AutoRouter(prefix="/multi")
    multi_router.register("", MultiAuthViewSet, basename="multi")
    return create_oauth_app(Settings(), multi_router)


@pytest.fixture
def google(provider: Provider) -> GoogleOAuthBackend:
    """The guide's backends registered (`framework_state` unregisters them after the test)."""
    register_auth_backend(APIKeyBackend())
    return register_google_backend(provider.base_url)


async def login_google(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{MULTI}/login_google/", json={"google_token": token})


async def me(client: httpx.AsyncClient, response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    answer = await client.get(
        ME, headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert answer.status_code == 200
    return answer.json()


async def test_login_password(client: httpx.AsyncClient, app_db, google) -> None:
    await User.create_user("grace@example.com", "Password1", db=app_db)

    ok = await client.post(
        f"{MULTI}/login_password/", json={"email": "grace@example.com", "password": "Password1"}
    )
    assert (await me(client, ok))["email"] == "grace@example.com"
    assert ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 30 * 60

    wrong = await client.post(
        f"{MULTI}/login_password/", json={"email": "grace@example.com", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid credentials"}


async def test_login_google_with_an_access_token(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    first = await login_google(client, provider.issue_access_token())
    assert (await me(client, first))["email"] == "ada@example.com"
    second = await login_google(client, provider.issue_access_token())
    assert (await me(client, second))["email"] == "ada@example.com"

    user = await User.objects.using(app_db).get(email="ada@example.com")
    assert not is_password_usable(user.password_hash)
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert await User.objects.using(app_db).count() == 1
    identity = await OAuthIdentity.objects.using(app_db).get()
    assert (identity.provider, identity.subject, identity.user_id) == ("google", "user-1", user.id)


async def test_the_browser_flow_and_the_token_login_share_the_identity(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    from core.auth.oauth import register_oauth_provider
    from tests.oauth.conftest import provider_config

    register_oauth_provider(provider_config(provider, name="google"))
    assert (await browser_login(client, f"{API}/auth/oauth/google/login/")).status_code == 200
    assert (await login_google(client, provider.issue_access_token())).status_code == 200
    assert await User.objects.using(app_db).count() == 1
    assert await OAuthIdentity.objects.using(app_db).count() == 1


async def test_a_token_issued_to_another_app_is_refused(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    """Token substitution: a valid Google token, but for someone else's client."""
    response = await login_google(client, provider.issue_access_token(OTHER_CLIENT_ID))

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid Google token"}
    assert await User.objects.using(app_db).count() == 0


async def test_unknown_and_malformed_tokens_are_refused(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    nested_header = base64.urlsafe_b64encode(b"[" * 5000).decode().rstrip("=")
    for token in ("not-a-token", "", " ", "a.b.c", "x" * 20000, f"{nested_header}.e30.sig"):
        response = await login_google(client, token)
        assert response.status_code == 401, token
    assert await User.objects.using(app_db).count() == 0


async def test_login_google_with_an_id_token(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    response = await login_google(client, provider.issue_id_token())

    assert (await me(client, response))["email"] == "ada@example.com"
    # The ID token and the access token name the same identity.
    assert (await login_google(client, provider.issue_access_token())).status_code == 200
    assert await User.objects.using(app_db).count() == 1


def unsigned_token(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def test_invalid_id_tokens_are_refused(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    now = int(time.time())
    forged_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    invalid = {
        "another audience": provider.issue_id_token(audience=OTHER_CLIENT_ID),
        "several audiences, azp another": provider.issue_id_token(
            audience=[OTHER_CLIENT_ID, CLIENT_ID], azp=OTHER_CLIENT_ID
        ),
        "another issuer": provider.issue_id_token(issuer="https://evil.example.com"),
        "expired": provider.issue_id_token(lifetime=-3600),
        "forged signature": provider.issue_id_token(key=forged_key),
        "unsigned": unsigned_token(
            {"iss": provider.base_url, "aud": CLIENT_ID, "sub": "x", "iat": now, "exp": now + 60}
        ),
        "no subject": provider.issue_id_token(sub=None),
    }
    for reason, token in invalid.items():
        response = await login_google(client, token)
        assert response.status_code == 401, reason
    assert await User.objects.using(app_db).count() == 0


async def test_a_rotated_signing_key_is_fetched_again(
    client: httpx.AsyncClient, provider: Provider, google
) -> None:
    assert (await login_google(client, provider.issue_id_token())).status_code == 200
    old_key = provider.key
    provider.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-2", "use": "sig"})
    try:
        response = await login_google(client, provider.issue_id_token())
    finally:
        provider.key = old_key
    assert response.status_code == 200


async def test_the_linking_rules_apply_to_token_logins(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    await User.create_user("ada@example.com", "Password1", db=app_db)

    response = await login_google(client, provider.issue_access_token())

    assert response.status_code == 409
    assert "is not linked to your Google login" in response.json()["detail"]
    assert await OAuthIdentity.objects.using(app_db).count() == 0


async def test_a_slow_google_times_out(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    provider.state.slow.add("tokeninfo")
    started = time.monotonic()

    response = await login_google(client, provider.issue_access_token())

    assert time.monotonic() - started < provider.state.delay
    assert response.status_code == 503
    assert response.json() == {"detail": "Google did not answer within 1 seconds; try again later."}
    assert await User.objects.using(app_db).count() == 0


async def test_an_unreachable_google(
    client: httpx.AsyncClient, app_db, provider: Provider, google
) -> None:
    register_google_backend(f"http://127.0.0.1:{free_port()}")

    for token in (provider.issue_access_token(), provider.issue_id_token()):
        response = await login_google(client, token)
        assert response.status_code == 503
        assert response.json() == {"detail": "Google could not be reached; try again later."}
    assert await User.objects.using(app_db).count() == 0


async def test_login_api_key(client: httpx.AsyncClient, app_db, google) -> None:
    user = await User.create_user("grace@example.com", "Password1", db=app_db)
    _, raw = await APIKeyBackend.create_key(user, db=app_db)

    ok = await client.post(f"{MULTI}/login_api_key/", headers={"X-API-Key": raw})
    assert (await me(client, ok))["email"] == "grace@example.com"

    bad = await client.post(f"{MULTI}/login_api_key/", headers={"X-API-Key": "0" * 12 + ".nope"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Invalid API key"}


def test_the_google_backend_needs_a_client_id() -> None:
    from core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="client id"):
        GoogleOAuthBackend(client_id=None, client_secret="x")
