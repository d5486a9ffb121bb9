"""The browser login through a real OpenID provider: redirect, callback, user, tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from core.auth import OAuthIdentity, is_password_usable
from core.auth.oauth import GitHubProvider, register_oauth_provider
from tests.example_models import User
from tests.oauth.conftest import (
    API,
    LOGIN,
    ME,
    browser_login,
    callback_url,
    provider_config,
)
from tests.oauth.provider import CLIENT_ID, CLIENT_SECRET, Provider


async def test_login_redirects_to_the_provider_with_state_pkce_and_nonce(
    client: httpx.AsyncClient, provider: Provider
) -> None:
    response = await client.get(LOGIN)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == provider.base_url
    assert location.path == "/authorize"
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == callback_url()
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url SHA-256, never the verifier itself
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("core_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert query["state"] not in cookie  # signed and encoded, not a readable copy


async def test_the_whole_flow_creates_the_user_and_returns_working_tokens(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    response = await browser_login(client)

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"

    me = await client.get(ME, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["first_name"] == "Ada" and me.json()["last_name"] == "Lovelace"

    user = await User.objects.using(app_db).get(email="ada@example.com")
    assert not is_password_usable(user.password_hash)
    assert user.name == "Ada Lovelace"
    assert user.last_login is not None
    identity = await OAuthIdentity.objects.using(app_db).get(provider="test")
    assert (identity.subject, identity.user_id) == ("user-1", user.id)

    refreshed = await client.post(
        f"{API}/auth/refresh/", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200

    # The code was exchanged with the PKCE verifier, authenticated as the confidential client.
    (exchange,) = provider.state.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert len(exchange["code_verifier"]) >= 43
    assert not provider.state.codes  # the code is used up
    # The login state is gone from the session once used.
    assert "core_session" not in client.cookies or client.cookies["core_session"] == "null"


async def test_a_second_login_finds_the_same_user(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    first = await browser_login(client)
    assert first.status_code == 200
    # Same subject, new email at the provider: still the same account (matched by subject).
    provider.state.user.email = "ada.lovelace@example.com"
    second = await browser_login(client)
    assert second.status_code == 200

    assert await User.objects.using(app_db).count() == 1
    assert await OAuthIdentity.objects.using(app_db).count() == 1
    me = await client.get(ME, headers={"Authorization": f"Bearer {second.json()['access_token']}"})
    assert me.json()["email"] == "ada@example.com"
    identity = await OAuthIdentity.objects.using(app_db).get(provider="test")
    assert identity.email == "ada.lovelace@example.com"


async def test_two_browsers_log_in_at_once(
    app, client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    """Each browser has its own session: interleaved flows both complete."""
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as other:
        login_a = await client.get(LOGIN)
        login_b = await other.get(LOGIN)
        async with httpx.AsyncClient(timeout=10) as browser:
            back_a = await browser.get(login_a.headers["location"])
            back_b = await browser.get(login_b.headers["location"])
        done_b = await other.get(back_b.headers["location"])
        done_a = await client.get(back_a.headers["location"])
        # A browser cannot finish the other's flow: its session holds no such state.
        assert done_a.status_code == 200 and done_b.status_code == 200
    assert await User.objects.using(app_db).count() == 1


async def test_a_plain_oauth2_provider_answers_through_userinfo(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    """No discovery and no `openid` scope: explicit endpoints, no ID token, userinfo."""
    register_oauth_provider(
        provider_config(
            provider,
            name="plain",
            server_metadata_url=None,
            authorize_url=f"{provider.base_url}/authorize",
            token_url=f"{provider.base_url}/token",
            userinfo_url=f"{provider.base_url}/userinfo",
            scope="email profile",
        )
    )
    response = await browser_login(client, f"{API}/auth/oauth/plain/login/")

    assert response.status_code == 200, response.text
    (authorization,) = provider.state.authorize_requests
    assert "nonce" not in authorization and authorization["code_challenge_method"] == "S256"
    user = await User.objects.using(app_db).get(email="ada@example.com")
    identity = await OAuthIdentity.objects.using(app_db).get(provider="plain")
    assert identity.user_id == user.id and identity.subject == "user-1"


async def test_the_github_preset_reads_the_verified_primary_email(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    register_oauth_provider(
        GitHubProvider(
            name="github",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            authorize_url=f"{provider.base_url}/authorize",
            token_url=f"{provider.base_url}/token",
            userinfo_url=f"{provider.base_url}/github/user",
            emails_url=f"{provider.base_url}/github/user/emails",
            scope="read:user user:email",
            timeout=1.0,
        )
    )
    response = await browser_login(client, f"{API}/auth/oauth/github/login/")

    assert response.status_code == 200, response.text
    user = await User.objects.using(app_db).get(email="ada@example.com")
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    identity = await OAuthIdentity.objects.using(app_db).get(provider="github")
    assert identity.subject == "4242" and identity.user_id == user.id


async def test_the_login_routes_are_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    login = schema["paths"]["/api/v1/auth/oauth/{provider}/login/"]["get"]
    callback = schema["paths"]["/api/v1/auth/oauth/{provider}/callback/"]["get"]
    for operation in (login, callback):
        (parameter,) = operation["parameters"]
        assert parameter["name"] == "provider" and parameter["in"] == "path"
    assert "302" in login["responses"]
    assert callback["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "OAuthTokens"
    )
    # Every answer of the callback is documented: a bad flow, a refusal, a conflict, the
    # provider or the database down; a provider that does not exist is a 404.
    assert set(callback["responses"]) == {"200", "400", "401", "403", "404", "409", "503"}
