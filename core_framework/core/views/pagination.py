"""Pagination classes as in DRF, with its envelopes: count, next, previous, results.

A ViewSet's `pagination_class` picks one: `PageNumberPagination` (`?page=`, the default, from
the `DEFAULT_PAGINATION_CLASS` setting), `LimitOffsetPagination` (`?limit=&offset=`),
`CursorPagination` (`?cursor=`: next, previous, results, no count), or `None` for a plain list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from fastapi import Request
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model
from starlette.datastructures import URL
from starlette.responses import Response
from tortoise.expressions import Q
from tortoise.fields.relational import RelationalField

from core.adapters.tortoise import queryset_orderings
from core.config import get_settings, import_setting
from core.exceptions import ImproperlyConfigured
from core.models.rows import count_rows, read_rows, rows_readable
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


@cache
def page_model(schema: type[BaseModel]) -> type[BaseModel]:
    """`{"count", "next", "previous", "results": [schema]}` for the docs (all four always sent)."""
    return create_model(
        f"Paginated{schema.__name__}",
        count=(int, ...),
        next=(str | None, ...),
        previous=(str | None, ...),
        results=(list[schema], ...),  # type: ignore[valid-type]
    )


@cache
def cursor_page_model(schema: type[BaseModel]) -> type[BaseModel]:
    """`{"next", "previous", "results": [schema]}`: the cursor envelope (DRF's, no count)."""
    return create_model(
        f"CursorPaginated{schema.__name__}",
        next=(str | None, ...),
        previous=(str | None, ...),
        results=(list[schema], ...),  # type: ignore[valid-type]
    )


class BasePagination:
    """How the list action pages its rows (DRF's `pagination_class`).

    An instance serves one request: `paginate_queryset` reads the page's rows and remembers the
    count and links, `get_paginated_response` wraps the encoded rows in the envelope.
    """

    #: Query parameters: name -> `fastapi.Query` keyword arguments; typed `int` unless an
    #: `annotation` entry says otherwise.
    query_params: ClassVar[dict[str, dict[str, Any]]] = {}

    count: int = 0
    next_url: str | None = None
    previous_url: str | None = None

    @classmethod
    def response_schema(cls, schema: type[BaseModel]) -> type[BaseModel]:
        """The documented envelope around a list of `schema`."""
        return page_model(schema)

    @classmethod
    def check_view(cls, view: Any) -> None:
        """Refuse, when the routes are built, a view this class cannot page."""

    async def paginate_queryset(self, queryset: Any, request: Request, view: Any) -> Sequence[Any]:
        """The rows of the page the request asks for (read with `view.fetch_rows`)."""
        raise NotImplementedError

    def get_paginated_response(self, data: bytes) -> Response:
        """The envelope around `data`, the page's rows already encoded as a JSON array."""
        return JSONBytesResponse(envelope(self.count, self.next_url, self.previous_url, data))


class PageNumberPagination(BasePagination):
    """`?page=&page_size=`: the view's `page_size` (capped at `max_page_size`); the default."""

    query_params: ClassVar[dict[str, dict[str, Any]]] = {
        "page": {"ge": 1, "description": "A page number within the paginated result set."},
        "page_size": {"ge": 1, "description": "Number of results to return per page."},
    }

    async def paginate_queryset(self, queryset: Any, request: Request, view: Any) -> Sequence[Any]:
        page = page_request(
            view.query.get("page"), view.query.get("page_size"), view.page_size, view.max_page_size
        )
        if page.offset > MAX_OFFSET:  # past any table's end; no database takes that OFFSET
            raise NotFound("Invalid page.")
        found = await _read_page(view, queryset, page.offset, page.size)
        if found is not None:  # one statement; empty: page 1 of no rows, or past the end
            rows, count = found
            self.count = count if count is not None else 0
            check_page_exists(page, self.count)
        else:
            self.count = await count_rows(queryset)
            check_page_exists(page, self.count)
            rows = await view.fetch_rows(queryset.offset(page.offset).limit(page.size))
        self.next_url, self.previous_url = page_links(request.url, page, self.count)
        return rows


class LimitOffsetPagination(BasePagination):
    """`?limit=&offset=` (DRF's): `limit` defaults to the view's `page_size` and is capped at
    `max_page_size`; an offset past the end is an empty page, not an error."""

    query_params: ClassVar[dict[str, dict[str, Any]]] = {
        "limit": {"description": "Number of results to return per page (at least 1)."},
        "offset": {"description": "The initial index from which to return the results (>= 0)."},
    }

    async def paginate_queryset(self, queryset: Any, request: Request, view: Any) -> Sequence[Any]:
        limit, offset = view.query.get("limit"), view.query.get("offset") or 0
        if limit is not None and limit < 1:
            raise field_error("limit", "Ensure this value is at least 1.", "limit", "query")
        if not 0 <= offset <= MAX_OFFSET:
            message = f"Ensure this value is between 0 and {MAX_OFFSET}."
            raise field_error("offset", message, "offset", "query")
        limit = min(limit or view.page_size, view.max_page_size)
        found = await _read_page(view, queryset, offset, limit)
        if found is not None:  # one statement, and a COUNT only for an empty page past row 0
            rows, total = found
            if total is None:
                total = await count_rows(queryset) if offset else 0
        else:
            total = await count_rows(queryset)
            rows = (
                []
                if offset >= total
                else await view.fetch_rows(queryset.offset(offset).limit(limit))
            )
        self.count = count = total
        url = request.url
        if offset + limit < count:
            self.next_url = str(url.include_query_params(limit=limit, offset=offset + limit))
        if offset > 0:
            if offset - limit <= 0:
                self.previous_url = str(
                    url.include_query_params(limit=limit).remove_query_params("offset")
                )
            else:
                self.previous_url = str(
                    url.include_query_params(limit=limit, offset=offset - limit)
                )
        return rows


#: The longest `?cursor=` decoded; anything longer is refused before any work.
MAX_CURSOR_LENGTH = 2000
_CURSOR_MAC_SIZE = 16
_INVALID_CURSOR = "Invalid cursor."


@dataclass(frozen=True)
class OrderTerm:
    """One column of a cursor's ordering, its direction, and how its values are typed."""

    field: str
    descending: bool
    adapter: TypeAdapter[Any]

    def reversed(self) -> OrderTerm:
        return OrderTerm(self.field, not self.descending, self.adapter)

    @property
    def term(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True)
class Cursor:
    """A position between rows: the ordering values of a row, the direction of travel, and
    whether that row itself is included (only for links out of an empty page)."""

    position: tuple[Any, ...]
    reverse: bool = False
    inclusive: bool = False


@cache
def _adapter(python_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(python_type)


def _cursor_key() -> bytes:
    """The HMAC key of cursors, derived from SECRET_KEY (a cursor is only ever read back)."""
    secret = get_settings().secret_key.encode()
    return hashlib.sha256(b"core.views.pagination.CursorPagination\0" + secret).digest()


def _mac(terms: Sequence[OrderTerm], payload: bytes) -> bytes:
    ordering = ",".join(term.term for term in terms).encode()
    return hmac.new(_cursor_key(), ordering + b"\0" + payload, "sha256").digest()[:_CURSOR_MAC_SIZE]


def encode_cursor(cursor: Cursor, terms: Sequence[OrderTerm]) -> str:
    """URL-safe base64 of a signed JSON payload; the signature also covers the ordering."""
    values = [
        term.adapter.dump_python(value, mode="json")
        for term, value in zip(terms, cursor.position, strict=True)
    ]
    body: dict[str, Any] = {"p": values}
    if cursor.reverse:
        body["r"] = 1
    if cursor.inclusive:
        body["i"] = 1
    payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    token = base64.urlsafe_b64encode(_mac(terms, payload) + payload)
    return token.rstrip(b"=").decode("ascii")


def decode_cursor(raw: str, terms: Sequence[OrderTerm]) -> Cursor:
    """The cursor `encode_cursor` made for this ordering; anything else is a 400."""
    try:
        if len(raw) > MAX_CURSOR_LENGTH:
            raise ValueError
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        mac, payload = data[:_CURSOR_MAC_SIZE], data[_CURSOR_MAC_SIZE:]
        if not hmac.compare_digest(mac, _mac(terms, payload)):
            raise ValueError
        body = json.loads(payload)
        values = body["p"]
        if not (isinstance(values, list) and len(values) == len(terms)):
            raise ValueError
        if set(body) - {"p", "r", "i"} or body.get("r", 1) != 1 or body.get("i", 1) != 1:
            raise ValueError
        position = tuple(
            term.adapter.validate_python(value) for term, value in zip(terms, values, strict=True)
        )
        if any(value is None for value in position):
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, ValidationError):
        raise field_error("cursor", _INVALID_CURSOR, "cursor_invalid", "query") from None
    return Cursor(position, reverse="r" in body, inclusive="i" in body)


def _beyond(terms: Sequence[OrderTerm], cursor: Cursor) -> Q:
    """Rows after `cursor.position` in the order of `terms` (row-value comparison, spelled
    out so every database runs it): a > x, or a = x and b > y, ... (>= on the last term when
    inclusive). The first column's bound is repeated alone so an index range can start there."""
    alternatives = []
    for index, term in enumerate(terms):
        operator = "lt" if term.descending else "gt"
        if cursor.inclusive and index == len(terms) - 1:
            operator += "e"
        condition = {t.field: v for t, v in zip(terms[:index], cursor.position, strict=False)}
        condition[f"{term.field}__{operator}"] = cursor.position[index]
        alternatives.append(Q(**condition))
    beyond = Q(*alternatives, join_type="OR") if len(alternatives) > 1 else alternatives[0]
    if len(terms) > 1:
        first = terms[0]
        bound = {f"{first.field}__{'lte' if first.descending else 'gte'}": cursor.position[0]}
        beyond = Q(Q(**bound), beyond, join_type="AND")
    return beyond


class CursorPagination(BasePagination):
    """`?cursor=` (DRF's): an opaque, signed position in the ordering, tie-broken by the primary
    key. No COUNT and no OFFSET: a page costs the same at any depth, and rows inserted
    between requests neither repeat nor skip rows. The envelope is next, previous, results."""

    #: The ordering (`"-created_at"` or a list); None follows the view's: `?ordering=` within
    #: `ordering_fields`, else its `ordering`, else `get_queryset`'s, else the primary key.
    #: The primary key is always appended as the tie-breaker. Columns must be NOT NULL.
    ordering: ClassVar[str | Sequence[str] | None] = None

    query_params: ClassVar[dict[str, dict[str, Any]]] = {
        "cursor": {"annotation": str, "description": "The pagination cursor value."},
        "page_size": {"ge": 1, "description": "Number of results to return per page."},
    }

    @classmethod
    def response_schema(cls, schema: type[BaseModel]) -> type[BaseModel]:
        return cursor_page_model(schema)

    @classmethod
    def check_view(cls, view: Any) -> None:
        """Every column the cursor may order by must be a NOT NULL column of the model."""
        model = view.model
        if cls.ordering is not None:
            names = _ordering_names(cls.ordering)
        else:
            names = _ordering_names(view.ordering) + list(view.ordering_fields)
        for name in names:
            order_term(model, name.lstrip("-"), False)

    def get_ordering(self, view: Any, queryset: Any) -> list[OrderTerm]:
        """The cursor's columns: `ordering`, else the queryset's, then the primary key."""
        model = view.model
        if self.ordering is not None:
            if view.query.get("ordering"):
                message = "This list's order is fixed by its pagination class."
                raise field_error("ordering", message, "ordering", "query")
            names = _ordering_names(self.ordering)
            pairs = [(name.lstrip("-"), name.startswith("-")) for name in names]
        else:
            pairs = [
                (field, order.value == "DESC") for field, order in queryset_orderings(queryset)
            ]
        pk = model._meta.pk_attr
        terms: list[OrderTerm] = []
        for field, descending in pairs:
            field = pk if field == "pk" else field
            if all(term.field != field for term in terms):
                terms.append(order_term(model, field, descending))
            if field == pk:
                break  # the primary key is unique: later columns never decide
        if not terms or terms[-1].field != pk:
            descending = terms[-1].descending if terms else False
            terms.append(order_term(model, pk, descending))
        return terms

    async def paginate_queryset(self, queryset: Any, request: Request, view: Any) -> Sequence[Any]:
        size = max(min(view.query.get("page_size") or view.page_size, view.max_page_size), 1)
        terms = self.get_ordering(view, queryset)
        raw = view.query.get("cursor")
        cursor = decode_cursor(raw, terms) if raw else None
        reverse = cursor is not None and cursor.reverse
        travel = [term.reversed() for term in terms] if reverse else terms
        query = queryset.order_by(*(term.term for term in travel))
        if cursor is not None:
            query = query.filter(_beyond(travel, cursor))
        rows = list(await _fetch(view, query.limit(size + 1), [term.field for term in terms]))
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        has_next = (not reverse and more) or reverse
        has_previous = (reverse and more) or (not reverse and cursor is not None)

        def link(position: tuple[Any, ...] | None, backwards: bool) -> str:
            """A link from `position`, or from the cursor's own position (included) when None."""
            inclusive = position is None
            if position is None:
                assert cursor is not None  # only an empty page after a cursor links from it
                position = cursor.position
            token = encode_cursor(Cursor(position, backwards, inclusive), terms)
            return str(request.url.include_query_params(cursor=token))

        first = _position(rows[0], terms) if rows else None
        last = _position(rows[-1], terms) if rows else None
        self.next_url = link(last, False) if has_next else None
        self.previous_url = link(first, True) if has_previous else None
        if not rows and cursor is not None:
            # An empty page (its rows were deleted): links lead back to the rows around it.
            self.next_url = link(None, False) if reverse else None
            self.previous_url = None if reverse else link(None, True)
        return rows

    def get_paginated_response(self, data: bytes) -> Response:
        """`{"next", "previous", "results"}`: no count, which would cost a COUNT(*)."""
        head = json.dumps({"next": self.next_url, "previous": self.previous_url})
        return JSONBytesResponse(head[:-1].encode() + b', "results": ' + data + b"}")


def _ordering_names(ordering: str | Sequence[str] | None) -> list[str]:
    """An `ordering` (`"-created_at"`, a list, or None) as a list of names."""
    return [ordering] if isinstance(ordering, str) else list(ordering or [])


def order_term(model: Any, name: str, descending: bool) -> OrderTerm:
    """A cursor column: a NOT NULL column of the model itself, with a JSON-able value."""
    field = model._meta.fields_map.get(name)
    if (
        field is None
        or isinstance(field, RelationalField)
        or name not in model._meta.fields_db_projection
    ):
        raise ImproperlyConfigured(
            f"CursorPagination: {model.__name__} has no column {name!r} to order by"
        )
    if field.null:
        raise ImproperlyConfigured(
            f"CursorPagination: {model.__name__}.{name} is nullable; a cursor orders by "
            "NOT NULL columns only"
        )
    return OrderTerm(name, descending, _adapter(field.field_type))


def _position(row: Any, terms: Sequence[OrderTerm]) -> tuple[Any, ...]:
    if isinstance(row, dict):
        return tuple(row[term.field] for term in terms)
    return tuple(getattr(row, term.field) for term in terms)


async def _fetch(view: Any, queryset: Any, fields: list[str]) -> Sequence[Any]:
    """The view's rows, plus the ordering columns when it reads plain rows without them."""
    columns = view.get_output_serializer().row_columns
    if view.plan.rows and columns is not None and rows_readable(queryset, view.model):
        missing = tuple(field for field in fields if field not in columns)
        if missing:
            return await read_rows(queryset, columns + missing)
    return await view.fetch_rows(queryset)


async def _read_page(
    view: Any, queryset: Any, offset: int, limit: int
) -> tuple[Sequence[Any], int | None] | None:
    """`view.fetch_page(...)`: a page's rows and count in one statement, or None where it can't."""
    fetch_page = getattr(view, "fetch_page", None)
    return None if fetch_page is None else await fetch_page(queryset, offset, limit)


def import_pagination(path: str | None) -> type[BasePagination] | None:
    """`DEFAULT_PAGINATION_CLASS` (a dotted path, or empty for plain lists) as a class."""
    if not path:
        return None
    found = import_setting("DEFAULT_PAGINATION_CLASS", path)
    if not (isinstance(found, type) and issubclass(found, BasePagination)):
        raise ImproperlyConfigured(f"DEFAULT_PAGINATION_CLASS: {path!r} is not a pagination class")
    return found
