"""Core Framework: Django/DRF-style building blocks for async APIs on FastAPI."""

from __future__ import annotations

__version__ = "0.1.0"

from core.app import CoreApp
from core.config import Settings
from core.db import AsyncSession
from core.models import F, Field, Mapped, Model, Q
from core.routing import AutoRouter
from core.schemas import InputSchema, OutputSchema
from core.views import APIView, ModelViewSet, ReadOnlyModelViewSet, ViewSet, action

__all__ = [
    "APIView",
    "AsyncSession",
    "AutoRouter",
    "CoreApp",
    "F",
    "Field",
    "InputSchema",
    "Mapped",
    "Model",
    "ModelViewSet",
    "OutputSchema",
    "Q",
    "ReadOnlyModelViewSet",
    "Settings",
    "ViewSet",
    "__version__",
    "action",
]
