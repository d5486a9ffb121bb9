"""Relations in schemas: nested output checked against the model, its eager loading, and ids in.

An output schema field typed as another schema (`author: AuthorOutput`, optionally `| None`)
reads a foreign key (or one-to-one); one typed as a list of schemas (`tags: list[TagOutput]`)
reads a reverse foreign key or a many-to-many. `eager_loading` walks the schema once, when the
routes are built, checks each relation (and each nested schema's fields) against the models,
and derives the `select_related`/`prefetch_related` paths that load a whole page in a fixed
number of queries. `many_to_many_inputs` finds the `tag_ids: list[int]` fields of an input
schema that set a many-to-many.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.relational import (
    BackwardFKRelation,
    BackwardOneToOneRelation,
    ForeignKeyFieldInstance,
    ManyToManyFieldInstance,
    RelationalField,
)
from tortoise.models import Model
from tortoise.queryset import QuerySet

from core.adapters.tortoise import loads_relations, queryset_db, queryset_prefetches
from core.exceptions import ImproperlyConfigured
from core.models.registry import registered_models
from core.models.rows import convert_rows, read_rows

#: What a relation is, seen from the model that has it.
Kind = Literal["fk", "o2o", "reverse_fk", "reverse_o2o", "m2m"]
_MANY: frozenset[str] = frozenset({"reverse_fk", "m2m"})


@dataclass(frozen=True)
class EagerLoading:
    """The relations an output schema reads, as `select_related` and `prefetch_related` paths.

    Foreign keys reached only through foreign keys are joined (`select_related`); the rest
    (reverse foreign keys, many-to-many, and anything under them) is prefetched, a query or
    two per relation, whatever the number of rows.
    """

    select: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.select or self.prefetch)

    def apply(self, queryset: Any) -> Any:
        """`queryset` with the loading added (a queryset's own prefetches are kept)."""
        if not self or not isinstance(queryset, QuerySet):
            return queryset
        if self.select:
            queryset = queryset.select_related(*self.select)
        if self.prefetch:
            # `prefetch_related` replaces the paths the queryset had: pass them again. A
            # relation the queryset prefetches with its own `Prefetch(...)` is left to it.
            paths, custom = queryset_prefetches(queryset)
            ours = [path for path in self.prefetch if path.partition("__")[0] not in custom]
            queryset = queryset.prefetch_related(*paths, *ours)
        return queryset

    async def load(self, objs: Sequence[Model], db: BaseDBAsyncClient | None) -> None:
        """Load the relations onto objects already fetched (one query per relation)."""
        if self and objs:
            await type(objs[0]).fetch_for_list(objs, *self.select, *self.prefetch, using_db=db)


NO_LOADING = EagerLoading()


@dataclass(frozen=True)
class RowRelation:
    """One relation of `NestedRows`: its attribute, kind, target and the columns read."""

    attribute: str
    kind: Kind
    target: type[Model]
    columns: tuple[str, ...]


_PARENT = "nested_parent_"  # the alias a to-many row carries its parent's key under


@dataclass(frozen=True)
class NestedRows:
    """A list page of a schema nesting relations of plain columns, read as rows (no instances).

    Foreign keys are joined into the page's `SELECT` (`.values("author__name", ...)`); each
    reverse foreign key or many-to-many is one `.values()` query for the whole page. Deeper
    nesting, aliases, properties and reverse one-to-ones read model instances instead.
    """

    columns: tuple[str, ...]
    relations: tuple[RowRelation, ...]

    @staticmethod
    def can_read(queryset: QuerySet[Any]) -> bool:
        """Not when `get_queryset` loads relations itself (say a narrowed `Prefetch`)."""
        return not loads_relations(queryset)

    async def read(self, queryset: QuerySet[Any]) -> list[dict[str, Any]]:
        """The page's rows, each relation nested under its attribute (None for a null key)."""
        model = queryset.model
        pk = model._meta.pk_attr
        joined = [r for r in self.relations if r.kind not in _MANY]
        selected = [*self.columns, pk]
        for relation in joined:
            names = _target_columns(relation)
            selected += [f"{relation.attribute}__{name}" for name in names]
        rows = await read_rows(queryset, tuple(dict.fromkeys(selected)))
        for relation in joined:
            names = _target_columns(relation)
            target_pk = relation.target._meta.pk_attr
            prefix = relation.attribute + "__"
            present = []
            for row in rows:
                sub = {name: row.pop(prefix + name) for name in names}
                if sub[target_pk] is None:
                    row[relation.attribute] = None
                else:
                    row[relation.attribute] = sub
                    present.append(sub)
            convert_rows(relation.target, names, present)
        if rows:
            keys = [row[pk] for row in rows]
            for relation in self.relations:
                if relation.kind in _MANY:
                    await self._read_many(queryset, relation, rows, keys, pk)
        return rows

    @staticmethod
    async def _read_many(
        queryset: QuerySet[Any],
        relation: RowRelation,
        rows: list[dict[str, Any]],
        keys: list[Any],
        pk: str,
    ) -> None:
        field = queryset.model._meta.fields_map[relation.attribute]
        if relation.kind == "reverse_fk":
            back = cast(BackwardFKRelation[Any], field).relation_field
        else:  # many-to-many, either side: the target's relation back, then its key
            back = f"{cast(ManyToManyFieldInstance[Any], field).related_name}__{pk}"
        names = _target_columns(relation)
        found = await (
            relation.target.filter(**{f"{back}__in": keys})
            .using_db(queryset_db(queryset))
            .order_by(relation.target._meta.pk_attr)
            .values(*names, **{_PARENT: back})
        )
        convert_rows(relation.target, names, found)
        groups: dict[Any, list[dict[str, Any]]] = {key: [] for key in keys}
        for item in found:
            groups[item.pop(_PARENT)].append(item)
        for row in rows:
            row[relation.attribute] = groups[row[pk]]


def _target_columns(relation: RowRelation) -> tuple[str, ...]:
    """The columns read of the relation's target: its primary key first, then the schema's."""
    return tuple(dict.fromkeys((relation.target._meta.pk_attr, *relation.columns)))


def _row_column(model: type[Model], name: str) -> bool:
    """A column `.values()` can read: a field's column or a foreign key's `<name>_id`."""
    meta = model._meta
    if name in meta.fields_db_projection:
        return True
    return name.endswith("_id") and name[:-3] in (meta.fk_fields | meta.o2o_fields)


def _plain_columns(schema: type[BaseModel], model: type[Model]) -> tuple[str, ...] | None:
    """The schema's fields when all are row columns of `model` (no aliases), else None."""
    names = []
    for name, info in schema.model_fields.items():
        if info.alias or info.validation_alias or not _row_column(model, name):
            return None
        names.append(name)
    return tuple(names)


@cache
def nested_rows(schema: type[BaseModel], model: type[Model]) -> NestedRows | None:
    """How to read `schema` as rows when it nests relations one level deep, else None."""
    columns: list[str] = []
    relations: list[RowRelation] = []
    for name, info in schema.model_fields.items():
        if info.alias or info.validation_alias:
            return None
        found = nested_schema(info.annotation)
        kind_target = relation(model, name) if found is not None else None
        if found is None or kind_target is None:
            if not _row_column(model, name):
                return None
            columns.append(name)
            continue
        kind, target = kind_target
        sub_columns = _plain_columns(found[0], target) if target is not None else None
        if kind == "reverse_o2o" or target is None or sub_columns is None:
            return None
        if any(relation(target, sub) is not None for sub in sub_columns):
            return None  # a nested schema naming a relation: two levels deep
        relations.append(RowRelation(name, kind, target, sub_columns))
    return NestedRows(tuple(columns), tuple(relations)) if relations else None


@dataclass(frozen=True)
class ManyToManyInput:
    """An input field of ids (`tag_ids`) that sets the many-to-many `relation` (`tags`)."""

    field: str
    relation: str
    target: type[Model]


def nested_schema(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """`(schema, many)` when `annotation` is a schema, an optional one or a list of them."""
    annotation = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) != 1:
            return None
        annotation = _unwrap(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) in (list, Sequence, Iterable, tuple, set, frozenset):
        items = get_args(annotation)
        if not items or (len(items) == 2 and items[1] is not Ellipsis) or len(items) > 2:
            return None
        item = _unwrap(items[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, True
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _attribute(name: str, info: FieldInfo) -> str:
    """The attribute pydantic reads for the field (its alias when it has one)."""
    for alias in (info.validation_alias, info.alias):
        if isinstance(alias, str):
            return alias
    return name


def _named_model(reference: Any) -> type[Model] | None:
    """The model a relation points at: a class, or `"app.Model"` looked up by class name."""
    if isinstance(reference, type):
        return reference
    if not isinstance(reference, str):
        return None
    name = reference.rpartition(".")[2]
    found = [model for model in registered_models() if model.__name__ == name]
    return found[0] if len(found) == 1 else None


def _target(field: RelationalField[Any]) -> type[Model] | None:
    return field.related_model or _named_model(getattr(field, "model_name", None))


def relation(model: type[Model], name: str) -> tuple[Kind, type[Model] | None] | None:
    """What `model.<name>` is when it is a relation (its kind and target model), else None.

    Works before the ORM starts too, when reverse relations don't exist yet: they are then
    found from the foreign keys and many-to-many fields of the other models.
    """
    field = model._meta.fields_map.get(name)
    if isinstance(field, BackwardOneToOneRelation):
        return "reverse_o2o", field.related_model
    if isinstance(field, BackwardFKRelation):
        return "reverse_fk", field.related_model
    if isinstance(field, ForeignKeyFieldInstance):
        return ("o2o" if name in model._meta.o2o_fields else "fk"), _target(field)
    if isinstance(field, ManyToManyFieldInstance):
        return "m2m", _target(field)
    if field is not None or model._meta._inited:
        return None
    for other in registered_models():
        meta = other._meta
        for field_name in (*meta.fk_fields, *meta.o2o_fields, *meta.m2m_fields):
            forward = cast(RelationalField[Any], meta.fields_map[field_name])
            related_name = getattr(forward, "related_name", None)
            if related_name is False or _target(forward) is not model:
                continue
            if (related_name or f"{meta.db_table}s") == name:
                if field_name in meta.m2m_fields:
                    return "m2m", other
                return ("reverse_o2o" if field_name in meta.o2o_fields else "reverse_fk"), other
    return None


def _is_column(model: type[Model], name: str) -> bool:
    """A column, a foreign key's `<name>_id`, or anything the model class defines."""
    return _row_column(model, name) or name in model._meta.fields_map or hasattr(model, name)


def _paths(
    schema: type[BaseModel],
    model: type[Model],
    prefix: str,
    under_many: bool,
    select: list[str],
    prefetch: list[str],
    where: str,
    nested: bool,
) -> bool:
    """Collect the loading paths of `schema` read from `model`; True if any path is many."""
    any_many = False
    for name, info in schema.model_fields.items():
        attribute = _attribute(name, info)
        found = nested_schema(info.annotation)
        kind_target = relation(model, attribute)
        if found is None or kind_target is None:
            if found is not None and not _is_column(model, attribute):
                raise ImproperlyConfigured(
                    f"{where}: {schema.__name__}.{name} is typed as {found[0].__name__}, "
                    f"but {model.__name__} has no relation {attribute!r}"
                )
            if nested and not _is_column(model, attribute) and info.is_required():
                raise ImproperlyConfigured(
                    f"{where}: {schema.__name__}.{name} (nested) is not a field of {model.__name__}"
                )
            continue
        sub_schema, many = found
        kind, target = kind_target
        if many != (kind in _MANY):
            expected = "a list of schemas" if kind in _MANY else "a schema (not a list)"
            raise ImproperlyConfigured(
                f"{where}: {schema.__name__}.{name} reads {model.__name__}.{attribute}, "
                f"a {kind.replace('_', ' ')} relation: type it as {expected}"
            )
        if target is None:
            raise ImproperlyConfigured(
                f"{where}: {schema.__name__}.{name}: the model {model.__name__}.{attribute} "
                "points at is not defined"
            )
        path = prefix + attribute
        child_select: list[str] = []
        child_prefetch: list[str] = []
        child_many = _paths(
            sub_schema,
            target,
            path + "__",
            under_many or many,
            child_select,
            child_prefetch,
            where,
            nested=True,
        )
        if under_many or many or child_many:
            prefetch.append(path)
            prefetch.extend(child_select + child_prefetch)
            any_many = True
        else:
            select.append(path)
            select.extend(child_select)
    return any_many


@cache
def eager_loading(schema: type[BaseModel], model: type[Model], owner: str) -> EagerLoading:
    """The loading `schema` needs when read from `model`; `owner` names it in errors.

    Raises `ImproperlyConfigured` naming the schema, field and model when a field typed as a
    schema is not a relation of the model, is a list for a single relation (or the other way
    round), or a nested schema requires a field its model doesn't have.
    """
    select: list[str] = []
    prefetch: list[str] = []
    _paths(schema, model, "", False, select, prefetch, owner, nested=False)
    if not select and not prefetch:
        return NO_LOADING
    return EagerLoading(tuple(dict.fromkeys(select)), tuple(dict.fromkeys(prefetch)))


@cache
def many_to_many_inputs(schema: type[BaseModel], model: type[Model]) -> tuple[ManyToManyInput, ...]:
    """The input fields `<name>_ids` naming a many-to-many `<name>s` (or `<name>`) of `model`."""
    found = []
    for name in schema.model_fields:
        if not name.endswith("_ids") or name in model._meta.fields_map:
            continue
        base = name[:-4]
        for candidate in (f"{base}s", base):
            kind_target = relation(model, candidate)
            if kind_target is not None and kind_target[0] == "m2m" and kind_target[1] is not None:
                found.append(ManyToManyInput(name, candidate, kind_target[1]))
                break
    return tuple(found)
