"""Filtering, search and ordering from query parameters, limited to what the view declares.

`filterset_fields = ["is_published"]` (exact matches) or `{"views_count": ["gte", "lte"]}`
(`?views_count__gte=10`); `search_fields = ["title"]` (`?search=python`, case-insensitive);
`ordering_fields = ["created_at"]` (`?ordering=-created_at`), `ordering` the default.
`in` and `range` take comma-separated values (`?status__in=a,b`, `?views_count__range=1,9`),
each typed from the column, at most `max_filter_values` of them. A declared
`{"author__email": ["exact"]}` follows foreign keys. A parameter the view did not declare is
a 400 naming it.

Each of the three is a filter backend class (DRF's `filter_backends`): `SearchFilter`,
`OrderingFilter` and `FilterSetBackend`, the default list (`DEFAULT_FILTER_BACKENDS`). A
backend names the typed query parameters it reads (OpenAPI documents them, and together with
the paginator's they are the only ones the list accepts) and narrows or orders the queryset.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Protocol

from fastapi import Query, Request
from pydantic import Field, TypeAdapter, ValidationError, WithJsonSchema
from tortoise.expressions import Q
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.models import Model as TortoiseModel
from tortoise.queryset import QuerySet

from core.config import import_setting
from core.datetime import timezone
from core.exceptions import ImproperlyConfigured
from core.schemas import UNSTORABLE_TEXT_MESSAGE, is_storable_text
from core.views.errors import field_error


class FilteredView(Protocol):
    """What a filter backend reads of its ViewSet (`GenericViewSet` has all of it)."""

    model: ClassVar[Any]
    search_fields: ClassVar[list[str]]
    ordering_fields: ClassVar[list[str]]
    ordering: ClassVar[list[str] | str | None]
    query: dict[str, Any]

    @classmethod
    def get_filter_params(cls) -> list[FilterParam]: ...


#: Query parameters of the default (page number) pagination.
PAGINATION_PARAMS = ("page", "page_size")
SEARCH_PARAM = "search"
ORDERING_PARAM = "ordering"
_LOOKUPS = {
    "exact",
    "iexact",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "isnull",
    "in",
    "range",
}
#: Lookups whose query value is a comma-separated list, each item typed from the column.
LIST_LOOKUPS = frozenset({"in", "range"})
#: The default bound on the number of `in` values (`GenericViewSet.max_filter_values`).
MAX_FILTER_VALUES = 100
_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    Decimal: "decimal",
    dt.datetime: "date-time",
    dt.date: "date",
    dt.time: "time",
    uuid.UUID: "UUID",
}
_FILTERABLE_TYPES = (bool, int, float, str, Decimal, dt.datetime, dt.date, dt.time, uuid.UUID)


#: The largest value of each integer column type, for typed bounds on ids and filters.
INTEGER_LIMITS = {"SmallIntField": 2**15 - 1, "IntField": 2**31 - 1, "BigIntField": 2**63 - 1}


def integer_bounds(field: Any) -> dict[str, int]:
    """`{"ge": ..., "le": ...}` for an integer column (BIGINT's range when unknown)."""
    limit = INTEGER_LIMITS.get(type(field).__name__, 2**63 - 1)
    return {"ge": -limit - 1, "le": limit}


@dataclass(frozen=True)
class FilterParam:
    """One accepted query parameter: `views_count__gte` filters `views_count` with `gte`."""

    name: str
    field: str
    lookup: str
    annotation: Any
    constraints: dict[str, Any]
    #: For `in`/`range`: how each comma-separated item is typed, and the allowed item counts.
    items: TypeAdapter[Any] | None = None
    item_type: Any = None
    counts: tuple[int, int] = (1, 1)
    description: str | None = None

    @property
    def orm_lookup(self) -> str:
        return self.field if self.lookup == "exact" else f"{self.field}__{self.lookup}"


def _related_model(model: type[TortoiseModel], name: str) -> type[TortoiseModel]:
    """The model a foreign key `name` of `model` points to (before or after ORM start)."""
    relation = model._meta.fields_map.get(name)
    if not isinstance(relation, ForeignKeyFieldInstance):
        raise ImproperlyConfigured(f"{model.__name__}.{name} is not a foreign key to filter across")
    target = getattr(relation, "related_model", None)
    if target is None and inspect.isclass(relation.model_name):
        target = relation.model_name
    if target is None:
        raise ImproperlyConfigured(
            f"{model.__name__}.{name}: give the foreign key a model class (not a name) "
            "to filter across it before the ORM starts"
        )
    return target


def _column(model: type[TortoiseModel], path: str) -> tuple[type[TortoiseModel], str]:
    """The model and column `author__email` names, following each foreign key."""
    *relations, name = path.split("__")
    for relation in relations:
        model = _related_model(model, relation)
    return model, name


def _field_type(model: type[TortoiseModel], name: str) -> Any:
    """The Python type of column `name`; a foreign key's `x_id` column works before ORM start."""
    field = model._meta.fields_map.get(name)
    relation = (
        model._meta.fields_map.get(name.removesuffix("_id")) if name.endswith("_id") else None
    )
    if field is None and isinstance(relation, ForeignKeyFieldInstance):
        # `author_id` appears when the ORM starts; until then, type it from the target key.
        target = getattr(relation, "to_field_instance", None)
        return getattr(target, "field_type", int)
    if field is None or name not in model._meta.fields_db_projection:
        raise ImproperlyConfigured(
            f"{model.__name__} has no column {name!r} to filter, search or order on"
        )
    python_type = getattr(field, "field_type", None)
    if python_type not in _FILTERABLE_TYPES:
        raise ImproperlyConfigured(
            f"{model.__name__}.{name} cannot be filtered from a query string"
        )
    return python_type


def filter_params(
    model: type[TortoiseModel], declared: Any, max_values: int = MAX_FILTER_VALUES
) -> list[FilterParam]:
    """The accepted filter parameters of `filterset_fields` (a list, or a dict of lookups)."""
    if not declared:
        return []
    spec = (
        {name: ["exact"] for name in declared} if isinstance(declared, list | tuple) else declared
    )
    params = []
    for name, lookups in spec.items():
        owner, column = _column(model, name)
        python_type = _field_type(owner, column)
        field = owner._meta.fields_map.get(column)
        for lookup in lookups:
            if lookup not in _LOOKUPS:
                raise ImproperlyConfigured(f"unknown filter lookup {lookup!r} on {name!r}")
            annotation = bool if lookup == "isnull" else python_type
            constraints: dict[str, Any] = {}
            if annotation is int:
                constraints = integer_bounds(field)
            elif annotation is str:
                constraints = {"max_length": getattr(field, "max_length", None) or 1000}
            param_name = name if lookup == "exact" else f"{name}__{lookup}"
            if lookup in LIST_LOOKUPS:
                params.append(
                    _list_param(param_name, name, lookup, annotation, constraints, max_values)
                )
            else:
                params.append(FilterParam(param_name, name, lookup, annotation, constraints))
    return params


def _list_param(
    param_name: str,
    name: str,
    lookup: str,
    item_type: Any,
    constraints: dict[str, Any],
    max_values: int,
) -> FilterParam:
    """An `in`/`range` parameter: a string in the query, a typed list once parsed."""
    counts = (2, 2) if lookup == "range" else (1, max_values)
    kind = _TYPE_NAMES.get(item_type, "string")
    description = (
        f"Two comma-separated {kind} values, the inclusive bounds: low,high."
        if lookup == "range"
        else f"Comma-separated {kind} values (at most {max_values}); matches any of them."
    )
    items: TypeAdapter[Any] = TypeAdapter(Annotated[item_type, Field(**constraints)])
    return FilterParam(param_name, name, lookup, str, {}, items, item_type, counts, description)


def parse_list(param: FilterParam, raw: str) -> list[Any]:
    """`a,b,c` typed item by item; a bad item or count is a 422 naming the parameter."""
    assert param.items is not None
    low, high = param.counts
    parts = raw.split(",", high)
    if not low <= len(parts) <= high:
        expected = f"exactly {low}" if low == high else f"at most {high}"
        raise field_error(
            param.name, f"Expected {expected} comma-separated values.", "value_count", "query"
        )
    values = []
    for part in parts:
        try:
            item = part if param.item_type is str else part.strip()
            value = param.items.validate_python(item)
        except ValidationError as error:
            message = error.errors()[0]["msg"]
            raise field_error(param.name, f"{part!r}: {message}", "value_error", "query") from None
        # A naive datetime means the project's zone (as in Django), when datetimes are aware.
        naive = isinstance(value, dt.datetime) and not timezone.is_aware(value)
        if naive and timezone.is_aware(timezone.now()):
            value = timezone.make_aware(value)
        values.append(value)
    return values


def check_columns(model: type[TortoiseModel], names: list[str] | tuple[str, ...]) -> None:
    """Search and ordering fields must be the model's own columns (no relation traversal)."""
    for name in names:
        _field_type(model, name.lstrip("-"))


def query_parameter(name: str, annotation: Any, **query: Any) -> inspect.Parameter:
    """An optional, typed query parameter of the list endpoint (`fastapi.Query` keywords)."""
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=annotation | None,
        default=Query(None, **query),
    )


