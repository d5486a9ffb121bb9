"""Which columns an update writes: the fields it set, never the whole row (Django's `update_fields`).

Writing every column makes two concurrent PATCHes of different fields overwrite each other:
each request reads the row, changes its one field and writes back the other's old value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def update_fields_for(obj: Any, names: Iterable[str]) -> list[str] | None:
    """The columns to save after setting `names` on `obj`, with its `auto_now` columns.

    A relation set by name (`author`) writes its key column (`author_id`). None (write every
    column) when a name is not a column of the model, e.g. a property with a setter.
    """
    meta = obj._meta
    columns = meta.fields_db_projection
    fields: set[str] = set()
    for name in names:
        if name in columns:
            fields.add(name)
            continue
        source = getattr(meta.fields_map.get(name), "source_field", None)
        if source is None or source not in columns:
            return None
        fields.add(source)
    fields.update(
        name for name, field in meta.fields_map.items() if getattr(field, "auto_now", False)
    )
    fields.discard(meta.pk_attr)
    return sorted(fields)
