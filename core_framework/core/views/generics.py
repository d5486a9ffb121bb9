"""`GenericViewSet`: the model, schemas, queryset, object lookup, filtering and pagination.

The CRUD behaviour itself lives in `mixins.py`; `viewsets.py` composes the two. Filtering
and pagination are policies: `filter_backends` and `pagination_class`, as in DRF.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, create_model
from starlette.responses import Response
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet

from core.adapters.tortoise import queryset_orderings
from core.config import get_settings
from core.models import Model
from core.views.base import View
from core.views.errors import NotFound, field_error, unique_message
from core.views.filters import (
    DEFAULT_FILTER_BACKENDS,
    MAX_FILTER_VALUES,
    BaseFilterBackend,
    FilterParam,
    filter_backend_instances,
    filter_params,
    import_filter_backends,
    query_parameter,
    reject_unknown_params,
)
from core.views.nested import (
    NO_LOADING,
    EagerLoading,
    ManyToManyInput,
    eager_loading,
    many_to_many_inputs,
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
    #: `BaseFilterBackend` classes applied in order; unset: DEFAULT_FILTER_BACKENDS.
    filter_backends: ClassVar[Sequence[Any]] = DEFAULT_FILTER_BACKENDS
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
        self._paginator: BasePagination | None = None

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

    @classmethod
    def get_eager_loading(cls) -> EagerLoading:
        """The relations the output schema nests (`author: AuthorOutput`, `tags: list[...]`),
        as the `select_related`/`prefetch_related` that load them; checked once, at route build."""
        model = getattr(cls, "model", None)
        if cls.output_schema is None or model is None:
            return NO_LOADING
        return eager_loading(cls.output_schema, model, f"{cls.__name__}.output_schema")

    @classmethod
    def get_many_to_many_inputs(cls) -> tuple[ManyToManyInput, ...]:
        """The input schema's `<name>_ids` fields that set a many-to-many (`tag_ids` -> `tags`)."""
        model = getattr(cls, "model", None)
        if cls.input_schema is None or model is None:
            return ()
        return many_to_many_inputs(cls.input_schema, model)

    async def load_related(self, objs: list[Any], db: BaseDBAsyncClient) -> None:
        """Load the output schema's nested relations onto objects fetched without them."""
        await self.get_eager_loading().load(objs, db)

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

    # Filtering ------------------------------------------------------------------------

    @classmethod
    def get_filter_params(cls) -> list[FilterParam]:
        """The parameters `filterset_fields` declares (checked and built once per class)."""
        return _filter_params(cls)  # type: ignore[arg-type]

    @classmethod
    def get_filter_backends(cls) -> tuple[BaseFilterBackend, ...]:
        """Instances of `filter_backends` (DEFAULT_FILTER_BACKENDS when unset), made once."""
        return _filter_backends(cls)  # type: ignore[arg-type]

    @classmethod
    def get_query_params(cls) -> list[inspect.Parameter]:
        """The list's typed query parameters: the paginator's, then each filter backend's."""
        return _query_params(cls)  # type: ignore[arg-type]

    @classmethod
    def allowed_query_params(cls) -> frozenset[str]:
        return _allowed_query_params(cls)  # type: ignore[arg-type]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Each filter backend in turn, after refusing undeclared query parameters (a 400).

        Rows nothing has ordered are ordered by primary key, so pages are stable.
        """
        reject_unknown_params(self.request.query_params.keys(), self.allowed_query_params())
        for backend in self.get_filter_backends():
            queryset = backend.filter_queryset(self.request, queryset, self)
        if not queryset_orderings(queryset):
            queryset = queryset.order_by(self.model._meta.pk_attr)
        return queryset

    # Pagination -----------------------------------------------------------------------

    @classmethod
    def get_pagination_class(cls) -> type[BasePagination] | None:
        """The view's `pagination_class`; None (a plain list) also when `page_size` is None."""
        if not cls.page_size:
            return None
        if cls.pagination_class is DEFAULT_PAGINATION:
            return _default_pagination()
        return cls.pagination_class

    @property
    def paginator(self) -> BasePagination | None:
        """This request's instance of the pagination class, or None (not paginated)."""
        if self._paginator is None:
            pagination = self.get_pagination_class()
            self._paginator = pagination() if pagination is not None else None
        return self._paginator

    async def paginate_queryset(self, queryset: QuerySet[Any]) -> Sequence[Any] | None:
        """The rows of the page asked for, or None when the list is not paginated."""
        if self.paginator is None:
            return None
        return await self.paginator.paginate_queryset(queryset, self.request, self)

    def get_paginated_response(self, data: bytes) -> Response:
        """The page's envelope around the already-encoded `data` (a JSON array)."""
        assert self.paginator is not None
        return self.paginator.get_paginated_response(data)

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
    return filter_params(view.model, view.filterset_fields, view.max_filter_values)


@cache
def _default_filter_backends() -> tuple[BaseFilterBackend, ...]:
    """DEFAULT_FILTER_BACKENDS, read once: routes and requests then always agree."""
    return import_filter_backends(get_settings().default_filter_backends)


@cache
def _filter_backends(view: Any) -> tuple[BaseFilterBackend, ...]:
    if view.filter_backends is DEFAULT_FILTER_BACKENDS:
        return _default_filter_backends()
    return filter_backend_instances(view.filter_backends)


@cache
def _query_params(view: Any) -> list[inspect.Parameter]:
    pagination = view.get_pagination_class()
    params = [
        query_parameter(
            name,
            query.get("annotation", int),
            **{key: value for key, value in query.items() if key != "annotation"},
        )
        for name, query in (pagination.query_params if pagination is not None else {}).items()
    ]
    for backend in view.get_filter_backends():
        params.extend(backend.get_query_params(view))
    return params


@cache
def _allowed_query_params(view: Any) -> frozenset[str]:
    return frozenset(param.name for param in view.get_query_params())
