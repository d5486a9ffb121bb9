"""Starlette internals core relies on (written for starlette >=1.0.0,<2).

`request.state` answers a missing attribute with AttributeError; telling "never set" from
"set to None" (an anonymous user already resolved) needs its underlying dict. The route index
(`core.routing.RouteIndex`) matches the path routes match, from `get_route_path`.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.datastructures import State
from starlette.types import Scope

WRITTEN_FOR = "starlette >=1.0.0,<2"


def state_has(state: State, name: str) -> bool:
    """Whether `name` was set on `state` (even to None)."""
    return name in state._state


def route_path(scope: Scope) -> str:
    """The path a route matches (the request's path without the app's root path)."""
    return get_route_path(scope)
