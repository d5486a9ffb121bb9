"""Responses from output schemas, validated once by pydantic-core and dumped to JSON bytes."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi.exceptions import ResponseValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.responses import Response
from tortoise.models import Model as TortoiseModel

from core.views.nested import NestedRows, nested_rows

_UNIONS = (Union, UnionType)


class JSONBytesResponse(Response):
    media_type = "application/json"


def dump_json(adapter: TypeAdapter[Any], value: Any) -> bytes:
    """`value` validated by its output type and dumped to JSON.

    A value that doesn't fit is the server's error (a 500, logged), not the client's 422.
    """
    try:
        return adapter.dump_json(adapter.validate_python(value))
    except ValidationError as exc:
        raise ResponseValidationError(exc.errors(include_url=False)) from exc


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
        meta = self.model._meta
        # Before the ORM starts (routes are built first) a foreign key's `author_id` is not
        # in the projection yet: it is a column all the same.
        columns = set(meta.fields_db_projection)
        columns.update(f"{name}_id" for name in meta.fk_fields | meta.o2o_fields)
        names = []
        for name, info in self.schema.model_fields.items():
            if name not in columns or info.alias or info.validation_alias:
                return None
            names.append(name)
        return tuple(names)

    @cached_property
    def nested_rows(self) -> NestedRows | None:
        """How to read a list page as rows when the schema nests relations of plain columns
        one level deep (`author: AuthorOutput`, `tags: list[TagOutput]`), else None."""
        if self.model is None or self.row_columns is not None:
            return None
        return nested_rows(self.schema, self.model)

    @cached_property
    def runs_no_schema_code(self) -> bool:
        """Whether dumping runs no code of the schema's own (validators, serializers): only
        columns in, JSON out, so it may run on the database's thread (`core.db.one_trip`)."""
        decorators = self.schema.__pydantic_decorators__
        return self.row_columns is not None and not any(
            (
                decorators.validators,
                decorators.field_validators,
                decorators.root_validators,
                decorators.field_serializers,
                decorators.model_serializers,
                decorators.model_validators,
                decorators.computed_fields,
            )
        )

    @cached_property
    def dumps_any_saved_object(self) -> bool:
        """Whether dumping a saved instance of the model cannot fail, so the response may be
        built after the COMMIT: no schema code, and every field typed exactly as its column's
        Python type (which Tortoise converts values to), `| None` where the column is nullable.
        """
        if self.model is None or not self.runs_no_schema_code:
            return False
        meta = self.model._meta
        for name, info in self.schema.model_fields.items():
            members = get_args(info.annotation) if get_origin(info.annotation) in _UNIONS else ()
            types = [m for m in members if m is not type(None)] if members else [info.annotation]
            nullable = bool(members) and len(types) < len(members)
            field = meta.fields_map.get(name)
            if field is not None:
                python_type, null = field.field_type, field.null
            else:  # `author_id` before the ORM starts: the key's type is known only then
                relation = meta.fields_map[name.removesuffix("_id")]
                python_type, null = int, relation.null
            if info.metadata or len(types) != 1 or types[0] is not python_type:
                return False
            if null and not nullable:
                return False
        return True

    def dump(self, obj: Any) -> bytes:
        return dump_json(self._one, obj)

    def dump_many(self, objs: Iterable[Any]) -> bytes:
        return dump_json(self._many, list(objs))

    def response(self, obj: Any, status_code: int = 200) -> Response:
        return JSONBytesResponse(self.dump(obj), status_code=status_code)
