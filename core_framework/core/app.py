"""`CoreApp`: FastAPI with the database lifecycle, error handlers, body limit, sessions and CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware

from core.config import Settings, get_settings
from core.datetime import configure_datetime
from core.db import start_database, stop_database
from core.errors import install_exception_handlers
from core.middleware import BodySizeLimitMiddleware

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


class CoreApp(FastAPI):
    """The application: `CoreApp(title=..., routers=[api_router])`.

    On startup it starts the ORM (models discovered from `src/apps/*/models.py` unless
    `models=` or `Settings.models` say otherwise) and closes it on shutdown; each request gets
    its `db` handle from the views layer. `/docs` and `/redoc` are served as in FastAPI.
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
        self.settings = settings or get_settings()
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
        install_exception_handlers(self)
        self.add_middleware(BodySizeLimitMiddleware, max_body_size=self.settings.max_body_size)
        https_only = self.settings.session_https_only
        self.add_middleware(
            SessionMiddleware,  # signed cookie; sent only once something is stored (OAuth state)
            secret_key=self.settings.secret_key,
            session_cookie=self.settings.session_cookie,
            max_age=self.settings.session_max_age_seconds,
            same_site="lax",  # the provider's redirect back is a top-level GET: cookie sent
            https_only=self.settings.is_production if https_only is None else https_only,
        )
        if self.settings.cors_origins:
            self.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.cors_origins,
                allow_credentials=True,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        for router in routers:
            self.include_router(router)

    @asynccontextmanager
    async def _lifespan(self, app: FastAPI) -> AsyncIterator[Any]:
        configure_datetime(self.settings.timezone, self.settings.use_tz)
        context = await start_database(
            self.database_url, self.model_modules, self.settings, create_schema=self.create_schema
        )
        self.state.tortoise = context
        try:
            if self._user_lifespan is None:
                yield None
            else:
                async with self._user_lifespan(app) as state:
                    yield state
        finally:
            await stop_database()
