"""Responses from output schemas, validated once by pydantic-core and dumped to JSON bytes."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response
from tortoise.models import Model as TortoiseModel


class JSONBytesResponse(Response):
    media_type = "application/json"


class OutputSerializer:
    """Turns model instances, or plain rows read with `.values()`, into JSON for one schema."""

    def __init__(self, schema: type[BaseModel], model: type[TortoiseModel] | None) -> None:
        self.schema = schema
        self.model = model

    @cached_property
    def _one(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.schema)

    @cached_property
    def _many(self) -> TypeAdapter[list[Any]]:
        return TypeAdapter(list[self.schema])  # type: ignore[name-defined]

    @cached_property
    def row_columns(self) -> tuple[str, ...] | None:
        """The columns to read with `.values()`, when the schema is exactly model columns.

        Rows skip building model instances; the schema still validates them, so its
        validators run. Schemas with aliases or fields that aren't columns use instances.
        """
        if self.model is None:
            return None
        columns = self.model._meta.fields_db_projection
        names = []
        for name, info in self.schema.model_fields.items():
            if name not in columns or info.alias or info.validation_alias:
                return None
            names.append(name)
        return tuple(names)

    def dump(self, obj: Any) -> bytes:
        return self._one.dump_json(self._one.validate_python(obj))

    def dump_many(self, objs: Iterable[Any]) -> bytes:
        return self._many.dump_json(self._many.validate_python(list(objs)))

    def response(self, obj: Any, status_code: int = 200) -> Response:
        return JSONBytesResponse(self.dump(obj), status_code=status_code)
