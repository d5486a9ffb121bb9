"""ViewSets composed from the generic base and the CRUD mixins, as in DRF's `viewsets.py`."""

from __future__ import annotations

from core.views.generics import GenericViewSet
from core.views.mixins import (
    CreateModelMixin,
    DestroyModelMixin,
    ListModelMixin,
    RetrieveModelMixin,
    UpdateModelMixin,
)


class ViewSet(GenericViewSet):
    """No CRUD: only the `@action` methods you write."""


class ReadOnlyModelViewSet(ListModelMixin, RetrieveModelMixin, GenericViewSet):
    """list and retrieve."""


class ModelViewSet(
    ListModelMixin,
    CreateModelMixin,
    RetrieveModelMixin,
    UpdateModelMixin,
    DestroyModelMixin,
    GenericViewSet,
):
    """list, create, retrieve, update, partial_update and destroy."""