def ordering_choices(fields: list[str] | tuple[str, ...]) -> list[str]:
    """What `?ordering=` documents: each allowed field, then each with `-` (descending)."""
    names = [name.lstrip("-") for name in fields]
    return [*names, *(f"-{name}" for name in names)]


def reject_unknown_params(query_keys: Any, allowed: frozenset[str]) -> None:
    for key in query_keys:
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise field_error(
                key, f"Unknown query parameter {key!r}. Allowed: {known}.", "unknown", "query"
            )


def _check_storable(name: str, value: Any) -> None:
    """A NUL is a 422 on every database (PostgreSQL refuses it in text, SQLite matched it)."""
    if isinstance(value, str) and not is_storable_text(value):
        raise field_error(name, UNSTORABLE_TEXT_MESSAGE, "string_unstorable", "query")


def apply_filters(
    queryset: QuerySet[Any], filters: list[FilterParam], values: dict[str, Any]
) -> QuerySet[Any]:
    lookups: dict[str, Any] = {}
    for param in filters:
        value = values.get(param.name)
        if value is None:
            continue
        _check_storable(param.name, value)
        lookups[param.orm_lookup] = parse_list(param, value) if param.items else value
    return queryset.filter(**lookups) if lookups else queryset


def apply_search(
    queryset: QuerySet[Any], fields: list[str] | tuple[str, ...], term: str | None
) -> QuerySet[Any]:
    """Every whitespace-separated term must match at least one field (DRF's SearchFilter)."""
    if not term or not fields:
        return queryset
    _check_storable(SEARCH_PARAM, term)
    for word in term.split():
        condition = Q(*(Q(**{f"{field}__icontains": word}) for field in fields), join_type="OR")
        queryset = queryset.filter(condition)
    return queryset


