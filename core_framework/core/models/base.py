"""`Model`: a Tortoise model that also speaks the guide's dialect (`__tablename__`, `objects`)."""

from __future__ import annotations

import copy
from typing import Any, Generic, TypeVar, cast

from tortoise import exceptions
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.models import Model as TortoiseModel
from tortoise.models import ModelMeta as TortoiseModelMeta
from tortoise.queryset import QuerySet as TortoiseQuerySet

from core.adapters.tortoise import bind_queryset
from core.models.fields import ForeignKeyRef, tortoise_options
from core.models.queryset import QuerySetManager
from core.models.registry import PENDING_APP, declare, reference_table, register_model

M = TypeVar("M", bound=TortoiseModel)


class Manager(Generic[M]):
    """`Model.objects`: `using(db)` binds a query to the request's connection."""

    __slots__ = ("model",)

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def using(self, db: BaseDBAsyncClient | None) -> TortoiseQuerySet[M]:
        """A query on `db` (None: the default connection), ready to chain and await."""
        queryset = self.model._meta.manager.get_queryset()
        if db is not None:
            bind_queryset(queryset, db)  # a fresh query: bind it in place instead of copying it
        return queryset

    def get_queryset(self) -> TortoiseQuerySet[M]:
        return self.model._meta.manager.get_queryset()

    def __getattr__(self, name: str) -> Any:
        # Model.objects.filter(...) without using(): the default connection.
        return getattr(self.get_queryset(), name)


class _ManagerDescriptor:
    """Gives each model class its own `Manager` (instances have no `objects`, as in Django)."""

    def __get__(self, instance: object, owner: type[TortoiseModel]) -> Manager[Any]:
        if instance is not None:
            raise AttributeError("Manager isn't accessible via model instances")
        manager = owner.__dict__.get("_core_manager")
        if manager is None or manager.model is not owner:
            manager = Manager(owner)
            type.__setattr__(owner, "_core_manager", manager)
        return manager


class ModelMeta(TortoiseModelMeta):
    """Maps `__tablename__` to `Meta.table` and `x_id = Field.foreign_key(...)` to relation `x`."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> ModelMeta:
        table = attrs.get("__tablename__")
        meta = attrs.get("Meta")
        if meta is None:
            meta = attrs["Meta"] = type("Meta", (), {})
        if table:
            setattr(meta, "table", table)  # noqa: B010 - Meta is a plain user class
        if not hasattr(meta, "manager"):
            setattr(meta, "manager", QuerySetManager())  # noqa: B010
        attrs.setdefault("DoesNotExist", _model_exception("DoesNotExist", bases, name, attrs))
        attrs.setdefault(
            "MultipleObjectsReturned",
            _model_exception("MultipleObjectsReturned", bases, name, attrs),
        )

        _copy_abstract_fields(attrs, bases, table or name.lower())

        pending: list[tuple[ForeignKeyFieldInstance, tuple[str, str | None]]] = []
        for attr, value in list(attrs.items()):
            if isinstance(value, ForeignKeyRef):
                del attrs[attr]
                relation = attr.removesuffix("_id") if attr.endswith("_id") else attr
                fk, table_ref = _build_foreign_key(value, default_related_name=table)
                declare(fk, attr, value.to)  # for an error naming what the user wrote
                attrs[relation] = fk
                if table_ref is not None:
                    pending.append((fk, table_ref))

        cls = cast("type[TortoiseModel]", super().__new__(mcs, name, bases, attrs))
        for fk, (target_table, column) in pending:
            reference_table(fk, target_table, column)
        if not cls._meta.abstract:
            register_model(cls)
        return cast(ModelMeta, cls)


def _copy_abstract_fields(attrs: dict[str, Any], bases: tuple[type, ...], table: str) -> None:
    """Give a model its own copy of each field inherited from an abstract base.

    Tortoise shares those field objects between subclasses, so two concrete models of one
    abstract base (say, two user models) would overwrite each other's relations. A
    relation's `related_name` and `through` may name the model's table as `{table}`.
    """
    for base in bases:
        meta = getattr(base, "_meta", None)
        if meta is None or not meta.abstract:
            continue
        for key, field in meta.fields_map.items():
            if key in attrs:
                continue
            field = copy.copy(field)
            for attr in ("related_name", "through"):
                value = getattr(field, attr, None)
                if isinstance(value, str) and "{table}" in value:
                    setattr(field, attr, value.replace("{table}", table))
            attrs[key] = field


def _model_exception(
    kind: str, bases: tuple[type, ...], model_name: str, attrs: dict[str, Any]
) -> type[Exception]:
    """`Post.DoesNotExist`: a subclass of every base model's (and Tortoise's) exception."""
    parents = tuple(getattr(base, kind) for base in bases if hasattr(base, kind))
    if not parents:
        parents = (getattr(exceptions, kind),)
    return type(
        kind,
        parents,
        {"__qualname__": f"{model_name}.{kind}", "__module__": attrs.get("__module__")},
    )


def _build_foreign_key(
    ref: ForeignKeyRef, default_related_name: str | None
) -> tuple[ForeignKeyFieldInstance, tuple[str, str | None] | None]:
    table_ref = ref.table_reference
    target = f"{PENDING_APP}.{table_ref[0]}" if table_ref else ref.to
    fk: ForeignKeyFieldInstance = ForeignKeyFieldInstance(
        target,
        related_name=ref.related_name or default_related_name,
        on_delete=ref.on_delete,
        **tortoise_options(ref.options),
    )
    return fk, table_ref


class Model(TortoiseModel, metaclass=ModelMeta):
    """Base class for project models; a real Tortoise model with the guide's instance API."""

    objects: Any = _ManagerDescriptor()

    class Meta:
        abstract = True

    async def refresh(self, db: BaseDBAsyncClient | None = None) -> None:
        """Reload every field from the database."""
        await self.refresh_from_db(using_db=db)

    def to_dict(self, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
        """Column values by field name (foreign keys as `author_id`), like Django's model_to_dict."""
        return {
            name: getattr(self, name, None)
            for name in self._meta.fields_db_projection
            if name not in exclude
        }
