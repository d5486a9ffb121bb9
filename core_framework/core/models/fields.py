"""`Field.*` helpers: the guide's field vocabulary, returning Tortoise fields."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from tortoise import fields
from tortoise.fields.base import OnDelete

from core.exceptions import ImproperlyConfigured

# Guide/SQLAlchemy-style keyword -> Tortoise keyword.
_RENAMED = {"nullable": "null", "index": "db_index", "primary_key": "primary_key"}
_ON_DELETE = {member.value: member for member in OnDelete} | {
    member.name: member for member in OnDelete
}


def tortoise_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Map `nullable=`/`index=` to Tortoise's `null=`/`db_index=`; pass the rest through."""
    return {_RENAMED.get(key, key): value for key, value in kwargs.items()}


class NormalizedCharField(fields.CharField):
    """A string column stored in Unicode NFC, for unique strings (`Field.string(unique=True)`).

    "é" typed as one code point or as "e" plus a combining accent (NFD) is one value, so the
    two forms of one slug can't make two "unique" rows; lookups are normalised the same way.
    """

    def to_db_value(self, value: Any, instance: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            value = unicodedata.normalize("NFC", value)
            if hasattr(instance, "_saved_in_db"):  # an instance, not the model class
                setattr(instance, self.model_field_name, value)
        return super().to_db_value(value, instance)


@dataclass(frozen=True)
class ForeignKeyRef:
    """A declared foreign key, turned into a Tortoise relation by the model metaclass.

    `to` is a model class, `"app.Model"`, `"table.column"` or `"table"`.
    """

    to: Any
    related_name: str | None = None
    on_delete: OnDelete = OnDelete.CASCADE
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def table_reference(self) -> tuple[str, str | None] | None:
        """`("users", "id")` for `"users.id"`, None for a class or an `"app.Model"` reference."""
        if not isinstance(self.to, str):
            return None
        table, _, column = self.to.partition(".")
        if column and column[:1].isupper():
            return None  # "models.User"
        return table, column or None


class TimeField(fields.TimeField):
    """Tortoise's TimeField, read back as a `time` on every database.

    MySQL and MariaDB return TIME columns as a `timedelta` (TIME is a duration there), and
    store no fractions of a second unless asked: `TIME(6)` keeps microseconds like the others.
    """

    skip_to_python_if_native = False  # MySQL's native TIME value is a timedelta: convert it

    class _db_mysql:
        SQL_TYPE = "TIME(6)"

    def to_python_value(self, value: Any) -> Any:
        if isinstance(value, dt.timedelta):
            # A time of day is stored as 00:00:00 <= value < 24:00:00.
            value = (dt.datetime.min + value).time()
        return super().to_python_value(value)


class Field:
    """Column declarations in the guide's vocabulary (`Field.string(max_length=200)`).

    Each returns a Tortoise field typed `Any`, so `title: Mapped[str] = Field.string()`
    type-checks the way the guide writes it.
    """

    @staticmethod
    def pk(big: bool = False, **kwargs: Any) -> Any:
        """Auto-incrementing integer primary key (`big=True` for BIGINT)."""
        cls = fields.BigIntField if big else fields.IntField
        return cls(primary_key=True, **tortoise_options(kwargs))

    @staticmethod
    def string(max_length: int = 255, **kwargs: Any) -> Any:
        """VARCHAR; with `unique=True` stored in Unicode NFC (`NormalizedCharField`)."""
        options = tortoise_options(kwargs)
        cls = NormalizedCharField if options.get("unique") else fields.CharField
        return cls(max_length=max_length, **options)

    @staticmethod
    def text(**kwargs: Any) -> Any:
        return fields.TextField(**tortoise_options(kwargs))

    @staticmethod
    def integer(**kwargs: Any) -> Any:
        return fields.IntField(**tortoise_options(kwargs))

    @staticmethod
    def big_integer(**kwargs: Any) -> Any:
        return fields.BigIntField(**tortoise_options(kwargs))

    @staticmethod
    def small_integer(**kwargs: Any) -> Any:
        return fields.SmallIntField(**tortoise_options(kwargs))

    @staticmethod
    def float_(**kwargs: Any) -> Any:
        return fields.FloatField(**tortoise_options(kwargs))

    @staticmethod
    def decimal(precision: int = 10, scale: int = 2, **kwargs: Any) -> Any:
        return fields.DecimalField(
            max_digits=precision, decimal_places=scale, **tortoise_options(kwargs)
        )

    @staticmethod
    def boolean(**kwargs: Any) -> Any:
        return fields.BooleanField(**tortoise_options(kwargs))

    @staticmethod
    def datetime(auto_now: bool = False, auto_now_add: bool = False, **kwargs: Any) -> Any:
        return fields.DatetimeField(
            auto_now=auto_now, auto_now_add=auto_now_add, **tortoise_options(kwargs)
        )

    @staticmethod
    def date(**kwargs: Any) -> Any:
        return fields.DateField(**tortoise_options(kwargs))

    @staticmethod
    def time(**kwargs: Any) -> Any:
        return TimeField(**tortoise_options(kwargs))

    @staticmethod
    def json(**kwargs: Any) -> Any:
        return fields.JSONField(**tortoise_options(kwargs))

    @staticmethod
    def uuid(**kwargs: Any) -> Any:
        """A UUID column; `Field.uuid(primary_key=True)` defaults to `uuid4()` like Tortoise."""
        opts = tortoise_options(kwargs)
        if opts.get("primary_key") and "default" not in opts:
            opts["default"] = uuid.uuid4
        return fields.UUIDField(**opts)

    @staticmethod
    def foreign_key(
        to: Any,
        related_name: str | None = None,
        on_delete: str | OnDelete = OnDelete.CASCADE,
        **kwargs: Any,
    ) -> Any:
        """A foreign key to a model class, `"app.Model"` or `"table.column"` (the guide's form).

        Declared as `author_id = Field.foreign_key("users.id")`, the model gets the relation
        `author` whose column is `author_id`.
        """
        try:
            action = _ON_DELETE[on_delete] if isinstance(on_delete, str) else on_delete
        except KeyError:
            choices = ", ".join(sorted(m.name for m in OnDelete))
            raise ImproperlyConfigured(f"on_delete={on_delete!r} is not one of {choices}") from None
        return ForeignKeyRef(to=to, related_name=related_name, on_delete=action, options=kwargs)
