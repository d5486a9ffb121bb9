"""Turn a ViewSet into FastAPI routes with real signatures, so `/docs` is exact.

Which routes a ViewSet has (the guide's tables plus its `@action`s), their paths, typed
parameters, response models and documented errors. How a request to one runs is
`core.views.endpoints`.
"""

from __future__ import annotations

import inspect
import uuid
from copy import copy
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, WithJsonSchema, create_model

from core.db.one_trip import model_inserts_plainly, model_saves_in_one_statement
from core.db.unique import constraint_unique_fields
from core.exceptions import ImproperlyConfigured
from core.permissions import AllowAny
from core.throttling.throttles import declared_throttles
from core.views.decorators import get_action_info
from core.views.endpoints import ActionEndpoint, keyword_parameter
from core.views.errors import error_responses
from core.views.filters import integer_bounds
from core.views.generics import GenericViewSet
from core.views.mixins import CreateModelMixin
from core.views.plan import NO_FAST_PATHS, RoutePlan

# action -> (HTTP method, detail, status code)
CRUD_ACTIONS: dict[str, tuple[str, bool, int]] = {
    "list": ("GET", False, 200),
    "create": ("POST", False, 201),
    "retrieve": ("GET", True, 200),
    "update": ("PUT", True, 200),
    "partial_update": ("PATCH", True, 200),
    "destroy": ("DELETE", True, 204),
}
# Errors each CRUD action can answer besides 401 (a bad token, on every route), 403
# (permissions), 404 (detail routes), 400/413/422 (a body) and 503 (the database).
_CRUD_ERRORS: dict[str, tuple[int, ...]] = {
    "list": (404, 422),  # a page past the end; a bad filter, ordering or page number
    "create": (),
    "retrieve": (),
    "update": (),
    "partial_update": (),
    "destroy": (),
}
#: What a route with a JSON body can answer: malformed JSON, too large, refused fields.
_BODY_ERRORS = (400, 413, 422)
_SUMMARIES = {
    "list": "List {plural}",
    "create": "Create {name}",
    "retrieve": "Get {name}",
    "update": "Update {name}",
    "partial_update": "Partially update {name}",
    "destroy": "Delete {name}",
}


@dataclass
class RouteSpec:
    """Everything `APIRouter.add_api_route` needs for one action."""

    path: str
    endpoint: ActionEndpoint
    methods: list[str]
    name: str
    status_code: int
    response_model: Any = None
    summary: str | None = None
    description: str | None = None
    docs: dict[str, Any] = field(default_factory=dict)


def _anonymous_allowed(view_cls: type[GenericViewSet], action: str) -> bool:
    """Whether the action's permissions (as declared on the class) are all AllowAny."""
    view = view_cls()
    view.action = action
    return all(isinstance(permission, AllowAny) for permission in view.get_permissions())


def _documentation(
    view_cls: type[GenericViewSet], action: str, detail: bool, codes: tuple[int, ...]
) -> dict[str, Any]:
    """`responses` and `openapi_extra` for one route: every status it can answer.

    A 401 on every route: a Bearer token that is invalid or expired is refused even where
    none is needed. A 503 on every route: the database may be unreachable or busy.
    """
    anonymous = _anonymous_allowed(view_cls, action)
    errors = set(codes) | {401, 503} | ({404} if detail else set())
    if not anonymous:
        errors.add(403)
    if declared_throttles(view_cls, action):  # a bad `rate` on a throttle class fails here
        errors.add(429)
    docs: dict[str, Any] = {"responses": error_responses(*sorted(errors))}
    if anonymous:  # FastAPI appends this to the Bearer requirement: "Bearer, or nothing"
        docs["openapi_extra"] = {"security": [{}]}
    return docs


def _first_overridden(view_cls: type, base: type, *names: str) -> str | None:
    """The first of `names` that `view_cls` overrides, else None."""
    for name in names:
        if getattr(view_cls, name) is not getattr(base, name):
            return name
    return None


def _rows_off(view_cls: type[GenericViewSet], action: str) -> str | None:
    """Why the row path can't serve `action` (None: it can)."""
    if not view_cls.read_rows:
        return "read_rows = False"
    serializer = view_cls.get_output_serializer()
    if serializer is None or (serializer.row_columns is None and serializer.nested_rows is None):
        return "the output schema is not exactly model columns"
    if action == "list":
        return None
    if serializer.row_columns is None:
        return "the output schema nests relations (retrieve reads the object)"
    overridden = _first_overridden(
        view_cls, GenericViewSet, "get_object", "check_object_permissions", "get_permissions"
    )
    if overridden is not None:
        return f"{overridden} is overridden"
    view = view_cls()
    view.action = action
    if any(permission.checks_objects() for permission in view.get_permissions()):
        return "a permission checks objects"
    return None


