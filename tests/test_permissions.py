"""`&`, `|` and `~` on permission classes and instances: truth tables, sync and async checks."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from core.permissions import Permission, allows


def permission(grants: bool, grants_object: bool = True, *, sync: bool = False) -> Any:
    """A permission class whose two checks answer `grants` and `grants_object`."""
    if sync:

        class Sync(Permission):
            def has_permission(self, request: Any, view: Any) -> bool:  # type: ignore[override]
                return grants

            def has_object_permission(  # type: ignore[override]
                self, request: Any, view: Any, obj: Any
            ) -> bool:
                return grants_object

        return Sync

    class Async(Permission):
        async def has_permission(self, request: Any, view: Any) -> bool:
            return grants

        async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
            return grants_object

    return Async


async def verdicts(composed: Permission) -> tuple[bool, bool]:
    return (
        await allows(composed.has_permission(None, None)),
        await allows(composed.has_object_permission(None, None, object())),
    )


BOOLS = (True, False)


@pytest.mark.parametrize(("left", "right", "sync"), list(itertools.product(BOOLS, BOOLS, BOOLS)))
async def test_and_or_on_classes_and_instances(left: bool, right: bool, sync: bool) -> None:
    a, b = permission(left, sync=sync), permission(right, sync=sync)
    for composed in (a & b, a() & b(), a & b(), a() & b):
        # the object check of `&` asks both object checks (the request checks passed already)
        assert await verdicts(composed) == (left and right, True)
    for composed in (a | b, a() | b(), a | b(), a() | b):
        # `|` grants an object through a side that grants both the request and the object
        assert await verdicts(composed) == (left or right, left or right)


@pytest.mark.parametrize(("grants", "grants_object"), list(itertools.product(BOOLS, BOOLS)))
async def test_not_denies_only_what_the_inner_permission_grants(
    grants: bool, grants_object: bool
) -> None:
    inner = permission(grants, grants_object)
    for composed in (~inner, ~inner()):
        assert await verdicts(composed) == (not grants, not (grants and grants_object))


async def test_or_grants_an_object_through_the_side_that_granted_the_request() -> None:
    only_request = permission(True, False)  # grants the request, refuses the object
    only_object = permission(False, True)  # refuses the request, grants the object
    assert await verdicts(only_request | only_object) == (True, False)


def test_a_non_permission_operand_is_refused() -> None:
    with pytest.raises(TypeError, match="not a permission"):
        permission(True) & 42
    with pytest.raises(TypeError, match="not a permission"):
        42 | permission(True)()
