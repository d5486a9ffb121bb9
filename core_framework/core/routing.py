"""`AutoRouter`: DRF's router on a FastAPI `APIRouter`, a registry whose routes are built late.

`register` records a ViewSet (its routes are checked and described straight away, so a
mistake fails at the `register` line); `include_router` records an included AutoRouter. The
FastAPI routes are made from these records when an app includes the router (`include_flat`),
or when the router's own `routes` are read, as DRF's `urls` property does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from core.adapters.fastapi import route_selected, routes_version
from core.adapters.starlette import route_path
from core.exceptions import ImproperlyConfigured
from core.views.endpoints import ActionRoute, APIViewRoute
from core.views.generics import GenericViewSet
from core.views.routes import viewset_routes

#: `add_api_route`'s signature: a path, an endpoint and FastAPI's keyword arguments.
AddRoute = Callable[..., None]


@dataclass(frozen=True)
class RouteCall:
    """One `add_api_route` call, kept as it was made so it can be made again elsewhere."""

    path: str
    endpoint: Any
    options: dict[str, Any]


@dataclass(frozen=True)
class Registration:
    """One `register` call: the ViewSet, its prefix and basename, and its routes' calls."""

    prefix: str
    viewset: type[GenericViewSet]
    basename: str
    calls: tuple[RouteCall, ...]


@dataclass(frozen=True)
class Inclusion:
    """An AutoRouter included in this one, with the prefix and tags of the inclusion."""

    router: AutoRouter
    prefix: str
    tags: list[str | Enum] = field(default_factory=list)


Entry = RouteCall | Registration | Inclusion