def _one_trip(view_cls: type[GenericViewSet]) -> bool:
    serializer = view_cls.get_output_serializer()
    return bool(
        view_cls.one_trip_create
        and serializer is not None
        and serializer.runs_no_schema_code
        and _first_overridden(view_cls, CreateModelMixin, "perform_create", "after_create") is None
        and not view_cls.get_many_to_many_inputs()  # ids set after the INSERT
        and model_inserts_plainly(view_cls.model)
    )


def _unique_by_constraint(view_cls: type[GenericViewSet]) -> bool:
    """Whether create may leave `unique_fields` to the database: each is a unique column, and
    `check_unique_fields` and `perform_create` are the stock ones (a custom `perform_create`
    may write before its INSERT, which the SELECT first would have prevented)."""
    names = list(view_cls.unique_fields)
    return (
        constraint_unique_fields(view_cls.model, names) == frozenset(names)
        and _first_overridden(view_cls, GenericViewSet, "check_unique_fields") is None
        and _first_overridden(view_cls, CreateModelMixin, "perform_create") is None
    )


def plan_route(view_cls: type[GenericViewSet], action: str) -> RoutePlan:
    """The fast paths of `view_cls`'s CRUD `action` route (`@action` routes have none)."""
    if action in ("list", "retrieve"):
        off = _rows_off(view_cls, action)
        return RoutePlan(rows=off is None, rows_off=off)
    if action == "create":
        one_trip = _one_trip(view_cls)
        by_constraint = _unique_by_constraint(view_cls)
        single = bool(
            view_cls.one_trip_create and by_constraint and _one_statement_create(view_cls)
        )
        return RoutePlan(
            one_trip_create=one_trip,
            unique_by_constraint=by_constraint,
            single_insert_create=single,
        )
    return NO_FAST_PATHS


def _one_statement_create(view_cls: type[GenericViewSet]) -> bool:
    """Whether create runs nothing but the INSERT: stock hooks and schema, a plain `save`."""
    serializer = view_cls.get_output_serializer()
    hooks = ("create", "perform_create_validation", "perform_create", "after_create")
    return bool(
        serializer is not None
        and serializer.dumps_any_saved_object  # the response is built after the COMMIT
        and _first_overridden(view_cls, CreateModelMixin, *hooks) is None
        and not view_cls.get_many_to_many_inputs()  # ids set after the INSERT
        and model_saves_in_one_statement(view_cls.model)
    )


def lookup_parameter(view: type[GenericViewSet]) -> inspect.Parameter:
    """The `{id}` path parameter, typed from the model field (so docs and 404s are right)."""
    name = view.get_lookup_field()
    model_field = view.model._meta.fields_map[name]
    python_type = getattr(model_field, "field_type", str)
    if python_type is int:
        bounds = integer_bounds(model_field)
        annotation: Any = Annotated[int, Path(ge=bounds["ge"], le=bounds["le"])]
    elif python_type is uuid.UUID:
        annotation = Annotated[uuid.UUID, Path()]
    else:
        max_length = getattr(model_field, "max_length", None) or 255
        annotation = Annotated[str, Path(max_length=max_length)]
    return keyword_parameter(name, annotation)


@cache
def constrained_input(schema: type[BaseModel], model: type[Any]) -> type[BaseModel]:
    """`schema` with each `str` field capped at its model column's `max_length`.

    So the OpenAPI document says `maxLength: 200` for a title the model caps at 200 (the model
    refuses a longer one with a 422 naming the field; validation itself is unchanged).
    Fields that already declare a `max_length` are left as they are.
    """
    fields: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        max_length = getattr(model._meta.fields_map.get(name), "max_length", None)
        if not max_length or any(hasattr(m, "max_length") for m in info.metadata):
            continue
        capped = Annotated[str, WithJsonSchema({"type": "string", "maxLength": max_length})]
        if info.annotation is str:
            annotation: Any = capped
        elif info.annotation == str | None:
            annotation = capped | None
        else:
            continue
        field_info = copy(info)
        field_info.annotation = annotation
        fields[name] = (annotation, field_info)
    if not fields:
        return schema
    derived = create_model(schema.__name__, __base__=schema, **fields)
    derived.__doc__ = schema.__doc__
    derived.__module__ = schema.__module__
    return derived


