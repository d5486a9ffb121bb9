"""`/docs` and `/redoc` served with Swagger UI and ReDoc from an installed package, not a CDN.

FastAPI's pages load their JavaScript and CSS from jsDelivr (and ReDoc's fonts from Google), so on
a machine without internet access they are blank. With `DOCS_ASSETS=local` (the default) the same
pages point at the files the `fastapi-standalone-docs` package ships (Swagger UI, and a ReDoc
build that takes its logo from the page's own URL), served under `DOCS_STATIC_URL`;
`DOCS_ASSETS=cdn` keeps FastAPI's own pages.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the assets are mounted: one path that an app's own routes are unlikely to use.
DOCS_STATIC_URL = "/static/docs"
#: The files served there, inside fastapi-standalone-docs' `static` folder.
SWAGGER_JS = "swagger/swagger-ui-bundle.js"
SWAGGER_CSS = "swagger/swagger-ui.css"
REDOC_JS = "redoc/redoc.standalone.js"
REDOC_LOGO = "redoc/logo-mini.svg"  # ReDoc's bundle asks for `<page URL>/logo-mini.svg`
FAVICON = "fastapi/favicon.png"
DOCS_ASSET_FILES = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, REDOC_LOGO, FAVICON)


def docs_assets_directory() -> Path:
    """The folder holding Swagger UI's and ReDoc's files, in the installed fastapi-standalone-docs."""
    return Path(str(files("fastapi_standalone_docs") / "static"))


def install_local_docs(app: FastAPI) -> None:
    """Add `app.docs_url` and `app.redoc_url` pages whose assets are served by the app itself.

    Does what `FastAPI.setup` does for the two pages (same URLs, root_path, OAuth2 redirect,
    `swagger_ui_parameters`), with local asset URLs; call it with FastAPI's own pages turned off.
    """
    if not app.openapi_url or not (app.docs_url or app.redoc_url):
        return
    openapi_url = app.openapi_url
    app.mount(DOCS_STATIC_URL, StaticFiles(directory=docs_assets_directory()), name="docs-assets")

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '').rstrip('/')}{DOCS_STATIC_URL}/{name}"

    if app.docs_url:

        async def swagger_ui_html(request: Request) -> HTMLResponse:
            root_path = request.scope.get("root_path", "").rstrip("/")
            redirect_url = app.swagger_ui_oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=root_path + openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=root_path + redirect_url if redirect_url else None,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
                swagger_js_url=asset(request, SWAGGER_JS),
                swagger_css_url=asset(request, SWAGGER_CSS),
                swagger_favicon_url=asset(request, FAVICON),
            )

        app.add_route(app.docs_url, swagger_ui_html, include_in_schema=False)
        if app.swagger_ui_oauth2_redirect_url:

            async def swagger_ui_redirect(request: Request) -> HTMLResponse:
                return get_swagger_ui_oauth2_redirect_html()

            app.add_route(
                app.swagger_ui_oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False
            )

    if app.redoc_url:

        async def redoc_html(request: Request) -> HTMLResponse:
            root_path = request.scope.get("root_path", "").rstrip("/")
            return get_redoc_html(
                openapi_url=root_path + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=asset(request, REDOC_JS),
                redoc_favicon_url=asset(request, FAVICON),
                with_google_fonts=False,
            )

        async def redoc_logo(request: Request) -> FileResponse:
            return FileResponse(docs_assets_directory() / REDOC_LOGO)

        app.add_route(app.redoc_url, redoc_html, include_in_schema=False)
        app.add_route(f"{app.redoc_url}/logo-mini.svg", redoc_logo, include_in_schema=False)
