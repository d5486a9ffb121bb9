"""Pagination classes as in DRF, all with its envelope: count, next, previous, results.

A ViewSet's `pagination_class` picks one: `PageNumberPagination` (`?page=`, the default, from
the `DEFAULT_PAGINATION_CLASS` setting), `LimitOffsetPagination` (`?limit=&offset=`), or
`None` for a plain list.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import Request
from starlette.datastructures import URL
from starlette.responses import Response

from core.exceptions import ImproperlyConfigured
from core.models.rows import count_rows
from core.views.errors import NotFound, field_error
from core.views.serialization import JSONBytesResponse


@dataclass(frozen=True)
class PageRequest:
    """The page asked for, with `page_size` already capped at the view's `max_page_size`."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_request(
    page: int | None, page_size: int | None, default: int, maximum: int
) -> PageRequest:
    size = min(page_size or default, maximum)
    return PageRequest(number=page or 1, size=max(size, 1))


def check_page_exists(page: PageRequest, count: int) -> None:
    """Page 1 always exists (even empty); later pages must hold at least one row (DRF)."""
    if page.number > 1 and page.offset >= count:
        raise NotFound("Invalid page.")


def page_links(url: URL, page: PageRequest, count: int) -> tuple[str | None, str | None]:
    """Absolute URLs of the next and previous pages, keeping every other query parameter."""
    next_url = None
    if page.offset + page.size < count:
        next_url = str(url.include_query_params(page=page.number + 1))
    previous_url = None
    if page.number > 1:
        previous = url.include_query_params(page=page.number - 1)
        previous_url = str(previous.remove_query_params("page") if page.number == 2 else previous)
    return next_url, previous_url


def envelope(count: int, next_url: str | None, previous_url: str | None, results: bytes) -> bytes:
    """`{"count":..,"next":..,"previous":..,"results":[..]}` around already-encoded results."""
    head = json.dumps(
        {"count": count, "next": next_url, "previous": previous_url}, separators=(",", ":")
    )  # compact, like every other body
    return head[:-1].encode() + b',"results":' + results + b"}"


#: `pagination_class` left unset: the DEFAULT_PAGINATION_CLASS setting decides.
DEFAULT_PAGINATION: Any = object()

#: The largest OFFSET every database accepts (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1


class BasePagination:
    """How the list action pages its rows (DRF's `pagination_class`); the envelope is the same
    `{"count", "next", "previous", "results"}` for every class here."""

    #: Query parameters: name -> `fastapi.Query` keyword arguments (all typed `int`).
    query_params: ClassVar[dict[str, dict[str, Any]]] = {}

    async def paginate(self, view: Any, request: Request, queryset: Any) -> Response:
        raise NotImplementedError


class PageNumberPagination(BasePagination):
    """`?page=&page_size=`: the view's `page_size` (capped at `max_page_size`); the default."""

    query_params: ClassVar[dict[str, dict[str, Any]]] = {
        "page": {"ge": 1, "description": "A page number within the paginated result set."},
        "page_size": {"ge": 1, "description": "Number of results to return per page."},
    }

    async def paginate(self, view: Any, request: Request, queryset: Any) -> Response:
        page = page_request(
            view.query.get("page"), view.query.get("page_size"), view.page_size, view.max_page_size
        )
        count = await count_rows(queryset)
        check_page_exists(page, count)
        rows = await view.fetch_rows(queryset.offset(page.offset).limit(page.size))
        next_url, previous_url = page_links(request.url, page, count)
        results = view.get_output_serializer().dump_many(rows)
        return JSONBytesResponse(envelope(count, next_url, previous_url, results))


class LimitOffsetPagination(BasePagination):
    """`?limit=&offset=` (DRF's): `limit` defaults to the view's `page_size` and is capped at
    `max_page_size`; an offset past the end is an empty page, not an error."""

    query_params: ClassVar[dict[str, dict[str, Any]]] = {
        "limit": {"description": "Number of results to return per page (at least 1)."},
        "offset": {"description": "The initial index from which to return the results (>= 0)."},
    }

    async def paginate(self, view: Any, request: Request, queryset: Any) -> Response:
        limit, offset = view.query.get("limit"), view.query.get("offset") or 0
        if limit is not None and limit < 1:
            raise field_error("limit", "Ensure this value is at least 1.", "limit", "query")
        if not 0 <= offset <= MAX_OFFSET:
            message = f"Ensure this value is between 0 and {MAX_OFFSET}."
            raise field_error("offset", message, "offset", "query")
        limit = min(limit or view.page_size, view.max_page_size)
        count = await count_rows(queryset)
        rows = (
            [] if offset >= count else await view.fetch_rows(queryset.offset(offset).limit(limit))
        )
        url = request.url
        next_url = None
        if offset + limit < count:
            next_url = str(url.include_query_params(limit=limit, offset=offset + limit))
        previous_url = None
        if offset > 0:
            if offset - limit <= 0:
                previous_url = str(
                    url.include_query_params(limit=limit).remove_query_params("offset")
                )
            else:
                previous_url = str(url.include_query_params(limit=limit, offset=offset - limit))
        results = view.get_output_serializer().dump_many(rows)
        return JSONBytesResponse(envelope(count, next_url, previous_url, results))


def import_pagination(path: str | None) -> type[BasePagination] | None:
    """`DEFAULT_PAGINATION_CLASS` (a dotted path, or empty for plain lists) as a class."""
    if not path:
        return None
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImproperlyConfigured(f"DEFAULT_PAGINATION_CLASS: cannot import {path!r}") from exc
    if not (isinstance(found, type) and issubclass(found, BasePagination)):
        raise ImproperlyConfigured(f"DEFAULT_PAGINATION_CLASS: {path!r} is not a pagination class")
    return found