def _convertor(view: type[GenericViewSet]) -> str:
    """Starlette's `:int`/`:uuid` for an integer or UUID lookup, so `{id}` matches only ids.

    Then `/posts/featured/` is never taken for an id, whatever the method: `PUT` there is a
    405 naming the methods `featured` allows, and `/posts/abc/` is a 404 as documented.
    """
    model_field = view.model._meta.fields_map[view.get_lookup_field()]
    python_type = getattr(model_field, "field_type", str)
    return {int: ":int", uuid.UUID: ":uuid"}.get(python_type, "")


def viewset_routes(view_cls: type[GenericViewSet], prefix: str, basename: str) -> list[RouteSpec]:
    """The routes of the guide's tables: `prefix/`, `prefix/{id}/` and `@action` paths."""
    prefix = prefix.rstrip("/")
    has_model = getattr(view_cls, "model", None) is not None
    lookup = lookup_parameter(view_cls) if has_model else None
    detail_path = (
        f"{prefix}/{{{lookup.name}{_convertor(view_cls)}}}" if lookup is not None else None
    )
    name = view_cls.model.__name__ if has_model else basename
    if has_model:  # nested relations the model lacks fail here, not at request time
        view_cls.get_eager_loading()
        view_cls.get_many_to_many_inputs()
    specs: list[RouteSpec] = []

    for attr in dir(view_cls):
        info = get_action_info(getattr(view_cls, attr, None))
        if info is None:
            continue
        if info.detail and detail_path is None:
            raise TypeError(f"{view_cls.__name__}.{attr}: detail actions need a `model`")
        if attr in CRUD_ACTIONS:  # DRF's check: the route names would clash
            raise ImproperlyConfigured(
                f"{view_cls.__name__}.{attr}: an @action cannot be named like a CRUD action"
            )
        base = detail_path if info.detail else prefix
        status = info.status_code or 200
        specs.append(
            RouteSpec(
                path=f"{base}/{info.url_path}/",
                endpoint=ActionEndpoint(
                    view_cls,
                    attr,
                    lookup if info.detail else None,
                    constrained_input(info.input_schema, view_cls.model)
                    if info.input_schema is not None and has_model
                    else info.input_schema,
                    [],
                    info,
                    status,
                    NO_FAST_PATHS,
                ),
                methods=list(info.methods),
                name=f"{basename}-{info.url_path}",
                status_code=status,
                response_model=info.output_schema,
                summary=attr.replace("_", " ").capitalize(),
                docs=_documentation(
                    view_cls,
                    attr,
                    info.detail,
                    (_BODY_ERRORS if info.input_schema else ()) + info.errors,
                ),
            )
        )
    # Collection actions before `{id}` routes, so /posts/featured/ is never taken for an id.
    specs.sort(key=lambda spec: detail_path is not None and spec.path.startswith(detail_path + "/"))

    if not has_model:
        return specs
    output = view_cls.output_schema
    for action, (method, detail, status) in CRUD_ACTIONS.items():
        if not callable(getattr(view_cls, action, None)):
            continue
        body = None
        if action in ("create", "update"):
            body = view_cls.input_schema
        elif action == "partial_update":
            body = view_cls.get_partial_input_schema()
        if body is not None:
            body = constrained_input(body, view_cls.model)
        query: list[inspect.Parameter] = []
        response_model: Any = output
        if action == "list":
            pagination = view_cls.get_pagination_class()
            if pagination is not None:
                pagination.check_view(view_cls)
            query = view_cls.get_query_params()
            if output is not None:
                response_model = (
                    pagination.response_schema(output) if pagination else list[output]  # type: ignore[valid-type]
                )
        if action == "destroy":
            response_model = None
        path = f"{detail_path}/" if detail else f"{prefix}/"
        specs.append(
            RouteSpec(
                path=path,
                endpoint=ActionEndpoint(
                    view_cls,
                    action,
                    lookup if detail else None,
                    body,
                    query,
                    None,
                    status,
                    plan_route(view_cls, action),
                ),
                methods=[method],
                name=f"{basename}-{action}",
                status_code=status,
                response_model=response_model,
                summary=_SUMMARIES[action].format(name=name, plural=f"{name}s"),
                docs=_documentation(
                    view_cls,
                    action,
                    detail,
                    _CRUD_ERRORS[action] + (_BODY_ERRORS if body is not None else ()),
                ),
            )
        )
    return specs
