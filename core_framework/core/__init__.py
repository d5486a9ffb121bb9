"""Core Framework: Django/DRF-style building blocks for async APIs on FastAPI."""

from __future__ import annotations

__version__ = "0.1.0"

from core.config import Settings
from core.db import AsyncSession
from core.models import F, Field, Mapped, Model, Q
from core.schemas import InputSchema, OutputSchema

__all__ = [
    "AsyncSession",
    "F",
    "Field",
    "InputSchema",
    "Mapped",
    "Model",
    "OutputSchema",
    "Q",
    "Settings",
    "__version__",
]
