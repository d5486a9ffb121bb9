"""`/docs` and `/redoc` over HTTP: by default every asset they load is served by the app itself.

The browser test (tests/browser) loads the same pages in Chromium with the network cut off.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager

from core import CoreApp, Settings
from core.docs import DOCS_ASSET_FILES, DOCS_STATIC_URL, docs_assets_directory

CONTENT_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "redoc.standalone.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
    "logo-mini.svg": "image/svg+xml",
}
_ASSET_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
_URL_IN_SCRIPT = re.compile(r"""https?://[^\s"'<>)]+""")


def make_app(docs_assets: str = "local", **options: object) -> CoreApp:
    settings = Settings(docs_assets=docs_assets)  # type: ignore[arg-type]
    return CoreApp(
        title="Docs test",
        settings=settings,
        database_url="sqlite+aiosqlite:///:memory:",
        models=[],
        **options,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def client_for(app: CoreApp, root_path: str = "") -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, root_path=root_path)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app()) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_pages_load_only_local_assets(docs_client: httpx.AsyncClient, page: str) -> None:
    response = await docs_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    refs = _ASSET_REF.findall(response.text)
    assert refs, "the page should reference its script and styles"
    assert all(ref.startswith(f"{DOCS_STATIC_URL}/") for ref in refs), refs
    # No absolute URL anywhere: not in tags, not in the inline script (fonts, CDN fallbacks).
    assert _URL_IN_SCRIPT.findall(response.text) == []
    for ref in refs:
        asset = await docs_client.get(ref)
        assert asset.status_code == 200, ref
        name = ref.removeprefix(f"{DOCS_STATIC_URL}/")
        assert asset.headers["content-type"].split(";")[0] == CONTENT_TYPES[name.split("/")[-1]]
        assert asset.content == (docs_assets_directory() / name).read_bytes()


async def test_every_asset_is_served_with_its_content_type(docs_client: httpx.AsyncClient) -> None:
    for name in DOCS_ASSET_FILES:
        response = await docs_client.get(f"{DOCS_STATIC_URL}/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == CONTENT_TYPES[name.split("/")[-1]]
    assert (await docs_client.get(f"{DOCS_STATIC_URL}/../__init__.py")).status_code == 404
    assert (await docs_client.get(f"{DOCS_STATIC_URL}/missing.js")).status_code == 404


async def test_swagger_ui_points_at_the_schema_and_the_oauth2_redirect(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    assert "url: '/openapi.json'" in page
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in page
    redirect = await docs_client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text
    assert (await docs_client.get("/openapi.json")).status_code == 200


async def test_redoc_finds_its_logo_next_to_the_page(docs_client: httpx.AsyncClient) -> None:
    """The ReDoc build asks for `window.location.pathname + "/logo-mini.svg"`."""
    bundle = (docs_assets_directory() / "redoc" / "redoc.standalone.js").read_text("utf-8")
    assert 'window.location.pathname+"/logo-mini.svg"' in bundle
    assert "cdn.redoc.ly" not in bundle
    logo = await docs_client.get("/redoc/logo-mini.svg")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"


async def test_the_assets_are_not_api_operations(docs_client: httpx.AsyncClient) -> None:
    schema = (await docs_client.get("/openapi.json")).json()
    assert not any(path.startswith(("/docs", "/redoc", "/static")) for path in schema["paths"])


async def test_the_cdn_is_a_setting_away() -> None:
    async with client_for(make_app("cdn")) as client:
        docs = (await client.get("/docs")).text
        redoc = (await client.get("/redoc")).text
        assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js" in docs
        assert "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js" in redoc
        assert DOCS_STATIC_URL not in docs + redoc
        assert (await client.get(f"{DOCS_STATIC_URL}/swagger/swagger-ui.css")).status_code == 404


def test_docs_assets_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCS_ASSETS", "cdn")
    assert Settings().docs_assets == "cdn"
    monkeypatch.setenv("DOCS_ASSETS", "elsewhere")
    with pytest.raises(ValueError, match="docs_assets"):
        Settings()


async def test_root_path_prefixes_the_asset_urls() -> None:
    async with client_for(make_app(), root_path="/api") as client:
        page = (await client.get("/docs")).text
        assert f'href="/api{DOCS_STATIC_URL}/swagger/swagger-ui.css"' in page
        assert "url: '/api/openapi.json'" in page


async def test_pages_turned_off_stay_off() -> None:
    async with client_for(make_app(docs_url=None, redoc_url="/reference")) as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/reference")).status_code == 200
    async with client_for(make_app(docs_url=None, redoc_url=None)) as client:
        assert (await client.get(f"{DOCS_STATIC_URL}/swagger/swagger-ui.css")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 200
