"""`AutoRouter`: DRF's router on a FastAPI `APIRouter`."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from core.adapters.fastapi import route_selected, routes_version
from core.adapters.starlette import route_path
from core.views.endpoints import ActionRoute, APIViewRoute
from core.views.generics import GenericViewSet
from core.views.routes import viewset_routes


class AutoRouter(APIRouter):
    """Register ViewSets under a prefix; include routers in one another like FastAPI's.

    ```python
    posts_router = AutoRouter(prefix="/posts", tags=["Posts"])
    posts_router.register("", PostViewSet, basename="post")
    ```
    """

    def __init__(self, prefix: str = "", tags: Sequence[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", APIViewRoute)  # serves APIView endpoints directly
        super().__init__(prefix=prefix.rstrip("/"), tags=list(tags) if tags else None, **kwargs)
        self.has_lifespan = kwargs.get("lifespan") is not None
        #: Set once the routes are copied into another router: later routes would be missed.
        self.copied = False

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        if self.copied:
            raise RuntimeError(
                f"AutoRouter(prefix={self.prefix!r}) is already included in another router: "
                "register its ViewSets and routes before including it"
            )
        super().add_api_route(path, endpoint, **kwargs)

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        **options: Any,
    ) -> None:
        """FastAPI's `include_router`; AutoRouters are copied in flat (see `include_flat`)."""
        if not include_flat(self, router, prefix, tags, options):
            super().include_router(router, prefix=prefix, tags=tags, **options)

    def register(
        self, prefix: str, viewset: type[GenericViewSet], basename: str | None = None
    ) -> None:
        """Add the ViewSet's CRUD and `@action` routes under `prefix` (may be "")."""
        prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        if basename is None:
            model = getattr(viewset, "model", None)
            basename = model.__name__.lower() if model is not None else viewset.__name__.lower()
        # FastAPI adds the router's own tags to every route: don't repeat them.
        tags = [tag for tag in viewset.tags or () if tag not in (self.tags or ())] or None
        for spec in viewset_routes(viewset, prefix, basename):
            self.add_api_route(
                spec.path,
                spec.endpoint,
                methods=spec.methods,
                name=spec.name,
                status_code=spec.status_code,
                response_model=spec.response_model,
                summary=spec.summary,
                tags=tags,
                route_class_override=ActionRoute,
                **spec.docs,
            )


def include_flat(
    target: APIRouter,
    router: APIRouter,
    prefix: str = "",
    tags: list[str | Enum] | None = None,
    options: dict[str, Any] | None = None,
) -> bool:
    """Copy an AutoRouter's routes into `target`, with the prefix and tags of the inclusion.

    FastAPI matches a request once per level of included routers, twice each; copied routes
    are matched once, directly. This is what `include_router` did before FastAPI made it
    lazy, so the routes, their docs and their dependencies are the same. Routers that carry
    more than routes (other options, a lifespan, startup handlers) are left to FastAPI: False.
    """
    if (
        options
        or not isinstance(router, AutoRouter)
        or router.has_lifespan
        or router.on_startup
        or router.on_shutdown
        or not all(isinstance(route, APIRoute) for route in router.routes)
    ):
        return False
    for route in router.routes:
        assert isinstance(route, APIRoute)
        target.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=[*(tags or []), *route.tags],
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
        )
    router.copied = True
    return True


class RouteIndex:
    """The app router's way in: only routes that can match the path's first segment are tried.

    A route whose path starts with a literal segment (`/posts/...`) can only match requests
    whose path starts with that segment, so each request tries the routes of its segment plus
    those that could match any path (a parameter first, mounts, included routers, routes with
    their own `matches`), in the router's order. The first full match wins, then the first
    partial one (a 405), exactly as the router's loop decides; when none matches, the router
    itself answers (slash redirects, low-priority routes, 404). Rebuilt when routes change.
    """

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self._built_for: tuple[int, int, int] | None = None
        self._by_segment: dict[str, list[BaseRoute]] = {}
        self._anywhere: list[BaseRoute] = []

    def _build(self, routes: list[BaseRoute]) -> None:
        literal: list[tuple[int, str]] = []
        anywhere: list[int] = []
        for index, route in enumerate(routes):
            segment = _first_literal_segment(route)
            if segment is None:
                anywhere.append(index)
            else:
                literal.append((index, segment))
        by_index: dict[str, list[int]] = {}
        for index, segment in literal:
            by_index.setdefault(segment, []).append(index)
        self._by_segment = {
            segment: [routes[i] for i in sorted(indexes + anywhere)]
            for segment, indexes in by_index.items()
        }
        self._anywhere = [routes[i] for i in anywhere]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        router = self.router
        if scope["type"] != "http":
            await router.app(scope, receive, send)
            return
        routes = router.routes
        built_for = (id(routes), len(routes), routes_version(router))
        if built_for != self._built_for:
            self._build(routes)
            self._built_for = built_for
        segment = route_path(scope)[1:].partition("/")[0]
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._by_segment.get(segment, self._anywhere):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                partial = (route, child_scope)
                break
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is None:
            await router.app(scope, receive, send)
            return
        route, child_scope = partial
        scope.setdefault("router", router)
        scope.update(child_scope)
        route_selected(scope, getattr(route, "path_format", None))
        await route.handle(scope, receive, send)


_MATCHES = (Route.matches, APIRoute.matches)


def _first_literal_segment(route: BaseRoute) -> str | None:
    """The first segment of `route`'s path when every match needs it (else None: any path)."""
    if not isinstance(route, Route) or type(route).matches not in _MATCHES:
        return None
    path = route.path
    if not path.startswith("/"):
        return None
    segment = path[1:].partition("/")[0]
    return None if "{" in segment else segment
