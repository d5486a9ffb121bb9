"""Core Framework: Django/DRF-style building blocks for async APIs on FastAPI.

The public names are imported on first use, so `core --version` and scripts that need only
the ORM don't pay for importing FastAPI.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

#: The installed distribution's version: it is written only in pyproject.toml.
DISTRIBUTION = "core-framework"
try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "APIView": "core.views",
    "AsyncSession": "core.db",
    "AutoRouter": "core.routing",
    "BaseFilterBackend": "core.views",
    "CoreApp": "core.app",
    "CursorPagination": "core.views",
    "F": "core.models",
    "Field": "core.models",
    "FilterSetBackend": "core.views",
    "InputSchema": "core.schemas",
    "LimitOffsetPagination": "core.views",
    "Mapped": "core.models",
    "Model": "core.models",
    "ModelViewSet": "core.views",
    "OrderingFilter": "core.views",
    "OutputSchema": "core.schemas",
    "PageNumberPagination": "core.views",
    "Q": "core.models",
    "ReadOnlyModelViewSet": "core.views",
    "SearchFilter": "core.views",
    "Settings": "core.config",
    "ViewSet": "core.views",
    "action": "core.views",
}

__all__ = [
    "APIView",
    "AsyncSession",
    "AutoRouter",
    "BaseFilterBackend",
    "CoreApp",
    "CursorPagination",
    "F",
    "Field",
    "FilterSetBackend",
    "InputSchema",
    "LimitOffsetPagination",
    "Mapped",
    "Model",
    "ModelViewSet",
    "OrderingFilter",
    "OutputSchema",
    "PageNumberPagination",
    "Q",
    "ReadOnlyModelViewSet",
    "SearchFilter",
    "Settings",
    "ViewSet",
    "__version__",
    "action",
]

if TYPE_CHECKING:
    from core.app import CoreApp
    from core.config import Settings
    from core.db import AsyncSession
    from core.models import F, Field, Mapped, Model, Q
    from core.routing import AutoRouter
    from core.schemas import InputSchema, OutputSchema
    from core.views import (
        APIView,
        BaseFilterBackend,
        CursorPagination,
        FilterSetBackend,
        LimitOffsetPagination,
        ModelViewSet,
        OrderingFilter,
        PageNumberPagination,
        ReadOnlyModelViewSet,
        SearchFilter,
        ViewSet,
        action,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
