"""Models by table name, so `Field.foreign_key("users.id")` finds its target in any import order."""

from __future__ import annotations

import difflib
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def reference_table(fk: ForeignKeyFieldInstance, table: str, column: str | None) -> None:
    """Aim `fk` at the model of `table` now if it exists, else as soon as it is defined."""
    model = _models_by_table.get(table)
    if model is not None:
        _point_at(fk, model, column)
    else:
        _pending[table].append((fk, column))


def _point_at(fk: ForeignKeyFieldInstance, model: type[TortoiseModel], column: str | None) -> None:
    """Aim `fk` at `model`, at `column` when that is not the primary key."""
    fk.model_name = model
    if column and column != model._meta.pk_attr:
        fk.to_field = column


def registered_models() -> list[type[TortoiseModel]]:
    """Every concrete model defined so far (relations are resolved against them)."""
    return list(_models_by_table.values())


#: Tortoise's message when a relation names a model it doesn't have.
_NO_MODEL = re.compile(r"No model with name '(?P<name>[^']*)' registered in app '(?P<app>[^']*)'")


def declare(fk: ForeignKeyFieldInstance, attr: str, to: Any) -> None:
    """Remember how a foreign key was written (`author_id`, `"users.id"`) for error messages."""
    fk.core_declared = (attr, to)  # type: ignore[attr-defined]


def explain_unresolved_reference(message: str) -> str | None:
    """Tortoise's "No model with name 'user' registered in app 'models'" in the user's terms.

    Names each foreign key that points nowhere, its model and file, the table (or model) it
    looked for, a close match and the tables there are; None for any other message.
    """
    match = _NO_MODEL.search(message)
    if match is None:
        return None
    wanted = f"{match['app']}.{match['name']}"
    by_table = match["app"] == PENDING_APP and match["name"] in _pending
    models = list(dict.fromkeys(_models_by_table.values()))
    culprits = [
        (model, fk)
        for model in models
        for fk in model._meta.fields_map.values()
        if isinstance(fk, ForeignKeyFieldInstance) and fk.model_name == wanted
    ]
    if by_table:
        known = sorted(_models_by_table)
        target = f"no model has __tablename__ = {match['name']!r}"
    else:
        known = sorted(model.__name__ for model in models)
        target = f"there is no model {match['name']!r} in app {match['app']!r}"
    close = difflib.get_close_matches(match["name"], known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listing = f" ({'tables' if by_table else 'models'}: {', '.join(known)})" if known else ""
    if not culprits:
        return f"a foreign key points at {match['name']!r}, but {target}{hint}{listing}"
    lines = []
    for model, fk in culprits:
        attr, to = getattr(fk, "core_declared", (fk.model_field_name, match["name"]))
        where = _module_file(model)
        lines.append(f"{model.__name__}.{attr} = Field.foreign_key({to!r}){where}: {target}{hint}")
    return "; ".join(lines) + listing


def _module_file(model: type[TortoiseModel]) -> str:
    """` in src/apps/posts/models.py` (relative to the working directory when inside it)."""
    module = sys.modules.get(model.__module__)
    filename = getattr(module, "__file__", None)
    if not filename:
        return ""
    path = Path(filename).resolve()
    cwd = Path.cwd().resolve()
    return f" in {path.relative_to(cwd) if path.is_relative_to(cwd) else path}"
