"""The query class behind every core model: Tortoise's QuerySet, raising the model's own errors."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise import exceptions
from tortoise.manager import Manager as TortoiseManager
from tortoise.models import Model as TortoiseModel
from tortoise.queryset import QuerySet as TortoiseQuerySet

M = TypeVar("M", bound=TortoiseModel)


class QuerySet(TortoiseQuerySet[M]):
    """`get()` raises `Post.DoesNotExist` / `Post.MultipleObjectsReturned`, as in Django."""

    __slots__ = ()

    async def create(self, **values: Any) -> M:
        """`Post.objects.using(db).create(title=...)`: a new saved row on this query's connection."""
        return await self.model.create(using_db=self._db, **values)

    async def _execute(self) -> Any:
        try:
            return await super()._execute()
        except exceptions.DoesNotExist:
            raise self.model.DoesNotExist(self.model) from None  # type: ignore[attr-defined]
        except exceptions.MultipleObjectsReturned:
            raise self.model.MultipleObjectsReturned(self.model) from None  # type: ignore[attr-defined]


class QuerySetManager(TortoiseManager):
    """Tortoise manager that hands out core's `QuerySet`, for native calls like `Post.filter()`."""

    def get_queryset(self) -> QuerySet[Any]:
        return QuerySet(self._model)
