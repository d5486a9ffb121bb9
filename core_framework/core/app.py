"""`CoreApp`: FastAPI with the database lifecycle, error handlers, body limit, sessions and CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import iter_route_contexts
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.exceptions import ConfigurationError

from core.config import Settings, _app_settings, get_settings, settings_scope
from core.db import start_database, stop_database
from core.docs import install_local_docs
from core.errors import install_exception_handlers
from core.exceptions import ImproperlyConfigured
from core.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from core.routing import RouteIndex, include_flat
from core.throttling.throttles import check_throttle_configuration
from core.views.endpoints import APIViewRoute

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


class CoreApp(FastAPI):
    """The application: `CoreApp(title=..., routers=[api_router])`.

    On startup it starts the ORM (models discovered from `src/apps/*/models.py` unless
    `models=` or `Settings.models` say otherwise) and closes it on shutdown; each request gets
    its `db` handle from the views layer. `/docs` and `/redoc` are FastAPI's pages, with Swagger
    UI and ReDoc served by the app itself unless `DOCS_ASSETS=cdn` (see `core.docs`).

    `settings=` configures everything the app runs: inside its lifespan and requests
    `get_settings()` answers them, so tokens, password hashing, the user model, OAuth,
    sessions, the time zone and the database follow them, apart from any other app in the
    process. Without it the app uses the process's settings (the environment, `set_settings`,
    `configure_auth`).
    """

    def __init__(
        self,
        title: str | None = None,
        description: str = "",
        version: str | None = None,
        debug: bool | None = None,
        routers: Sequence[APIRouter] = (),
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        models: list[str] | None = None,
        create_schema: bool = False,
        lifespan: Lifespan | None = None,
        **kwargs: Any,
    ) -> None:
        #: The settings the app runs under; `own_settings` says they were given (`settings=`).
        self.settings = settings or get_settings()
        self.own_settings = settings is not None
        self.database_url = database_url or self.settings.database_url
        self.model_modules = models
        self.create_schema = create_schema
        self._user_lifespan = lifespan
        super().__init__(
            title=title or self.settings.app_name,
            description=description,
            version=version or self.settings.app_version,
            debug=self.settings.debug if debug is None else debug,
            lifespan=self._lifespan,
            **kwargs,
        )
        self.state.settings = self.settings
        # `add_api_route` (the guide's way to mount an APIView) builds an `APIViewRoute`.
        self.router.route_class = APIViewRoute
        # Requests try only the routes their path's first segment can match (same answers).
        self.router.middleware_stack = RouteIndex(self.router)
        install_exception_handlers(self)
        self.add_middleware(BodySizeLimitMiddleware, max_body_size=self.settings.max_body_size)
        self.add_middleware(SecurityHeadersMiddleware, hsts=self.settings.is_production)
        if self.settings.cors_origins:
            self.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.cors_origins,
                # Never with "*": every site could then make credentialed requests.
                allow_credentials="*" not in self.settings.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        for router in routers:
            self.include_router(router)

    def setup(self) -> None:
        """FastAPI's routes for the schema and docs; the docs' assets local unless DOCS_ASSETS=cdn."""
        if self.settings.docs_assets == "cdn":
            super().setup()
            return
        docs_url, redoc_url = self.docs_url, self.redoc_url
        self.docs_url = self.redoc_url = None  # FastAPI adds only /openapi.json
        try:
            super().setup()
        finally:
            self.docs_url, self.redoc_url = docs_url, redoc_url
        install_local_docs(self)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document with its automatic 422s made exact (`core.openapi`)."""
        if self.openapi_schema is None:
            from core.openapi import exact_openapi

            self.openapi_schema = exact_openapi(super().openapi())
        return self.openapi_schema

    def include_router(self, router: APIRouter, **options: Any) -> None:
        """FastAPI's `include_router`; AutoRouters are built in flat (`include_flat`)."""
        prefix = options.pop("prefix", "")
        tags = options.pop("tags", None)
        if not include_flat(self.router, router, prefix, tags, options):
            super().include_router(router, prefix=prefix, tags=tags, **options)

    def build_middleware_stack(self) -> ASGIApp:
        """The middleware, with the session cookie's only when a routed view uses sessions."""
        if self.uses_sessions() and not any(
            m.cls is SessionMiddleware for m in self.user_middleware
        ):
            inside_cors = next(
                i for i, m in enumerate(self.user_middleware) if m.cls is BodySizeLimitMiddleware
            )
            self.user_middleware.insert(inside_cors, self.session_middleware())
        return super().build_middleware_stack()

    def uses_sessions(self) -> bool:
        """Whether any routed view keeps state in the session (`uses_session`, e.g. OAuth)."""
        for context in iter_route_contexts(self.routes):
            view_cls = getattr(getattr(context.original_route, "endpoint", None), "view_cls", None)
            if getattr(view_cls, "uses_session", False):
                return True
        return False

    def session_middleware(self) -> Middleware:
        """A signed cookie, sent only once something is stored in it (OAuth login state)."""
        https_only = self.settings.session_https_only
        return Middleware(
            SessionMiddleware,
            secret_key=self.settings.secret_key,
            session_cookie=self.settings.session_cookie,
            max_age=self.settings.session_max_age_seconds,
            same_site="lax",  # the provider's redirect back is a top-level GET: cookie sent
            https_only=self.settings.is_production if https_only is None else https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call (a request or the lifespan) under the app's own settings."""
        if not self.own_settings:
            await super().__call__(scope, receive, send)
            return
        token = _app_settings.set(self.settings)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _app_settings.reset(token)

    def settings_scope(self) -> AbstractContextManager[None]:
        """Run a block as this app's requests run: with its settings in force (tests, the CLI)."""
        return settings_scope(self.settings if self.own_settings else None)

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[Any]:
        check_throttle_configuration(self.routes, self.settings)  # bad rates: no start
        resolve_configuration()
        try:
            context = await start_database(
                self.database_url,
                self.model_modules,
                self.settings,
                create_schema=self.create_schema,
            )
        except ConfigurationError as exc:  # a foreign key to a table no model has, said so
            from core.models.registry import explain_unresolved_reference

            explained = explain_unresolved_reference(str(exc))
            if explained is None:
                raise
            raise ImproperlyConfigured(explained) from exc
        self.state.tortoise = context
        try:
            resolve_user_model()
            await self.check_migrations(context)
            if self._user_lifespan is None:
                yield None
            else:
                async with self._user_lifespan(app) as state:
                    yield state
        finally:
            await stop_database()

    async def check_migrations(self, context: Any) -> None:
        """Warn about unapplied or missing migrations (fully in DEBUG or development; see
        `core.migrations.startup`), before the first request finds out the hard way."""
        from core.migrations.startup import check_migrations_at_startup

        await check_migrations_at_startup(
            context,
            self.settings,
            self.database_url,
            debug=self.debug,
            create_schema=self.create_schema,
        )


def resolve_configuration() -> None:
    """Build what the settings in force derive once, at startup, failing early if invalid.

    Requests then read the auth config (secret, lifetimes, algorithm), the default password
    hasher and the time zone from caches kept per settings object.
    """
    from core.auth.hashers import get_password_hasher
    from core.auth.tokens import get_auth_config
    from core.datetime import timezone

    get_auth_config()
    get_password_hasher()
    timezone.get_default_timezone()


def resolve_user_model() -> None:
    """Find the user model once the ORM runs (cached until it restarts); a USER_MODEL naming
    no installed model stops the app. Apps without a user model need none."""
    from core.auth.models import get_user_model

    try:
        get_user_model()
    except ImproperlyConfigured:
        if get_settings().user_model:
            raise