def ordering_terms(value: str | None, allowed: list[str] | tuple[str, ...]) -> list[str]:
    """The validated `?ordering=` terms; an undeclared field is a 422 naming it."""
    if not value:
        return []
    terms = [term.strip() for term in value.split(",") if term.strip()]
    for term in terms:
        if term.lstrip("-") not in allowed:
            raise field_error(
                ORDERING_PARAM,
                f"Cannot order by {term.lstrip('-')!r}. Allowed: {', '.join(allowed) or 'none'}.",
                "ordering",
                "query",
            )
    return terms


# Filter backends (DRF's `filter_backends`) ----------------------------------------------


class BaseFilterBackend:
    """One step of the list action's filtering: the query parameters it reads, and what it
    does to the queryset with their values (`view.query`, typed by FastAPI)."""

    def get_query_params(self, view: type[FilteredView]) -> list[inspect.Parameter]:
        """The typed query parameters this backend reads for `view` (see `query_parameter`).

        Called once, when the routes are built: OpenAPI documents them, and with the
        paginator's they are the only query parameters the list accepts (others are a 400).
        """
        return []

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: FilteredView
    ) -> QuerySet[Any]:
        """The queryset narrowed or ordered by this request's parameters."""
        raise NotImplementedError


class SearchFilter(BaseFilterBackend):
    """`?search=`: every whitespace-separated term matches one of `search_fields` (icontains)."""

    def get_query_params(self, view: type[FilteredView]) -> list[inspect.Parameter]:
        if not view.search_fields:
            return []
        check_columns(view.model, view.search_fields)
        return [query_parameter(SEARCH_PARAM, str, max_length=200, description="A search term.")]

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: FilteredView
    ) -> QuerySet[Any]:
        return apply_search(queryset, view.search_fields, view.query.get(SEARCH_PARAM))


