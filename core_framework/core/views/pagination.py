"""Page-number pagination with DRF's envelope: count, next, previous, results."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.datastructures import URL

from core.views.errors import NotFound


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
    head = json.dumps({"count": count, "next": next_url, "previous": previous_url})
    return head[:-1].encode() + b', "results": ' + results + b"}"
