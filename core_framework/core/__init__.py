"""Core Framework: Django/DRF-style building blocks for async APIs on FastAPI."""

from __future__ import annotations

__version__ = "0.1.0"

from core.config import Settings

__all__ = ["Settings", "__version__"]
