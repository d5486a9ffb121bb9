"""`GenericViewSet`: the model, schemas, queryset, object lookup, filtering and pagination.

The CRUD behaviour itself lives in `mixins.py`; `viewsets.py` composes the two.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, create_model
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from core.adapters.tortoise import queryset_orderings
from core.config import get_settings
from core.models import Model
from core.views.base import View
from core.views.errors import NotFound, field_error, unique_message
from core.views.filters import (
    MAX_FILTER_VALUES,
    ORDERING_PARAM,
    SEARCH_PARAM,
    FilterParam,
    apply_filters,
    apply_search,
    check_columns,
    filter_params,
    ordering_terms,
    reject_unknown_params,
)
from core.views.pagination import (
    DEFAULT_PAGINATION,
    BasePagination,
    PageRequest,
    import_pagination,
    page_request,
)
from core.views.plan import NO_FAST_PATHS, RoutePlan
from core.views.serialization import OutputSerializer


class GenericViewSet(View):
    """A ViewSet with no actions of its own: add mixins or `@action` methods."""

    model: ClassVar[type[Model]]
    input_schema: ClassVar[type[BaseModel] | None] = None
    output_schema: ClassVar[type[BaseModel] | None] = None

    #: The model field that identifies an object in the URL; None means the primary key.
    lookup_field: ClassVar[str | None] = None
    #: Fields checked for duplicates before create/update (a 400 naming the field).
    unique_fields: ClassVar[list[str]] = []
    #: IsOwner's field holding the owner's id; create sets it to the user's id when unset.
    owner_field: ClassVar[str | None] = None

    page_size: ClassVar[int | None] = 20
    max_page_size: ClassVar[int] = 100
    #: A `BasePagination` subclass, or None for a plain list; unset: DEFAULT_PAGINATION_CLASS.
    pagination_class: ClassVar[Any] = DEFAULT_PAGINATION
    filterset_fields: ClassVar[list[str] | dict[str, list[str]]] = []
    #: The most comma-separated values an `in` filter takes (`?status__in=a,b`).
    max_filter_values: ClassVar[int] = MAX_FILTER_VALUES
    search_fields: ClassVar[list[str]] = []
    ordering_fields: ClassVar[list[str]] = []
    ordering: ClassVar[list[str] | str | None] = None

    #: List and retrieve read plain rows straight to JSON when they can (docs: Fast paths);
    #: False always builds model instances.
    read_rows: ClassVar[bool] = True
    #: On SQLite, create sends its INSERT, the response and the COMMIT in one trip when it can
    #: (docs: Fast paths); False always saves, then commits when the action returns.
    one_trip_create: ClassVar[bool] = True

    #: The fast paths of the route serving this request, decided when the route was built.
    plan: RoutePlan = NO_FAST_PATHS

    #: Typed query parameter values of the list action, as FastAPI parsed them.
    query: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.query = {}

    # Schemas --------------------------------------------------------------------------

    @classmethod
    def get_lookup_field(cls) -> str:
        return cls.lookup_field or cls.model._meta.pk_attr

    @classmethod
    def get_partial_input_schema(cls) -> type[BaseModel] | None:
        """The input schema with every field optional, for PATCH."""
        return _partial_schema(cls.input_schema) if cls.input_schema is not None else None

    @classmethod
    def get_output_serializer(cls) -> OutputSerializer | None:
        if cls.output_schema is None:
            return None
        return _serializer(cls.output_schema, getattr(cls, "model", None))

    # Queryset and lookup --------------------------------------------------------------

    def get_queryset(self, db: BaseDBAsyncClient) -> Any:
        """The rows every action works on; override to scope them (may be async)."""
        return self.model.objects.using(db)

    async def resolve_queryset(self, db: BaseDBAsyncClient) -> QuerySet[Any]:
        queryset = self.get_queryset(db)
        if inspect.iscoroutine(
            queryset
        ):  # an `async def get_queryset` (a QuerySet is awaitable too)
            queryset = await queryset
        return queryset

    async def get_object(self, db: BaseDBAsyncClient, **kwargs: Any) -> Any:
        """The object named by the URL within `get_queryset`, object permissions checked; else 404."""
        field = self.get_lookup_field()
        value = kwargs.get(field, self.kwargs.get(field))
        if value is None:
            raise NotFound()
        queryset = await self.resolve_queryset(db)
        obj = await queryset.get_or_none(**{field: value})
        if obj is None:
            raise NotFound()
        await self.check_object_permissions(self.request, obj)
        return obj

    # Uniqueness -----------------------------------------------------------------------

    async def check_unique_fields(
        self, data: dict[str, Any], db: BaseDBAsyncClient, instance: Any = None
    ) -> None:
        """A 422 naming the first `unique_fields` entry whose value another row already has."""
        for name in self.unique_fields:
            if name not in data or data[name] is None:
                continue
            queryset = self.model.objects.using(db).filter(**{name: data[name]})
            if instance is not None:
                queryset = queryset.exclude(pk=instance.pk)
            if await queryset.exists():
                raise field_error(name, unique_message(self.model.__name__, name), "unique")

    # Filtering and pagination ---------------------------------------------------------

    @classmethod
    def get_filter_params(cls) -> list[FilterParam]:
        return _filter_params(cls)  # type: ignore[arg-type]

    @classmethod
    def allowed_query_params(cls) -> frozenset[str]:
        names = {param.name for param in cls.get_filter_params()}
        pagination = cls.get_pagination_class()
        if pagination is not None:
            names.update(pagination.query_params)
        if cls.search_fields:
            names.add(SEARCH_PARAM)
        if cls.ordering_fields:
            names.add(ORDERING_PARAM)
        return frozenset(names)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Apply the declared filters, search and ordering from the query string."""
        reject_unknown_params(self.request.query_params.keys(), self.allowed_query_params())
        queryset = apply_filters(queryset, self.get_filter_params(), self.query)
        queryset = apply_search(queryset, self.search_fields, self.query.get(SEARCH_PARAM))
        terms = ordering_terms(self.query.get(ORDERING_PARAM), self.ordering_fields)
        if not terms:
            default = self.ordering
            terms = [default] if isinstance(default, str) else list(default or [])
        if not terms and not queryset_orderings(queryset):
            terms = [self.model._meta.pk_attr]  # stable pages
        return queryset.order_by(*terms) if terms else queryset

    @classmethod
    def get_pagination_class(cls) -> type[BasePagination] | None:
        """The view's `pagination_class`; None (a plain list) also when `page_size` is None."""
        if not cls.page_size:
            return None
        if cls.pagination_class is DEFAULT_PAGINATION:
            return _default_pagination()
        return cls.pagination_class

    def get_page_request(self) -> PageRequest | None:
        if not self.page_size:
            return None
        return page_request(
            self.query.get("page"), self.query.get("page_size"), self.page_size, self.max_page_size
        )


@cache
def _partial_schema(schema: type[BaseModel]) -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (info.annotation, None) for name, info in schema.model_fields.items()
    }
    return create_model(
        f"Patched{schema.__name__}", __base__=schema, __module__=schema.__module__, **fields
    )


@cache
def _serializer(schema: type[BaseModel], model: type[Model] | None) -> OutputSerializer:
    return OutputSerializer(schema, model)


@cache
def _default_pagination() -> type[BasePagination] | None:
    """DEFAULT_PAGINATION_CLASS, read once: routes and requests then always agree."""
    return import_pagination(get_settings().default_pagination_class)


@cache
def _filter_params(view: Any) -> list[FilterParam]:
    """A view's filter parameters, its search and ordering fields checked once."""
    check_columns(view.model, view.search_fields)
    check_columns(view.model, view.ordering_fields)
    return filter_params(view.model, view.filterset_fields, view.max_filter_values)
