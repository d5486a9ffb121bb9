"""What `core.adapters.starlette` relies on in Starlette, checked against the installed one."""

from __future__ import annotations

from starlette.datastructures import State

from core.adapters.starlette import WRITTEN_FOR, route_path, state_has
from tests.adapters.upstream import attribute, require


def test_state_keeps_its_attributes_in_a_dict() -> None:
    state = State()
    store = attribute(state, "_state", WRITTEN_FOR, "starlette", "starlette.datastructures.State")
    require(isinstance(store, dict), WRITTEN_FOR, "State._state", "is no dict", "starlette")
    require(
        not state_has(state, "user"), WRITTEN_FOR, "State._state", "holds unset names", "starlette"
    )
    state.user = None
    require(
        state_has(state, "user") and store == {"user": None},
        WRITTEN_FOR,
        "State._state",
        "no longer holds what is set on the state (even None)",
        "starlette",
    )


def test_the_route_path_is_the_path_without_the_root_path() -> None:
    scope = {"type": "http", "path": "/api/posts/1/", "root_path": "/api"}
    require(
        route_path(scope) == "/posts/1/",
        WRITTEN_FOR,
        "starlette._utils.get_route_path",
        "no longer strips the root path",
        "starlette",
    )
    require(
        route_path({"type": "http", "path": "/posts/", "root_path": ""}) == "/posts/",
        WRITTEN_FOR,
        "starlette._utils.get_route_path",
        "changes paths without a root path",
        "starlette",
    )
