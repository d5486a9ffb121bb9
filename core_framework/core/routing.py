"""`AutoRouter`: DRF's router on a FastAPI `APIRouter`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from core.views.endpoints import ActionRoute
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
        super().__init__(prefix=prefix.rstrip("/"), tags=list(tags) if tags else None, **kwargs)

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
                tags=tags,  # type: ignore[arg-type]
                route_class_override=ActionRoute,
                **spec.docs,
            )
