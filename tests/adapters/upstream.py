"""A failure that names the library, the upstream name and the adapter to update."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest

_MISSING = object()


def changed(written_for: str, name: str, what: str, adapter: str) -> str:
    """E.g. "fastapi 0.164.0 (core/adapters/fastapi.py is for fastapi >=0.163.0,<0.164):
    fastapi.routing._effective_route_context_var is gone; update core/adapters/fastapi.py"."""
    dist = written_for.split()[0]
    return (
        f"{dist} {version(dist)} (core/adapters/{adapter}.py is for {written_for}): "
        f"{name} {what}; update core/adapters/{adapter}.py"
    )


def require(condition: Any, written_for: str, name: str, what: str, adapter: str) -> None:
    """Fail with a message naming the upstream `name` unless `condition` holds."""
    if not condition:
        pytest.fail(changed(written_for, name, what, adapter), pytrace=False)


def attribute(obj: Any, name: str, written_for: str, adapter: str, owner: str) -> Any:
    """`getattr(obj, name)`, or a failure saying `owner.name` is gone."""
    value = getattr(obj, name, _MISSING)
    require(value is not _MISSING, written_for, f"{owner}.{name}", "is gone", adapter)
    return value
