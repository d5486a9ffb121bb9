"""CRUD behaviour as small mixins with hooks, in the manner of DRF's `mixins.py`.

Hooks users override: `perform_create_validation(data, db) -> data`, `after_create(obj, db)`,
the same pair for update, `before_destroy(obj, db)` and `after_destroy(obj, db)`.
Only the input schema's fields (and what the hooks add) are ever written to a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from core.adapters.tortoise import queryset_slice
from core.db.one_trip import insert_and_commit
from core.db.unique import violated_unique_field
from core.models.rows import lookup_row, read_page, read_rows, rows_readable
from core.models.update import update_fields_for
from core.permissions import owner_field_of
from core.views.errors import NotFound, field_error, unique_message
from core.views.nested import ManyToManyInput
from core.views.serialization import JSONBytesResponse


def _as_dict(data: BaseModel | dict[str, Any] | None, partial: bool) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, BaseModel):
        return data.model_dump(exclude_unset=partial)
    return dict(data)


Links = list[tuple[ManyToManyInput, list[Any]]]


async def pop_links(view: Any, values: dict[str, Any], db: BaseDBAsyncClient) -> Links:
    """Take the many-to-many ids (`tag_ids`) out of `values`, each id checked to exist.

    An unknown id is a 400 naming the field, before anything is written.
    """
    links: Links = []
    for link in view.get_many_to_many_inputs():
        ids = values.pop(link.field, None)
        if ids is None:
            continue
        wanted = list(dict.fromkeys(ids))
        targets = list(await link.target.filter(pk__in=wanted).using_db(db)) if wanted else []
        found = {target.pk for target in targets}
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            message = f'Invalid pk "{missing[0]}" - object does not exist.'
            raise field_error(link.field, message, "does_not_exist")
        links.append((link, targets))
    return links


async def set_links(obj: Any, links: Links, db: BaseDBAsyncClient, replace: bool) -> None:
    """Point each many-to-many of `obj` at its targets (replacing what it had on update)."""
    for link, targets in links:
        related = getattr(obj, link.relation)
        if replace:
            await related.clear(using_db=db)
        if targets:
            await related.add(*targets, using_db=db)


class ListModelMixin:
    """GET /prefix/: the filtered, ordered, paginated rows."""

    async def list(self: Any, request: Request, db: BaseDBAsyncClient, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(await self.resolve_queryset(db))
        serializer = self.get_output_serializer()
        page = await self.paginate_queryset(queryset)
        if page is None:  # not paginated: a plain list
            return JSONBytesResponse(serializer.dump_many(await self.fetch_rows(queryset)))
        return self.get_paginated_response(serializer.dump_many(page))

    async def fetch_rows(self: Any, queryset: Any) -> Sequence[Any]:
        """Plain rows when the route reads rows (`plan.rows`), else model instances."""
        if self.plan.rows and rows_readable(queryset, self.model):
            serializer = self.get_output_serializer()
            if serializer.row_columns is not None:
                return await read_rows(queryset, serializer.row_columns)
            if serializer.nested_rows.can_read(queryset):  # relations nested one level deep
                return await serializer.nested_rows.read(queryset)
        return list(await self.get_eager_loading().apply(queryset))

    async def fetch_page(
        self: Any, queryset: Any, offset: int, limit: int
    ) -> tuple[Sequence[Any], int | None] | None:
        """Page `[offset:offset + limit]` of plain rows and the count of `queryset`, in one
        statement (`read_page`); the count is None when the page is empty.

        Only where `fetch_rows` reads plain columns of an unsliced queryset; None elsewhere
        (nested rows, instances): the pagination then counts first and reads with `fetch_rows`.
        """
        if (
            self.plan.rows
            and rows_readable(queryset, self.model)
            and queryset_slice(queryset) == (None, None)
        ):
            columns = self.get_output_serializer().row_columns
            if columns is not None:
                return await read_page(queryset, columns, offset, limit)
        return None


class RetrieveModelMixin:
    """GET /prefix/{id}/."""

    async def retrieve(
        self: Any, request: Request, db: BaseDBAsyncClient, **kwargs: Any
    ) -> Response:
        serializer = self.get_output_serializer()
        if self.plan.rows:  # the stock `get_object` and no object checks: a row will do
            field = self.get_lookup_field()
            value = kwargs.get(field, self.kwargs.get(field))
            if value is None:
                raise NotFound()
            queryset = await self.resolve_queryset(db)
            if rows_readable(queryset, self.model):
                row = await lookup_row(queryset, field, value, serializer.row_columns)
                if row is None:
                    raise NotFound()
                return serializer.response(row)
        obj = await self.get_object(db, **kwargs)
        await self.load_related([obj], db)
        return serializer.response(obj)


class CreateModelMixin:
    """POST /prefix/: validate, check uniqueness, run the hooks, save, 201."""

    async def create(
        self: Any,
        request: Request,
        db: BaseDBAsyncClient,
        data: BaseModel | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Response:
        values = _as_dict(data, partial=False)
        values = await self.perform_create_validation(values, db)
        if not self.plan.unique_by_constraint:  # else the INSERT's unique constraint checks
            await self.check_unique_fields(values, db)  # after the hook: it may set them
        links = await pop_links(self, values, db)
        serializer = self.get_output_serializer()
        try:
            if self.plan.one_trip_create:  # the INSERT is the action's last statement
                body = await insert_and_commit(db, self.new_object(values), serializer.dump)
                return JSONBytesResponse(body, status_code=201)
            obj = await self.perform_create(values, db)
        except IntegrityError as exc:
            raise self.unique_violation(exc) from exc
        await set_links(obj, links, db, replace=False)
        await self.after_create(obj, db)
        await self.load_related([obj], db)
        return serializer.response(obj, status_code=201)

    def unique_violation(self: Any, exc: IntegrityError) -> Exception:
        """The 422 `check_unique_fields` gives, when `exc` is a `unique_fields` entry's
        constraint refusing a duplicate; else `exc` itself (the error handlers answer it)."""
        name = violated_unique_field(self.model, exc)
        if name is None or name not in self.unique_fields:
            return exc
        return field_error(name, unique_message(self.model.__name__, name), "unique")

    async def perform_create_validation(
        self: Any, data: dict[str, Any], db: BaseDBAsyncClient
    ) -> dict[str, Any]:
        """Hook: check or transform the validated data before the object is created."""
        return data

    async def perform_create(self: Any, data: dict[str, Any], db: BaseDBAsyncClient) -> Any:
        """Hook: build and save the object (`new_object`, then `save`)."""
        obj = self.new_object(data)
        await obj.save(db)
        return obj

    def new_object(self: Any, data: dict[str, Any]) -> Any:
        """The unsaved object; its owner field is set to the user when the data leaves it unset."""
        obj = self.model(**data)
        owner = owner_field_of(self, obj) if self.user is not None else None
        if owner is not None and owner not in data and getattr(obj, owner, None) is None:
            setattr(obj, owner, self.user.pk)
        return obj

    async def after_create(self: Any, obj: Any, db: BaseDBAsyncClient) -> None:
        """Hook: side effects once the object exists (same transaction)."""


class UpdateModelMixin:
    """PUT and PATCH /prefix/{id}/."""

    async def update(
        self: Any,
        request: Request,
        db: BaseDBAsyncClient,
        data: BaseModel | dict[str, Any] | None = None,
        partial: bool = False,
        **kwargs: Any,
    ) -> Response:
        obj = await self.get_object(db, **kwargs)
        values = _as_dict(data, partial=partial)
        values = await self.perform_update_validation(values, db)
        await self.check_unique_fields(values, db, instance=obj)
        links = await pop_links(self, values, db)
        try:
            await self.perform_update(obj, values, db)
        except IntegrityError as exc:  # a duplicate saved meanwhile: the same 422
            raise self.unique_violation(exc) from exc
        await set_links(obj, links, db, replace=True)
        await self.after_update(obj, db)
        await self.load_related([obj], db)
        return self.get_output_serializer().response(obj)

    async def partial_update(
        self: Any,
        request: Request,
        db: BaseDBAsyncClient,
        data: BaseModel | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Response:
        return await self.update(request, db, data=data, partial=True, **kwargs)

    async def perform_update_validation(
        self: Any, data: dict[str, Any], db: BaseDBAsyncClient
    ) -> dict[str, Any]:
        """Hook: check or transform the validated data before the object is updated."""
        return data

    async def perform_update(
        self: Any, obj: Any, data: dict[str, Any], db: BaseDBAsyncClient
    ) -> None:
        """Hook: set the validated values and save only those columns (plus `auto_now` ones)."""
        for name, value in data.items():
            setattr(obj, name, value)
        await obj.save(db, update_fields=update_fields_for(obj, data))

    async def after_update(self: Any, obj: Any, db: BaseDBAsyncClient) -> None:
        """Hook: side effects once the object is updated (same transaction)."""


class DestroyModelMixin:
    """DELETE /prefix/{id}/: 204."""

    async def destroy(
        self: Any, request: Request, db: BaseDBAsyncClient, **kwargs: Any
    ) -> Response:
        obj = await self.get_object(db, **kwargs)
        await self.before_destroy(obj, db)
        await obj.delete(db)
        await self.after_destroy(obj, db)
        return Response(status_code=204)

    async def before_destroy(self: Any, obj: Any, db: BaseDBAsyncClient) -> None:
        """Hook: runs before the row is deleted (raise to refuse)."""

    async def after_destroy(self: Any, obj: Any, db: BaseDBAsyncClient) -> None:
        """Hook: runs after the row is deleted (same transaction)."""
