"""Filtering, search and ordering from query parameters, limited to what the view declares.

`filterset_fields = ["is_published"]` (exact matches) or `{"views_count": ["gte", "lte"]}`
(`?views_count__gte=10`); `search_fields = ["title"]` (`?search=python`, case-insensitive);
`ordering_fields = ["created_at"]` (`?ordering=-created_at`), `ordering` the default.
A parameter the view did not declare is a 400 naming it.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import Query
from tortoise.expressions import Q
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.models import Model as TortoiseModel
from tortoise.queryset import QuerySet

from core.exceptions import ImproperlyConfigured
from core.schemas import UNSTORABLE_TEXT_MESSAGE, is_storable_text
from core.views.errors import field_error

#: Query parameters the list action understands besides declared filters.
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

    @property
    def orm_lookup(self) -> str:
        return self.field if self.lookup == "exact" else f"{self.field}__{self.lookup}"


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


def filter_params(model: type[TortoiseModel], declared: Any) -> list[FilterParam]:
    """The accepted filter parameters of `filterset_fields` (a list, or a dict of lookups)."""
    if not declared:
        return []
    spec = (
        {name: ["exact"] for name in declared} if isinstance(declared, list | tuple) else declared
    )
    params = []
    for name, lookups in spec.items():
        python_type = _field_type(model, name)
        field = model._meta.fields_map.get(name)
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
            params.append(FilterParam(param_name, name, lookup, annotation, constraints))
    return params


def check_columns(model: type[TortoiseModel], names: list[str] | tuple[str, ...]) -> None:
    """Search and ordering fields must be the model's own columns (no relation traversal)."""
    for name in names:
        _field_type(model, name.lstrip("-"))


def query_signature(
    filters: list[FilterParam], searchable: bool, orderable: bool, paginated: bool
) -> list[inspect.Parameter]:
    """Typed query parameters for the list endpoint, so OpenAPI documents each one."""
    params = []

    def add(name: str, annotation: Any, **query: Any) -> None:
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation | None,
                default=Query(None, **query),
            )
        )

    if paginated:
        add("page", int, ge=1, description="A page number within the paginated result set.")
        add("page_size", int, ge=1, description="Number of results to return per page.")
    if searchable:
        add(SEARCH_PARAM, str, max_length=200, description="A search term.")
    if orderable:
        add(ORDERING_PARAM, str, max_length=200, description="Fields to order by, e.g. -id.")
    for param in filters:
        add(param.name, param.annotation, **param.constraints)
    return params


def reject_unknown_params(query_keys: Any, allowed: frozenset[str]) -> None:
    for key in query_keys:
        if key not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise field_error(
                key, f"Unknown query parameter {key!r}. Allowed: {known}.", "unknown", "query"
            )


def _check_storable(name: str, value: Any) -> None:
    """A NUL is a 400 on every database (PostgreSQL refuses it in text, SQLite matched it)."""
    if isinstance(value, str) and not is_storable_text(value):
        raise field_error(name, UNSTORABLE_TEXT_MESSAGE, "string_unstorable", "query")


def apply_filters(
    queryset: QuerySet[Any], filters: list[FilterParam], values: dict[str, Any]
) -> QuerySet[Any]:
    lookups = {p.orm_lookup: values[p.name] for p in filters if values.get(p.name) is not None}
    for param in filters:
        _check_storable(param.name, values.get(param.name))
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
    """The validated `?ordering=` terms; an undeclared field is a 400 naming it."""
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