class OrderingFilter(BaseFilterBackend):
    """`?ordering=-year,title` within `ordering_fields`; else the view's `ordering`."""

    def get_query_params(self, view: type[FilteredView]) -> list[inspect.Parameter]:
        if not view.ordering_fields:
            return []
        check_columns(view.model, view.ordering_fields)
        # Documented as one of the allowed terms (an enum a generated client can offer); the
        # server also takes several, comma-separated (`-views_count,id`).
        schema = {"type": "string", "enum": ordering_choices(view.ordering_fields)}
        description = "A field to order by, `-` first for descending; several comma-separated."
        return [
            query_parameter(
                ORDERING_PARAM,
                Annotated[str, WithJsonSchema(schema)],
                max_length=200,
                description=description,
            )
        ]

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: FilteredView
    ) -> QuerySet[Any]:
        terms = ordering_terms(view.query.get(ORDERING_PARAM), view.ordering_fields)
        if not terms:
            default = view.ordering
            terms = [default] if isinstance(default, str) else list(default or [])
        return queryset.order_by(*terms) if terms else queryset


class FilterSetBackend(BaseFilterBackend):
    """`filterset_fields`: `?year=1965`, `?year__gte=1980`, `?year__in=1965,1984`, ..."""

    def get_query_params(self, view: type[FilteredView]) -> list[inspect.Parameter]:
        return [
            query_parameter(
                param.name, param.annotation, description=param.description, **param.constraints
            )
            for param in view.get_filter_params()
        ]

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: FilteredView
    ) -> QuerySet[Any]:
        return apply_filters(queryset, view.get_filter_params(), view.query)


#: `filter_backends` left unset: the DEFAULT_FILTER_BACKENDS setting decides.
DEFAULT_FILTER_BACKENDS: Any = object()


def filter_backend_instances(backends: Sequence[Any]) -> tuple[BaseFilterBackend, ...]:
    """Instances for a `filter_backends` list of classes (instances are used as they are)."""
    instances = tuple(backend() if isinstance(backend, type) else backend for backend in backends)
    for backend in instances:
        if not isinstance(backend, BaseFilterBackend):
            raise ImproperlyConfigured(f"{backend!r} is not a filter backend (BaseFilterBackend)")
    return instances


def import_filter_backends(paths: Sequence[str]) -> tuple[BaseFilterBackend, ...]:
    """`DEFAULT_FILTER_BACKENDS` (dotted paths) as backend instances."""
    return filter_backend_instances(
        [import_setting("DEFAULT_FILTER_BACKENDS", path) for path in paths]
    )
