"""How a request to a ViewSet route runs: authorize, validate, run the action, commit.

FastAPI documents each route from its `ActionEndpoint`'s signature (the typed path, body and
query parameters), so `/docs` is exact. `ActionRoute` then serves the route without FastAPI's
per-request dependency solver: the view's authorizer runs first (401/403 before anything is
parsed), then FastAPI's own parameter and body validators, so errors keep FastAPI's shapes.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from fastapi import Body, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response
from tortoise import connections
from tortoise.transactions import in_transaction

from core.adapters.fastapi import (
    answers_default_json,
    default_json_response,
    effective_route,
    embeds_body_fields,
    read_json_body,
    validate_body,
    validate_params,
)
from core.datetime import JSON_ENCODERS
from core.db.one_trip import inserts_alone
from core.views.base import View, dispatch
from core.views.decorators import ActionInfo
from core.views.dependencies import runs_in_transaction
from core.views.generics import GenericViewSet
from core.views.plan import NO_FAST_PATHS, RoutePlan
from core.views.serialization import JSONBytesResponse, dump_json


def keyword_parameter(
    name: str, annotation: Any, default: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    """A keyword-only parameter for an endpoint signature FastAPI reads."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


@cache
def _adapter(output_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(output_type)


class ActionEndpoint:
    """One ViewSet action as a FastAPI endpoint: a signature to document, and `run` to serve.

    Its one dependency builds and authorizes the view; unsafe methods then run the action and
    serialize its response in a transaction, so the commit happens before the response is
    returned and a failed commit is never reported as a success.
    """

    def __init__(
        self,
        view_cls: type[GenericViewSet],
        action: str,
        path_param: inspect.Parameter | None,
        body: type[BaseModel] | None,
        query: list[inspect.Parameter],
        info: ActionInfo | None,
        status_code: int,
        plan: RoutePlan = NO_FAST_PATHS,
    ) -> None:
        self.view_cls = view_cls
        self.action = action
        self.path_name = path_param.name if path_param is not None else None
        self.takes_body = body is not None
        #: An action whose input schema has no required field may be sent no body at all
        #: (`POST /auth/logout/` with nothing, an empty body or `{}`): it gets the defaults.
        self.default_body = (
            body
            if body is not None
            and info is not None
            and not any(field.is_required() for field in body.model_fields.values())
            else None
        )
        self.query_names = [param.name for param in query]
        self.info = info
        self.status_code = status_code
        #: The fast paths this route takes, decided now (`core.views.plan`).
        self.plan = plan
        self.authorize = view_cls.authorizer(action)

        parameters = [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            keyword_parameter("view_", Any, Depends(self.authorize)),
        ]
        if path_param is not None:
            parameters.append(path_param)
        if body is not None:
            body_default = Body(default=None) if self.default_body is not None else Body()
            parameters.append(keyword_parameter("data", body, body_default))
        parameters.extend(query)
        self.__signature__ = inspect.Signature(parameters)
        self.__name__ = f"{view_cls.__name__}.{action}"
        self.__doc__ = inspect.getdoc(getattr(view_cls, action)) if info is not None else None

    async def __call__(self, request: Request, **params: Any) -> Response:
        """FastAPI's way in, with `params` solved by FastAPI (used outside `ActionRoute`)."""
        return await self.run(request, params.pop("view_"), params)

    async def run(self, request: Request, view: View, params: dict[str, Any]) -> Response:
        """Run the action with its validated path, body and query values."""
        kwargs: dict[str, Any] = {}
        view.plan = self.plan  # type: ignore[attr-defined]
        if self.path_name is not None:
            kwargs[self.path_name] = params[self.path_name]
            view.kwargs = dict(kwargs)
        if self.takes_body:
            data = params["data"]
            if data is None and self.default_body is not None:
                data = self.default_body()
            kwargs["data"] = data
        view.query = {name: params[name] for name in self.query_names}  # type: ignore[attr-defined]
        if runs_in_transaction(request) and not (
            self.plan.single_insert_create and inserts_alone(self.view_cls.model)
        ):
            async with in_transaction("default") as db:
                result = await getattr(view, self.action)(request, db, **kwargs)
                return self.respond(view, result)
        result = await getattr(view, self.action)(request, connections.get("default"), **kwargs)
        return self.respond(view, result)

    def respond(self, view: View, result: Any) -> Response:
        """Responses pass through; declared output types serialize; anything else is JSON."""
        if isinstance(result, Response):
            return result
        if self.info is not None and self.info.output_schema is not None:
            body = dump_json(_adapter(self.info.output_schema), result)
            return JSONBytesResponse(body, status_code=self.status_code)
        serializer = view.get_output_serializer() if self.info is None else None  # type: ignore[attr-defined]
        if serializer is not None and result is not None:
            if isinstance(result, list | tuple):
                return JSONBytesResponse(serializer.dump_many(result), status_code=self.status_code)
            return serializer.response(result, status_code=self.status_code)
        return JSONResponse(
            jsonable_encoder(result, custom_encoder=JSON_ENCODERS), status_code=self.status_code
        )


class ActionRoute(APIRoute):
    """FastAPI's route for an `ActionEndpoint`, served without the dependency solver.

    Documentation, matching and `include_router` are FastAPI's; a request runs the view's
    authorizer, then validates path, query and body with FastAPI's own validators. A route
    given more dependencies (`include_router(..., dependencies=[...])`) is served by FastAPI.
    """

    def get_route_handler(self) -> Any:
        # FastAPI builds one handler per inclusion, each with its own effective route.
        route = effective_route(self)
        endpoint = self.endpoint
        dependant = route.dependant
        if not isinstance(endpoint, ActionEndpoint) or len(dependant.dependencies) != 1:
            return super().get_route_handler()
        path_fields = dependant.path_params
        body_fields = dependant.body_params
        embed = embeds_body_fields(route)

        async def handle(request: Request) -> Response:
            view = await endpoint.authorize(request)
            values: dict[str, Any] = {}
            errors: list[Any] = []
            for field in path_fields:  # always present: the route matched
                value, field_errors = field.validate(
                    request.path_params[field.alias], loc=("path", field.alias)
                )
                values[field.name] = value
                errors += field_errors
            if dependant.query_params:
                query, query_errors = validate_params(dependant.query_params, request.query_params)
                values.update(query)
                errors += query_errors
            body: Any = None
            if body_fields:
                body = await read_json_body(request)
                data, body_errors = await validate_body(body_fields, body, embed)
                values.update(data)
                errors += body_errors
            if errors:
                raise RequestValidationError(errors, body=body)
            return await endpoint.run(request, view, values)

        return handle


def _serves_directly(route: Any) -> bool:
    """Whether an `APIView` route needs nothing of FastAPI's handler but its JSON answer.

    Its one dependency is the view's authorizer (no `dependencies=`, no parameters), and
    neither a response model nor a response class was given to `add_api_route`.
    """
    dependant = route.dependant
    return (
        len(dependant.dependencies) == 1
        and not dependant.path_params
        and not dependant.query_params
        and not dependant.header_params
        and not dependant.cookie_params
        and not dependant.body_params
        and answers_default_json(route)
    )


class APIViewRoute(APIRoute):
    """A `CoreApp` route: an `APIView` endpoint is served without the dependency solver.

    The request runs the view's authorizer (authenticate, permissions, throttles) and then its
    handler, as FastAPI would, and a plain answer becomes FastAPI's JSON response; the OpenAPI
    document is FastAPI's, from the same endpoint. Any other endpoint, or an `APIView` route
    with more dependencies, a response model or a response class, is served by FastAPI.
    """

    def get_route_handler(self) -> Any:
        route = effective_route(self)
        authorize = getattr(self.endpoint, "authorize", None)
        if getattr(self.endpoint, "view_cls", None) is None or authorize is None:
            return super().get_route_handler()
        if not _serves_directly(route):
            return super().get_route_handler()
        status_code = route.status_code

        async def handle(request: Request) -> Response:
            result = await dispatch(request, await authorize(request))
            if isinstance(result, Response):
                return result
            return default_json_response(route, result, status_code)

        return handle
