"""Starlette internals core relies on (written for starlette >=1.0.0,<2).

`request.state` answers a missing attribute with AttributeError; telling "never set" from
"set to None" (an anonymous user already resolved) needs its underlying dict.
"""

from __future__ import annotations

from starlette.datastructures import State

WRITTEN_FOR = "starlette >=1.0.0,<2"


def state_has(state: State, name: str) -> bool:
    """Whether `name` was set on `state` (even to None)."""
    return name in state._state
