"""`View`: one instance per request, holding the request, action and user; and `APIView`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, ClassVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.auth.request import authenticate_request
from core.permissions import AllowAny, Permission, allows, resolve_permissions
from core.throttling.throttles import (
    BaseThrottle,
    check_throttles,
    declared_throttles,
    throttles_for,
)
from core.views.dependencies import runs_in_transaction
from core.views.errors import NotAuthenticated, PermissionDenied

#: Documents Bearer auth in OpenAPI (the "Authorize" button of /docs); the header itself is
#: parsed by `authenticate_request`, so a malformed one is a 401 with our message.
BEARER_SCHEME = HTTPBearer(auto_error=False, description="An access token from /auth/login/")


class View:
    """What every view shares: authentication and the permission checks (DRF semantics)."""

    #: Checked before every action unless `permission_classes_by_action` names the action.
    permission_classes: ClassVar[Sequence[Any]] = (AllowAny,)
    permission_classes_by_action: ClassVar[dict[str, Sequence[Any]]] = {}
    tags: ClassVar[Sequence[str] | None] = None
    #: Whether the view keeps state in the signed session cookie (`request.session`); CoreApp
    #: installs the session middleware only when a routed view does.
    uses_session: ClassVar[bool] = False
    #: Checked after the permissions (`core.throttling`); None: THROTTLE_CLASSES from settings.
    throttle_classes: ClassVar[Sequence[Any] | None] = None
    throttle_scope: ClassVar[str | None] = None

    request: Request
    action: str
    kwargs: dict[str, Any]
    user: Any

    def __init__(self) -> None:
        self.kwargs = {}
        self.user = None

    def get_permissions(self) -> list[Permission]:
        """The permissions of the current action: by action, then the action's own, then the class's."""
        by_action = self.permission_classes_by_action.get(self.action)
        if by_action is not None:
            return resolve_permissions(by_action)
        handler = getattr(type(self), self.action, None)
        info = getattr(handler, "action_info", None)
        if info is not None and info.permission_classes is not None:
            return resolve_permissions(info.permission_classes)
        return resolve_permissions(self.permission_classes)

    def permission_denied(self, permission: Permission | None = None) -> Exception:
        """401 for anonymous users (they may log in), 403 for authenticated ones."""
        if self.user is None:
            return NotAuthenticated()
        message = getattr(permission, "message", None)
        return PermissionDenied(message) if message else PermissionDenied()

    async def check_permissions(self, request: Request) -> None:
        for permission in self.get_permissions():
            if not await allows(permission.has_permission(request, self)):
                raise self.permission_denied(permission)

    def get_throttles(self) -> list[BaseThrottle]:
        """The throttles of the current action: the action's own, then the class's, then settings'."""
        return throttles_for(self)

    async def check_throttles(self, request: Request) -> None:
        """A 429 (`Throttled`) when any throttle refuses the request."""
        await check_throttles(request, self)

    async def check_object_permissions(self, request: Request, obj: Any) -> None:
        for permission in self.get_permissions():
            if not await allows(permission.has_object_permission(request, self, obj)):
                raise self.permission_denied(permission)

    async def initial(self, request: Request, db: BaseDBAsyncClient) -> None:
        """Authenticate, check permissions, then throttles; runs before the body is parsed."""
        self.request = request
        self.user = await authenticate_request(request, db)
        await self.check_permissions(request)
        await self.check_throttles(request)

    @classmethod
    def authorizer(cls, action: str | None) -> Callable[..., Any]:
        """A FastAPI dependency that builds the view for `action` and lets the request in.

        `action=None` names the action after the request's method (`get`, `post`, ...).
        """
        return Authorizer(cls, action)


class Authorizer(HTTPBearer):
    """Builds the view, authenticates the request and checks permissions: one dependency.

    It is also what documents Bearer auth in OpenAPI (the same scheme as `BEARER_SCHEME`), so
    a route resolves one dependency rather than a scheme plus an authorizer. A plain callable
    (no transaction): authentication only reads, on the default connection.
    """

    def __init__(self, view_cls: type[View], action: str | None) -> None:
        super().__init__(
            auto_error=False,
            scheme_name=BEARER_SCHEME.scheme_name,
            description=BEARER_SCHEME.model.description,
        )
        self.view_cls = view_cls
        self.action = action
        self.__name__ = f"authorize_{view_cls.__name__}_{action}"

    async def __call__(self, request: Request) -> View:  # type: ignore[override]
        view = self.view_cls()
        view.action = self.action or request.method.lower()
        view.kwargs = dict(request.path_params)
        await view.initial(request, connections.get("default"))
        return view


@cache
def _takes_db(function: Callable[..., Any]) -> bool:
    """Whether a handler accepts `db` (by name or through **kwargs); read once per handler."""
    params = inspect.signature(function).parameters.values()
    return any(p.name == "db" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


class APIView(View):
    """A class with `get`/`post`/... methods; `as_route(path)` gives FastAPI its endpoint.

    ```python
    app.add_api_route("/health", HealthView.as_route("/health")[1], methods=["GET"])
    ```
    Handlers are called as `handler(request, db=db, **path_params)`; `db` only if they take it.
    """

    @classmethod
    def as_route(cls, path: str) -> tuple[str, Callable[..., Any]]:
        """`(path, endpoint)`: the endpoint dispatches on the request's method.

        Its one dependency is the authorizer (which also documents Bearer auth); the request's
        transaction is opened in the endpoint itself, so FastAPI solves nothing else.
        """

        authorize = cls.authorizer(None)
        for method in ("get", "post", "put", "patch", "delete"):  # a bad `rate` fails here
            if callable(getattr(cls, method, None)):
                declared_throttles(cls, method)

        async def endpoint(request: Request, view: View = Depends(authorize)) -> Any:
            return await dispatch(request, view)

        endpoint.__name__ = cls.__name__
        endpoint.__doc__ = cls.__doc__
        endpoint.view_cls = cls  # type: ignore[attr-defined]
        #: What `APIViewRoute` calls in place of FastAPI's solver: authorize, then dispatch.
        endpoint.authorize = authorize  # type: ignore[attr-defined]
        return path, endpoint


async def dispatch(request: Request, view: View) -> Any:
    """Call the authorized view's handler for the request's method, in a transaction if unsafe."""
    handler = getattr(view, request.method.lower(), None)
    if handler is None:
        raise HTTPException(status_code=405, detail="Method Not Allowed")
    kwargs = dict(request.path_params)
    takes_db = _takes_db(getattr(handler, "__func__", handler))
    if runs_in_transaction(request):  # commits before the response is sent
        async with in_transaction("default") as db:
            if takes_db:
                kwargs["db"] = db
            return await handler(request, **kwargs)
    if takes_db:
        kwargs["db"] = connections.get("default")
    return await handler(request, **kwargs)
