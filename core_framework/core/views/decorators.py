"""`@action`: extra routes on a ViewSet, as in DRF."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ActionInfo:
    """What `@action` recorded about a method: how to route and document it."""

    name: str
    methods: tuple[str, ...]
    detail: bool
    url_path: str
    permission_classes: tuple[Any, ...] | None
    input_schema: type[BaseModel] | None
    output_schema: Any
    status_code: int | None
    summary: str | None
    throttle_classes: tuple[Any, ...] | None = None
    throttle_scope: str | None = None
    #: Error statuses the action answers by itself (`raise HTTPException(409, ...)`), documented.
    errors: tuple[int, ...] = ()


def action(
    methods: Iterable[str] = ("GET",),
    detail: bool = False,
    permission_classes: Iterable[Any] | None = None,
    url_path: str | None = None,
    input_schema: type[BaseModel] | None = None,
    output_schema: Any = None,
    status_code: int | None = None,
    throttle_classes: Iterable[Any] | None = None,
    throttle_scope: str | None = None,
    errors: Iterable[int] = (),
) -> Callable[[F], F]:
    """Route a ViewSet method at `/<prefix>/<name>/` (or `/<prefix>/{id}/<name>/` with `detail`).

    With `input_schema` the body is validated and passed as `data=`; with `output_schema` (a
    schema, or a type such as `list[PostOutput]`) the return value is validated, serialized
    and documented as the response model. `throttle_classes` and `throttle_scope` replace
    the ViewSet's for this action. `errors` lists the statuses the action raises itself
    (`errors=[409]`), so OpenAPI documents them with the others the framework knows of.
    """

    def decorate(func: F) -> F:
        func.action_info = ActionInfo(  # type: ignore[attr-defined]
            name=func.__name__,
            methods=tuple(m.upper() for m in methods),
            detail=detail,
            url_path=(url_path or func.__name__).strip("/"),
            permission_classes=tuple(permission_classes)
            if permission_classes is not None
            else None,
            input_schema=input_schema,
            output_schema=output_schema,
            status_code=status_code,
            summary=None,
            throttle_classes=tuple(throttle_classes) if throttle_classes is not None else None,
            throttle_scope=throttle_scope,
            errors=tuple(errors),
        )
        return func

    return decorate


def get_action_info(func: Any) -> ActionInfo | None:
    return getattr(func, "action_info", None)
