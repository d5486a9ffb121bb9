"""An app with the guide's auth endpoints plus `/api/v1/auth/oauth/`, and a real provider.

The provider (tests/oauth/provider.py) listens on 127.0.0.1 for the whole run; each test gets
it reset, with one OpenID provider "test" registered (timeout 1 s) against it. The test's
httpx client talks to the app in-process; `browser_login` follows the redirects between the
two like a browser (the app's cookies stay in the app client's jar).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

from core import AutoRouter, CoreApp
from core.auth.oauth import OAuthProvider, OAuthViewSet, register_oauth_provider
from core.auth.oauth.providers import reset_oauth_providers
from core.config import Settings
from core.testing import app_client, app_database
from tests.guide_app import AuthViewSet
from tests.helpers import app_with
from tests.oauth.provider import CLIENT_ID, CLIENT_SECRET, Provider, serve

API = "/api/v1"
LOGIN = f"{API}/auth/oauth/test/login/"
CALLBACK = f"{API}/auth/oauth/test/callback/"
ME = f"{API}/auth/me/"
TIMEOUT = 1.0


def callback_url(name: str = "test") -> str:
    return f"http://testserver{API}/auth/oauth/{name}/callback/"


@pytest.fixture(scope="session")
def provider_server() -> Iterator[Provider]:
    provider = Provider()
    with serve(provider):
        provider.add_client(
            CLIENT_ID,
            CLIENT_SECRET,
            [callback_url(name) for name in ("test", "plain", "github", "google")],
        )
        yield provider


@pytest.fixture
def provider(provider_server: Provider) -> Iterator[Provider]:
    provider_server.state.reset()
    yield provider_server
    provider_server.state.reset()


def provider_config(provider: Provider, **overrides: Any) -> OAuthProvider:
    """An OAuthProvider for the test server (OpenID discovery, 1 s timeout), with overrides."""
    options: dict[str, Any] = {
        "name": "test",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "server_metadata_url": f"{provider.base_url}/.well-known/openid-configuration",
        "timeout": TIMEOUT,
        "title": "TestID",
    }
    options.update(overrides)
    return OAuthProvider(**options)


@pytest.fixture
def oauth_provider(provider: Provider) -> OAuthProvider:
    """The provider "test" (OpenID discovery), registered alone (no environment providers).

    The suite's `framework_state` fixture resets the registry after the test."""
    reset_oauth_providers(read_environment=False)
    return register_oauth_provider(provider_config(provider))


def create_oauth_app(settings: Settings, *routers: AutoRouter) -> CoreApp:
    auth_router = AutoRouter(prefix="/auth")
    auth_router.register("", AuthViewSet, basename="auth")
    oauth_router = AutoRouter(prefix="/auth/oauth")
    oauth_router.register("", OAuthViewSet, basename="oauth")
    api_router = AutoRouter(prefix=API)
    for router in (oauth_router, auth_router, *routers):
        api_router.include_router(router)
    return app_with(api_router, title="OAuth test app", settings=settings)


@pytest.fixture
def app() -> CoreApp:
    return create_oauth_app(Settings())


@pytest.fixture
async def client(app: CoreApp, oauth_provider: OAuthProvider) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as http:
        yield http


@pytest.fixture
def app_db(client: httpx.AsyncClient) -> BaseDBAsyncClient:
    return app_database()


def configure(app: CoreApp, **settings: Any) -> None:
    """Change the running app's own settings (its requests then run under the new ones)."""
    app.settings = app.state.settings = app.settings.model_copy(update=settings)


async def follow(
    client: httpx.AsyncClient, response: httpx.Response, browser: httpx.AsyncClient
) -> httpx.Response:
    """Follow redirects like a browser: the app's URLs in-process, the provider's over HTTP."""
    for _ in range(10):
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        location = response.headers["location"]
        if httpx.URL(location).host == "testserver":
            response = await client.get(location)
        else:
            response = await browser.get(location)
    raise AssertionError("too many redirects")


async def browser_login(client: httpx.AsyncClient, path: str = LOGIN) -> httpx.Response:
    """GET login, then the provider's authorize, then the app's callback: the final answer."""
    async with httpx.AsyncClient(timeout=10) as browser:
        return await follow(client, await client.get(path), browser)


async def authorize_only(client: httpx.AsyncClient, path: str = LOGIN) -> str:
    """Run the flow up to the provider's redirect back; return the callback URL, unvisited."""
    login = await client.get(path)
    assert login.status_code == 302, login.text
    async with httpx.AsyncClient(timeout=10) as browser:
        back = await browser.get(login.headers["location"])
    assert back.status_code == 302, back.text
    return back.headers["location"]
