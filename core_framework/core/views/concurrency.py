"""Optimistic concurrency for ModelViewSets: a version column, `ETag` and `If-Match` (RFC 9110).

Without it, two PATCHes of different fields both land (updates write only their columns),
but two PATCHes of the *same* field race: the last commit wins and the other change is lost
without either client knowing. With `OptimisticConcurrencyMixin` every retrieve and update
answers with `ETag: "<version>"`; a PUT, PATCH or DELETE sent with `If-Match` only succeeds
while the row still has that version, else it is a 412 and nothing is written. The check and
the write are one conditional statement (`UPDATE ... WHERE id = ? AND version = ?`), so it
holds across workers and hosts, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import HTTPException, Request
from pydantic import BaseModel
from starlette.responses import Response
from tortoise.backends.base.client import BaseDBAsyncClient

from core.datetime import timezone
from core.models.update import update_fields_for


class PreconditionFailed(HTTPException):
    """412: the `If-Match` version is not the row's version any more (or the row is gone)."""

    def __init__(self) -> None:
        super().__init__(
            status_code=412,
            detail="The object was changed by another request: read it again and retry.",
        )


class PreconditionRequired(HTTPException):
    """428: `require_if_match` is set and the request sent no `If-Match`."""

    def __init__(self) -> None:
        super().__init__(
            status_code=428,
            detail="Send If-Match with the ETag of the object you read to change it.",
        )


def if_match_tags(header: str) -> set[str]:
    """The entity tags of an `If-Match` header, quotes and weak markers (`W/`) removed."""
    tags = set()
    for part in header.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag:
            tags.add(tag)
    return tags


class OptimisticConcurrencyMixin:
    """Put before `ModelViewSet`: versioned rows, `ETag` on reads, `If-Match` on writes.

    The model needs an integer column named `version_field` (default `version`, starting at
    0); each update adds one. `require_if_match = True` makes `If-Match` mandatory (428).
    The update is a conditional `UPDATE` of the changed columns: a model's own `save()`
    override does not run for it.
    """

    version_field: ClassVar[str] = "version"
    require_if_match: ClassVar[bool] = False

    def etag(self: Any, obj: Any) -> str:
        """The strong entity tag of `obj`'s current version."""
        return f'"{getattr(obj, self.version_field)}"'

    def check_if_match(self: Any, request: Request, obj: Any) -> None:
        """412 unless `If-Match` is absent (and optional), `*`, or names the current version."""
        header = request.headers.get("if-match")
        if header is None:
            if self.require_if_match:
                raise PreconditionRequired()
            return
        tags = if_match_tags(header)
        if "*" not in tags and str(getattr(obj, self.version_field)) not in tags:
            raise PreconditionFailed()

    async def retrieve(
        self: Any, request: Request, db: BaseDBAsyncClient, **kwargs: Any
    ) -> Response:
        obj = await self.get_object(db, **kwargs)
        response: Response = self.get_output_serializer().response(obj)
        response.headers["ETag"] = self.etag(obj)
        return response

    async def update(
        self: Any,
        request: Request,
        db: BaseDBAsyncClient,
        data: BaseModel | dict[str, Any] | None = None,
        partial: bool = False,
        **kwargs: Any,
    ) -> Response:
        response: Response = await super().update(  # type: ignore[misc]
            request, db, data=data, partial=partial, **kwargs
        )
        response.headers["ETag"] = self._written_etag
        return response

    async def perform_update(
        self: Any, obj: Any, data: dict[str, Any], db: BaseDBAsyncClient
    ) -> None:
        """Check `If-Match`, then write the changed columns only if the version is unchanged."""
        self.check_if_match(self.request, obj)
        version = getattr(obj, self.version_field)
        data = {name: value for name, value in data.items() if name != self.version_field}
        for name, value in data.items():
            setattr(obj, name, value)
        setattr(obj, self.version_field, version + 1)
        fields = update_fields_for(obj, [*data, self.version_field])
        if fields is None:
            fields = [name for name in obj._meta.fields_db_projection if name != obj._meta.pk_attr]
        now = timezone.now()
        for name in fields:
            if getattr(obj._meta.fields_map[name], "auto_now", False):
                setattr(obj, name, now)
        rows = (
            await type(obj)
            .filter(pk=obj.pk, **{self.version_field: version})
            .using_db(db)
            .update(**{name: getattr(obj, name) for name in fields})
        )
        if rows == 0:
            raise PreconditionFailed()
        self._written_etag = self.etag(obj)

    async def destroy(
        self: Any, request: Request, db: BaseDBAsyncClient, **kwargs: Any
    ) -> Response:
        obj = await self.get_object(db, **kwargs)
        self.check_if_match(request, obj)
        await self.before_destroy(obj, db)
        version = getattr(obj, self.version_field)
        rows = (
            await type(obj).filter(pk=obj.pk, **{self.version_field: version}).using_db(db).delete()
        )
        if rows == 0:
            raise PreconditionFailed()
        await self.after_destroy(obj, db)
        return Response(status_code=204)
