"""`/docs` in a real browser with no network but loopback: Debian's headless Chromium, via Playwright.

The guide's example app is served by uvicorn on 127.0.0.1. Chromium resolves no host name and
sends everything else to a dead proxy, so a page that needed a CDN would stay blank. `make
test-browser` (a CI step) installs Chromium and Playwright and sets CORE_BROWSER_TESTS=1, which
makes a missing browser a failure; elsewhere the module is skipped when either is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("CORE_BROWSER_TESTS") == "1"
try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError:  # the `browser` extra is not installed
    if REQUIRED:
        raise
    pytest.skip("needs playwright (`make test-browser` installs it)", allow_module_level=True)
if not Path(CHROMIUM).is_file():
    if REQUIRED:
        raise RuntimeError(f"CORE_BROWSER_TESTS=1 but there is no Chromium at {CHROMIUM}")
    pytest.skip(
        "needs Debian's chromium (`make test-browser` installs it)", allow_module_level=True
    )

ROOT = Path(__file__).resolve().parents[2]
CDN_ASSET = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
SERVE = """
import sys, uvicorn
from tests.guide_app import create_app
app = create_app(sys.argv[1])
app.create_schema = True
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The guide's app under uvicorn on a free loopback port, with a fresh SQLite file."""
    with serve(tmp_path_factory, "local") as base:
        yield base


@pytest.fixture(scope="module")
def cdn_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same app with DOCS_ASSETS=cdn: FastAPI's own pages, which load from jsDelivr."""
    with serve(tmp_path_factory, "cdn") as base:
        yield base


@contextmanager
def serve(tmp_path_factory: pytest.TempPathFactory, docs_assets: str) -> Iterator[str]:
    database = tmp_path_factory.mktemp("db") / "app.db"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DOCS_ASSETS"] = docs_assets
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, f"sqlite+aiosqlite:///{database}", str(port)],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the app's server exited"
            assert time.monotonic() < deadline, "the app's server did not start"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Chromium, a fresh profile, and no way out but loopback."""
    dead_proxy = free_port()  # nothing listens there
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # No name resolves but loopback's, and every other request goes to a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--proxy-server=http://127.0.0.1:{dead_proxy}",
        "--proxy-bypass-list=127.0.0.1;localhost",
    ]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=args,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext, base_url: str) -> Iterator[Page]:
    page = browser.new_page()
    page.set_default_timeout(30_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.requested = requested  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.close()


def only_loopback(page: Page, base_url: str) -> bool:
    """Every request the page made went to the app (ReDoc's worker is a same-origin blob:)."""
    requested: list[str] = page.requested  # type: ignore[attr-defined]
    outside = [url for url in requested if not url.startswith((base_url, f"blob:{base_url}/"))]
    assert requested and not outside, outside
    return True


def test_the_network_is_cut_off_but_loopback(page: Page, base_url: str) -> None:
    """The setup is real: what /docs would load from the CDN cannot be reached here."""
    page.goto(f"{base_url}/health")
    assert "healthy" in page.content()
    outcome = page.evaluate(
        "url => fetch(url, {mode: 'no-cors'}).then(() => 'loaded', e => 'failed: ' + e)",
        CDN_ASSET,
    )
    assert outcome.startswith("failed"), outcome


def test_with_the_cdn_the_same_page_stays_blank(page: Page, cdn_base_url: str) -> None:
    """What the offline assets fix: FastAPI's own /docs shows nothing without a network."""
    page.goto(f"{cdn_base_url}/docs")
    page.wait_for_load_state("load")
    assert page.locator("#swagger-ui").inner_text().strip() == ""
    assert page.locator(".opblock").count() == 0
    assert any(url.startswith("https://cdn.jsdelivr.net/") for url in page.requested)  # type: ignore[attr-defined]


def test_docs_lists_the_operations_offline(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/docs")
    schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    operations = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(len(operations))
    shown = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in blocks.all()
    }
    assert shown == set(operations)
    assert ("GET", "/health") in shown and ("POST", "/api/v1/posts/") in shown
    assert only_loopback(page, base_url)


def test_try_it_out_on_get_health_returns_200(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/docs")
    health = page.locator(".opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/health"]')
    )
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    status = health.locator(".live-responses-table .response .response-col_status")
    expect(status).to_have_text(re.compile(r"^\s*200\s*$"))
    body = health.locator(".live-responses-table .response-col_description pre").first
    expect(body).to_contain_text('"status": "healthy"')


def test_redoc_renders_offline(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/redoc")
    expect(page.get_by_text("Health check", exact=False).first).to_be_visible()
    expect(page.locator('img[alt="redocly logo"]')).to_have_js_property(
        "naturalWidth", 300
    )  # loaded
    assert only_loopback(page, base_url)
