"""Views: APIView, the ViewSets, `@action`, pagination classes and filter backends."""

from __future__ import annotations

from core.views.base import APIView, View
from core.views.concurrency import (
    OptimisticConcurrencyMixin,
    PreconditionFailed,
    PreconditionRequired,
)
from core.views.decorators import action
from core.views.errors import (
    BadRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    field_error,
)
from core.views.filters import BaseFilterBackend, FilterSetBackend, OrderingFilter, SearchFilter
from core.views.generics import GenericViewSet
from core.views.mixins import (
    CreateModelMixin,
    DestroyModelMixin,
    ListModelMixin,
    RetrieveModelMixin,
    UpdateModelMixin,
)
from core.views.pagination import (
    BasePagination,
    CursorPagination,
    LimitOffsetPagination,
    PageNumberPagination,
)
from core.views.viewsets import ModelViewSet, ReadOnlyModelViewSet, ViewSet

__all__ = [
    "APIView",
    "BadRequest",
    "BaseFilterBackend",
    "BasePagination",
    "CreateModelMixin",
    "CursorPagination",
    "DestroyModelMixin",
    "FilterSetBackend",
    "GenericViewSet",
    "LimitOffsetPagination",
    "ListModelMixin",
    "ModelViewSet",
    "NotAuthenticated",
    "NotFound",
    "OptimisticConcurrencyMixin",
    "OrderingFilter",
    "PageNumberPagination",
    "PermissionDenied",
    "PreconditionFailed",
    "PreconditionRequired",
    "ReadOnlyModelViewSet",
    "RetrieveModelMixin",
    "SearchFilter",
    "UpdateModelMixin",
    "ValidationFailed",
    "View",
    "ViewSet",
    "action",
    "field_error",
]
