"""Security headers on every response, `no-store` on token responses, CORS never `*` with credentials."""

from __future__ import annotations

from core import AutoRouter, CoreApp, Settings
from core.testing import app_client
from tests.guide_app import PostViewSet
from tests.helpers import app_with

AUTH = "/api/v1/auth/"


async def test_token_responses_are_no_store_and_carry_security_headers(client, alice) -> None:
    login = await client.post(
        f"{AUTH}login/", json={"email": "alice@example.com", "password": "Password1"}
    )
    assert login.status_code == 200 and "access_token" in login.json()
    refreshed = await client.post(
        f"{AUTH}refresh/", json={"refresh_token": login.json()["refresh_token"]}
    )
    listed = await client.get("/api/v1/posts/")
    missing = await client.get("/api/v1/posts/999/")
    for response in (login, refreshed, listed, missing):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )
        assert "strict-transport-security" not in response.headers  # not in production
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert docs.headers["x-content-type-options"] == "nosniff"


def app_for(**settings: object) -> CoreApp:
    router = AutoRouter(prefix="/api/v1/posts")
    router.register("", PostViewSet, basename="post")
    return app_with(router, settings=Settings(secret_key="k" * 50, **settings))


async def test_cors_star_never_goes_with_credentials() -> None:
    """`CORS_ORIGINS=*` reflected any origin and allowed credentials."""
    async with app_client(app_for(cors_origins="*")) as http:
        response = await http.get(
            "/api/v1/posts/", headers={"Origin": "https://evil.example", "Cookie": "s=1"}
        )
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        preflight = await http.options(
            "/api/v1/posts/",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
            },
        )
        assert preflight.headers.get("access-control-allow-credentials") is None
        assert preflight.headers["access-control-allow-origin"] == "*"


async def test_listed_origins_keep_credentials_and_others_get_nothing() -> None:
    async with app_client(app_for(cors_origins="https://app.example")) as http:
        allowed = await http.get("/api/v1/posts/", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = await http.get("/api/v1/posts/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_production_adds_hsts() -> None:
    async with app_client(app_for(environment="production")) as http:
        response = await http.get("/api/v1/posts/")
        assert response.headers["strict-transport-security"].startswith("max-age=63072000")