class AutoRouter(APIRouter):
    """Register ViewSets under a prefix; include routers in one another like FastAPI's.

    ```python
    posts_router = AutoRouter(prefix="/posts", tags=["Posts"])
    posts_router.register("", PostViewSet, basename="post")
    ```

    Registering or including in any order works until an app includes the router (directly
    or through another AutoRouter); then the app has built its routes, and a later
    `register` is an error rather than a route the app would never serve.
    """

    _routes: list[BaseRoute]

    def __init__(self, prefix: str = "", tags: Sequence[str] | None = None, **kwargs: Any) -> None:
        self.entries: list[Entry] = []
        self._built: list[BaseRoute] = []  # the routes made from `entries` in `routes`
        self._built_version = 0
        self._version = 0
        #: Set once an app has built its routes from this router (`include_flat`).
        self.mounted = False
        kwargs.setdefault("route_class", APIViewRoute)  # serves APIView endpoints directly
        super().__init__(prefix=prefix.rstrip("/"), tags=list(tags) if tags else None, **kwargs)
        #: FastAPI options of the router itself (dependencies, responses, a lifespan, ...):
        #: a router that has any is included the FastAPI way, which applies them.
        self.router_options = {
            name: value for name, value in kwargs.items() if name != "route_class"
        }

    # The registry ---------------------------------------------------------------------

    def register(
        self, prefix: str, viewset: type[GenericViewSet], basename: str | None = None
    ) -> None:
        """Record the ViewSet's CRUD and `@action` routes under `prefix` (may be "")."""
        self._check_open()
        prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        if basename is None:
            basename = self.get_default_basename(viewset)
        if any(entry.basename == basename for entry in self.registry):
            raise ImproperlyConfigured(
                f'basename {basename!r} is already registered on AutoRouter(prefix="'
                f'{self.prefix}"): give {viewset.__name__} its own `basename=`'
            )
        # FastAPI adds the router's own tags to every route: don't repeat them.
        tags = [tag for tag in viewset.tags or () if tag not in (self.tags or ())] or None
        calls = tuple(
            RouteCall(
                spec.path,
                spec.endpoint,
                {
                    "methods": spec.methods,
                    "name": spec.name,
                    "status_code": spec.status_code,
                    "response_model": spec.response_model,
                    "summary": spec.summary,
                    "tags": tags,
                    "route_class_override": ActionRoute,
                    **spec.docs,
                },
            )
            for spec in viewset_routes(viewset, prefix, basename)
        )
        self._record(Registration(prefix, viewset, basename, calls))

    @property
    def registry(self) -> list[Registration]:
        """The `register` calls, in order (DRF's `router.registry`)."""
        return [entry for entry in self.entries if isinstance(entry, Registration)]

    @staticmethod
    def get_default_basename(viewset: type[GenericViewSet]) -> str:
        """The model's name in lower case, else the ViewSet's."""
        model = getattr(viewset, "model", None)
        return model.__name__.lower() if model is not None else viewset.__name__.lower()

    def add_api_route(self, path: str, endpoint: Any, **options: Any) -> None:
        """FastAPI's `add_api_route` (and so `@router.get`, ...), recorded like a ViewSet."""
        self._check_open()
        self._record(RouteCall(path, endpoint, options))

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        **options: Any,
    ) -> None:
        """FastAPI's `include_router`; an AutoRouter is recorded and built flat (`flattens`)."""
        self._check_open()
        if isinstance(router, AutoRouter) and router.flattens(options):
            self._record(Inclusion(router, prefix, list(tags or [])))
        else:
            super().include_router(router, prefix=prefix, tags=tags, **options)

    def _record(self, entry: Entry) -> None:
        self.entries.append(entry)
        self._version += 1
        self._mark_routes_changed()

    def _check_open(self) -> None:
        if self.mounted:
            raise RuntimeError(
                f"AutoRouter(prefix={self.prefix!r}) is already included in an app, which has "
                "built its routes from it: register its ViewSets and routes before including "
                "it in the app"
            )

    # Building routes ------------------------------------------------------------------

    def flattens(self, options: dict[str, Any] | None = None) -> bool:
        """Whether an inclusion with `options` can build this router's routes flat.

        FastAPI matches a request once per level of included routers, twice each; built flat,
        a route is matched once. Routers that carry more than routes (their own options, a
        lifespan, startup handlers, Starlette routes, FastAPI inclusions) are left to FastAPI.
        """
        return not (
            options
            or self.router_options
            or self.on_startup
            or self.on_shutdown
            or len(self.routes) != len(self._built)
            or any(not entry.router.flattens() for entry in self._inclusions())
        )

    def build(self, add: AddRoute, prefix: str = "", tags: Sequence[str | Enum] = ()) -> None:
        """Make this router's routes with `add` (a router's `add_api_route`), as included
        under `prefix` and `tags`: this router's prefix and tags come after those."""
        prefix, tags = prefix + self.prefix, [*tags, *(self.tags or [])]
        for entry in self.entries:
            if isinstance(entry, Inclusion):
                entry.router.build(add, prefix + entry.prefix, [*tags, *entry.tags])
                continue
            for call in entry.calls if isinstance(entry, Registration) else (entry,):
                options = {
                    **call.options,
                    "tags": [*tags, *(call.options.get("tags") or [])],
                    "route_class_override": call.options.get("route_class_override")
                    or self.route_class,
                }
                add(prefix + call.path, call.endpoint, **options)

    def mark_mounted(self) -> None:
        """Note that an app built its routes from this router and those it includes."""
        self.mounted = True
        for entry in self._inclusions():
            entry.router.mark_mounted()

    @property
    def routes(self) -> list[BaseRoute]:
        """The router's own routes, built from the registry when it changed (DRF's `urls`)."""
        version = self._tree_version()
        if version != self._built_version:
            self._built_version = version
            built = {id(route) for route in self._built}
            self._routes = [route for route in self._routes if id(route) not in built]
            self._built = []
            for entry in self.entries:
                self._build_own(entry)
        return self._routes

    @routes.setter
    def routes(self, routes: list[BaseRoute]) -> None:
        self._routes = routes

    def _build_own(self, entry: Entry) -> None:
        before = len(self._routes)
        add = super().add_api_route  # applies this router's prefix, tags and route class
        if isinstance(entry, Inclusion):
            entry.router.build(add, entry.prefix, entry.tags)
        else:
            for call in entry.calls if isinstance(entry, Registration) else (entry,):
                add(call.path, call.endpoint, **call.options)
        self._built.extend(self._routes[before:])

    def _inclusions(self) -> Iterator[Inclusion]:
        return (entry for entry in self.entries if isinstance(entry, Inclusion))

    def _tree_version(self) -> int:
        return self._version + sum(entry.router._tree_version() for entry in self._inclusions())

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        """FastAPI's change counter, which also counts registrations on included routers."""
        return super()._get_routes_version(seen) + self._tree_version()


def include_flat(
    target: APIRouter,
    router: APIRouter,
    prefix: str = "",
    tags: list[str | Enum] | None = None,
    options: dict[str, Any] | None = None,
) -> bool:
    """Build an AutoRouter's routes straight into `target` (an app's router), flat.

    The routes, their docs and their dependencies are those FastAPI's `include_router` would
    make; False (nothing done) when the router is not an AutoRouter or does not `flattens`.
    """
    if not isinstance(router, AutoRouter) or not router.flattens(options):
        return False
    router.build(target.add_api_route, prefix, list(tags or []))
    router.mark_mounted()
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
