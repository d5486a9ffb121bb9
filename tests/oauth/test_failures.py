"""Every way the login can fail is a 4xx or a 503 with a clear message; nothing is created."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from core.auth import OAuthIdentity
from core.auth.oauth import OAuthLoginError, register_oauth_provider
from core.testing import app_client
from tests.example_models import User
from tests.helpers import app_with
from tests.oauth.conftest import (
    API,
    CALLBACK,
    LOGIN,
    TIMEOUT,
    authorize_only,
    browser_login,
    provider_config,
)
from tests.oauth.provider import Provider, free_port


@pytest.fixture
async def nothing_created(app_db) -> AsyncIterator[None]:
    yield
    assert await User.objects.using(app_db).count() == 0
    assert await OAuthIdentity.objects.using(app_db).count() == 0


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def assert_unavailable(response: httpx.Response, message: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"detail": message}
    assert response.headers["retry-after"] == "30"


# --- the user's side: state, consent, codes ------------------------------------------------


async def test_a_tampered_state_is_refused(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    callback = await authorize_only(client)

    response = await client.get(with_query(callback, state="forged-state-value"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The login state does not match")
    assert not provider.state.token_requests  # the code was never exchanged


async def test_a_callback_from_another_browser_is_refused(
    app, client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    """Login CSRF: the victim's browser holds no state for the attacker's code."""
    callback = await authorize_only(client)
    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as victim:
        response = await victim.get(callback)
    assert response.status_code == 400
    assert "state does not match" in response.json()["detail"]


async def test_a_callback_cannot_be_replayed(
    client: httpx.AsyncClient, app_db, provider: Provider
) -> None:
    callback = await authorize_only(client)
    assert (await client.get(callback)).status_code == 200

    replay = await client.get(callback)

    assert replay.status_code == 400
    assert "state does not match" in replay.json()["detail"]
    assert await User.objects.using(app_db).count() == 1


async def test_a_callback_without_state_or_code(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    assert (await client.get(CALLBACK)).status_code == 400
    callback = await authorize_only(client)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    response = await client.get(CALLBACK, params={"state": state})
    assert response.status_code == 400
    assert response.json() == {"detail": "TestID sent no authorization code."}


async def test_denied_consent(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.deny = True

    response = await browser_login(client)

    assert response.status_code == 403
    assert response.json() == {"detail": "Login with TestID was cancelled: access was not granted."}


async def test_errors_the_provider_reports_in_the_redirect(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    callback = await authorize_only(client)
    state = parse_qs(urlsplit(callback).query)["state"][0]

    refused = await client.get(
        CALLBACK,
        params={"state": state, "error": "invalid_scope", "error_description": "No such scope."},
    )
    assert refused.status_code == 400
    assert refused.json() == {"detail": "TestID refused the login (invalid_scope): No such scope."}

    callback = await authorize_only(client)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    trouble = await client.get(CALLBACK, params={"state": state, "error": "server_error"})
    assert_unavailable(trouble, "TestID is unavailable right now (server_error); try again later.")

    # An error report without this browser's state is a state mismatch, like any callback.
    forged = await client.get(CALLBACK, params={"state": "nope", "error": "access_denied"})
    assert forged.status_code == 400


async def test_the_token_endpoint_refuses_the_code(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.token_error = "invalid_grant"

    response = await browser_login(client)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "TestID refused the login (invalid_grant): Refused by the test. "
        "Start the login again."
    }


async def test_a_forged_id_token_is_refused(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.forge_id_tokens = True

    response = await browser_login(client)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The ID token from TestID is not valid")


async def test_an_unknown_provider_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/auth/oauth/nope/login/", "/auth/oauth/nope/callback/"):
        response = await client.get(API + path)
        assert response.status_code == 404
        assert response.json() == {"detail": "No OAuth provider is called 'nope'."}
    assert (await client.get(f"{API}/auth/oauth/{'x' * 51}/login/")).status_code == 404


# --- the provider's side: errors, slowness, unreachable --------------------------------------


async def test_the_token_endpoint_fails(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.fail["token"] = 502

    response = await browser_login(client)

    assert_unavailable(response, "TestID answered with HTTP 502; try again later.")


async def test_userinfo_fails(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    """No email in the ID token (no `email` scope): the userinfo call is needed, and fails."""
    register_oauth_provider(provider_config(provider, scope="openid profile"))
    provider.state.fail["userinfo"] = 500

    response = await browser_login(client)

    assert_unavailable(response, "TestID answered with HTTP 500; try again later.")


async def test_a_slow_token_endpoint_times_out(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.slow.add("token")

    started = time.monotonic()
    response = await browser_login(client)

    assert time.monotonic() - started < provider.state.delay
    assert_unavailable(
        response, f"TestID did not answer within {TIMEOUT:g} seconds; try again later."
    )


async def test_a_slow_discovery_times_out_at_login(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.slow.add("metadata")

    response = await client.get(LOGIN)

    assert_unavailable(response, "TestID did not answer within 1 seconds; try again later.")
    assert "set-cookie" not in response.headers


async def test_an_unreachable_provider_at_login(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    register_oauth_provider(
        provider_config(provider, server_metadata_url=f"{closed}/.well-known/openid-configuration")
    )

    response = await client.get(LOGIN)

    assert_unavailable(response, "TestID could not be reached; try again later.")


async def test_an_unreachable_token_endpoint_at_callback(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    register_oauth_provider(
        provider_config(
            provider,
            server_metadata_url=None,
            authorize_url=f"{provider.base_url}/authorize",
            token_url=f"{closed}/token",
            userinfo_url=f"{provider.base_url}/userinfo",
            scope="email profile",
        )
    )

    response = await browser_login(client)

    assert_unavailable(response, "TestID could not be reached; try again later.")


async def test_a_provider_answering_nonsense(
    client: httpx.AsyncClient, provider: Provider, nothing_created: None
) -> None:
    provider.state.fail["jwks"] = 200  # {"message": ...}: not a key set

    response = await browser_login(client)

    assert response.status_code in (400, 503), response.text
    assert "TestID" in response.json()["detail"]


async def test_an_oauth_error_raised_in_any_view_is_answered_with_its_status() -> None:
    """`OAuthLoginError` carries no FastAPI; the app's handler turns it into the response."""
    app = app_with()

    async def refuse() -> None:
        raise OAuthLoginError(503, "The provider is away.", headers={"Retry-After": "30"})

    app.add_api_route("/refuse", refuse)
    async with app_client(app) as client:
        response = await client.get("/refuse")
    assert response.status_code == 503
    assert response.json() == {"detail": "The provider is away."}
    assert response.headers["retry-after"] == "30"
