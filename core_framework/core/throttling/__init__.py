"""Throttling, as in DRF: throttle classes on views and actions, and the stores that count.

The classes are in `core.throttling.throttles`, the stores in `core.throttling.stores`. Names
are imported on first use, so loading the `ThrottleBucket` model does not import FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_STORES = (
    "DatabaseThrottleStore",
    "MemoryThrottleStore",
    "RedisThrottleStore",
    "ThrottleHit",
    "ThrottleStore",
    "get_throttle_store",
    "set_throttle_store",
)

__all__ = [
    "AccountThrottle",
    "AnonRateThrottle",
    "BaseThrottle",
    "ClientRateThrottle",
    "DatabaseThrottleStore",
    "MemoryThrottleStore",
    "RedisThrottleStore",
    "ScopedRateThrottle",
    "SimpleRateThrottle",
    "ThrottleHit",
    "ThrottleStore",
    "Throttled",
    "UserRateThrottle",
    "check_throttles",
    "client_ip",
    "get_throttle_store",
    "parse_rate",
    "set_throttle_store",
    "throttles_for",
]

if TYPE_CHECKING:
    from core.throttling.stores import (
        DatabaseThrottleStore,
        MemoryThrottleStore,
        RedisThrottleStore,
        ThrottleHit,
        ThrottleStore,
        get_throttle_store,
        set_throttle_store,
    )
    from core.throttling.throttles import (
        AccountThrottle,
        AnonRateThrottle,
        BaseThrottle,
        ClientRateThrottle,
        ScopedRateThrottle,
        SimpleRateThrottle,
        Throttled,
        UserRateThrottle,
        check_throttles,
        client_ip,
        parse_rate,
        throttles_for,
    )


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'core.throttling' has no attribute {name!r}")
    module = "core.throttling.stores" if name in _STORES else "core.throttling.throttles"
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
