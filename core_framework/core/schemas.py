"""`InputSchema` validates request bodies; `OutputSchema` reads model instances for responses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

#: Characters no database stores alike: NUL (PostgreSQL refuses it, SQLite keeps it) and
#: unpaired surrogates such as JSON's "\ud800" (not encodable as UTF-8: no driver stores it,
#: no hasher hashes it).
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT_MESSAGE = "Text must not contain NUL characters or unpaired surrogates"


def is_storable_text(text: str) -> bool:
    """Whether `text` is free of NUL characters and unpaired surrogates."""
    return _UNSTORABLE_TEXT.search(text) is None


def _unstorable(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """The locations of unstorable strings in a validated value (nested containers included)."""
    if isinstance(value, str):
        if _UNSTORABLE_TEXT.search(value) is not None:
            yield loc
    elif isinstance(value, InputSchema):
        return  # validated itself
    elif isinstance(value, BaseModel):
        for name, item in value.__dict__.items():
            yield from _unstorable(item, (*loc, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable(key, (*loc, str(key)))
            yield from _unstorable(item, (*loc, str(key)))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _unstorable(item, (*loc, index))


class InputSchema(BaseModel):
    """A request body. Only its declared fields ever reach a model (no mass assignment).

    Strings holding NUL or an unpaired surrogate are a 422 naming the field, whatever the
    database: PostgreSQL cannot store NUL, no driver or hasher can encode a lone surrogate.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    @model_validator(mode="after")
    def _refuse_unstorable_text(self) -> InputSchema:
        fields = type(self).model_fields
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("string_unstorable", UNSTORABLE_TEXT_MESSAGE),
                loc=loc,
                input="",  # never echo the text back
            )
            for name, value in self.__dict__.items()
            for loc in _unstorable(value, (fields[name].alias or name if name in fields else name,))
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class OutputSchema(BaseModel):
    """A response body, built from model instances or dicts (`from_attributes=True`)."""

    model_config = ConfigDict(from_attributes=True)
