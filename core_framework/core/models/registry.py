"""Models by table name, so `Field.foreign_key("users.id")` finds its target in any import order."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from tortoise.fields.relational import ForeignKeyFieldInstance

if TYPE_CHECKING:
    from tortoise.models import Model as TortoiseModel

_models_by_table: dict[str, type[TortoiseModel]] = {}
# table -> foreign keys waiting for a model with that table, with the referenced column.
_pending: dict[str, list[tuple[ForeignKeyFieldInstance, str | None]]] = defaultdict(list)

#: The placeholder app label a pending reference carries until its target model appears.
PENDING_APP = "models"


def register_model(model: type[TortoiseModel]) -> None:
    """Record a concrete model's table and point pending foreign keys at it."""
    table = model._meta.db_table
    if not table:
        return
    _models_by_table[table] = model
    for fk, column in _pending.pop(table, []):
        _point_at(fk, model, column)


def model_for_table(table: str) -> type[TortoiseModel] | None:
    return _models_by_table.get(table)


def reference_table(fk: ForeignKeyFieldInstance, table: str, column: str | None) -> None:
    """Aim `fk` at the model of `table` now if it exists, else as soon as it is defined."""
    model = _models_by_table.get(table)
    if model is not None:
        _point_at(fk, model, column)
    else:
        _pending[table].append((fk, column))


def _point_at(fk: ForeignKeyFieldInstance, model: type[TortoiseModel], column: str | None) -> None:
    fk.model_name = model
    if column and column != model._meta.pk_attr:
        fk.to_field = column


def unresolved_tables() -> list[str]:
    """Tables named by foreign keys for which no model has been defined (for error messages)."""
    return sorted(table for table, waiting in _pending.items() if waiting)


def registered_models() -> list[type[TortoiseModel]]:
    """Every concrete model defined so far (relations are resolved against them)."""
    return list(_models_by_table.values())
