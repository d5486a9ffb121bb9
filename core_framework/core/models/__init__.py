"""Models: the `Model` base, `Field.*` helpers, the `objects.using(db)` manager, F and Q."""

from __future__ import annotations

from typing import Annotated, TypeVar

from tortoise.exceptions import DoesNotExist, IntegrityError, MultipleObjectsReturned
from tortoise.expressions import F, Q

from core.models.base import Manager, Model, ModelMeta
from core.models.fields import Field
from core.models.queryset import QuerySet

T = TypeVar("T")

#: `Mapped[int]`: a typing-only marker, so the guide's SQLAlchemy-style annotations keep working.
Mapped = Annotated[T, "core.Mapped"]

__all__ = [
    "DoesNotExist",
    "F",
    "Field",
    "IntegrityError",
    "Manager",
    "Mapped",
    "Model",
    "ModelMeta",
    "MultipleObjectsReturned",
    "Q",
    "QuerySet",
]
