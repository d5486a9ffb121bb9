"""Permission classes with DRF semantics, composable with `&`, `|` and `~`.

`has_permission(request, view)` runs before the action; `has_object_permission(request, view,
obj)` runs in `get_object`. Both may be sync or async. A failed check is a 401 for an anonymous
user and a 403 otherwise (the views decide which).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Iterable
from typing import Any

__all__ = [
    "AllowAny",
    "HasPermission",
    "IsAdmin",
    "IsAuthenticated",
    "IsInGroup",
    "IsOwner",
    "IsStaff",
    "IsSuperUser",
    "Permission",
    "resolve_permissions",
]

#: Attributes IsOwner tries, in order, when the view names no `owner_field`.
OWNER_FIELDS = ("owner_id", "user_id", "author_id", "created_by_id")


async def allows(result: bool | Awaitable[bool]) -> bool:
    """A check's verdict, whether the check was written sync or async."""
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


def request_user(request: Any) -> Any:
    """The authenticated user of `request`, or None."""
    return getattr(request.state, "user", None)


def request_auth_db(request: Any) -> Any:
    """The connection the request was authenticated on (`authenticate_request` records it):
    HasPermission and IsInGroup load groups and permissions through it. None: the default."""
    return getattr(request.state, "auth_db", None)


async def _ask_user(request: Any, check: str, argument: str) -> bool:
    """The request's user's `a<check>(argument, db)` on the request's connection, else (a
    user class of the project's own) its sync `<check>(argument)`; False for no user."""
    user = request_user(request)
    ask_async = getattr(user, f"a{check}", None)
    if ask_async is not None:
        return bool(await ask_async(argument, request_auth_db(request)))
    ask = getattr(user, check, None)
    return bool(user is not None and ask is not None and ask(argument))


class _Operators:
    """`&`, `|` and `~`, written once: for permission instances, and for classes through
    the metaclass (`IsAuthenticated & IsOwner`); a class operand is instantiated."""

    def __and__(self, other: Any) -> Permission:
        return _And(_instance(self), _instance(other))

    def __or__(self, other: Any) -> Permission:
        return _Or(_instance(self), _instance(other))

    def __rand__(self, other: Any) -> Permission:
        return _And(_instance(other), _instance(self))

    def __ror__(self, other: Any) -> Permission:
        return _Or(_instance(other), _instance(self))

    def __invert__(self) -> Permission:
        return _Not(_instance(self))


class _ComposableType(_Operators, type):  # type: ignore[misc]  # replaces type's `X | Y`
    """Lets permission *classes* compose too: `IsAuthenticated & IsOwner`."""


class Permission(_Operators, metaclass=_ComposableType):
    """Base class: allow everything. Override either check; sync or async both work."""

    #: The message of the 403 a failed check produces (DRF's `message`).
    message: str = "You do not have permission to perform this action."

    async def has_permission(self, request: Any, view: Any) -> bool:
        return True

    async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return True

    def checks_objects(self) -> bool:
        """Whether this permission looks at objects (else `get_object` may skip it)."""
        return type(self).has_object_permission is not Permission.has_object_permission


def _instance(permission: Any) -> Permission:
    """Permission classes are instantiated; instances (`HasPermission("x")`) are used as is."""
    if isinstance(permission, type):
        return permission()
    if not hasattr(permission, "has_permission"):
        raise TypeError(f"{permission!r} is not a permission class or instance")
    return permission


def resolve_permissions(permissions: Iterable[Any]) -> list[Permission]:
    """Instances for a `permission_classes` list of classes and instances."""
    return [_instance(permission) for permission in permissions]


class _And(Permission):
    def __init__(self, left: Permission, right: Permission) -> None:
        self.left, self.right = left, right

    async def has_permission(self, request: Any, view: Any) -> bool:
        return await allows(self.left.has_permission(request, view)) and await allows(
            self.right.has_permission(request, view)
        )

    async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return await allows(self.left.has_object_permission(request, view, obj)) and await allows(
            self.right.has_object_permission(request, view, obj)
        )

    def checks_objects(self) -> bool:
        return self.left.checks_objects() or self.right.checks_objects()


class _Or(Permission):
    """DRF's OR: an object check passes if either side passes both of its own checks."""

    def __init__(self, left: Permission, right: Permission) -> None:
        self.left, self.right = left, right

    async def has_permission(self, request: Any, view: Any) -> bool:
        return await allows(self.left.has_permission(request, view)) or await allows(
            self.right.has_permission(request, view)
        )

    async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        for side in (self.left, self.right):
            if await allows(side.has_permission(request, view)) and await allows(
                side.has_object_permission(request, view, obj)
            ):
                return True
        return False

    def checks_objects(self) -> bool:
        return self.left.checks_objects() or self.right.checks_objects()


class _Not(Permission):
    def __init__(self, inner: Permission) -> None:
        self.inner = inner

    async def has_permission(self, request: Any, view: Any) -> bool:
        return not await allows(self.inner.has_permission(request, view))

    async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        """Denied only where the inner permission would grant the object (both its checks)."""
        return not (
            await allows(self.inner.has_permission(request, view))
            and await allows(self.inner.has_object_permission(request, view, obj))
        )

    def checks_objects(self) -> bool:
        return self.inner.checks_objects()


class AllowAny(Permission):
    """Anyone, authenticated or not."""


class IsAuthenticated(Permission):
    """Any authenticated user."""

    async def has_permission(self, request: Any, view: Any) -> bool:
        return request_user(request) is not None


class IsSuperUser(Permission):
    """Only users with `is_superuser`."""

    async def has_permission(self, request: Any, view: Any) -> bool:
        user = request_user(request)
        return bool(user is not None and getattr(user, "is_superuser", False))


#: The guide's name for IsSuperUser.
IsAdmin = IsSuperUser


class IsStaff(Permission):
    """Only users with `is_staff` (superusers included, as in Django's admin)."""

    async def has_permission(self, request: Any, view: Any) -> bool:
        user = request_user(request)
        return bool(
            user is not None
            and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
        )


class IsOwner(Permission):
    """The object belongs to the user: `obj.<owner_field> == user.id`.

    The field is the view's `owner_field`, else the first of owner_id, user_id, author_id,
    created_by_id that the object has. Objects with none of them belong to nobody.
    """

    message = "You do not own this object."

    async def has_permission(self, request: Any, view: Any) -> bool:
        return request_user(request) is not None

    async def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        user = request_user(request)
        if user is None:
            return False
        field = owner_field_of(view, obj)
        return field is not None and getattr(obj, field, None) == user.pk


def owner_field_of(view: Any, obj: Any) -> str | None:
    """The attribute of `obj` that holds its owner's id (see IsOwner)."""
    declared = getattr(view, "owner_field", None)
    if declared:
        return str(declared)
    return next((name for name in OWNER_FIELDS if hasattr(obj, name)), None)


class HasPermission(Permission):
    """The user holds `codename` (directly or through a group); superusers always do.

    Groups and permissions load on the first check of a request (`user.ahas_perm`), on the
    request's connection, and are reused by every later check of that request.
    """

    def __init__(self, codename: str) -> None:
        self.codename = codename

    async def has_permission(self, request: Any, view: Any) -> bool:
        return await _ask_user(request, "has_perm", self.codename)

    def __repr__(self) -> str:
        return f"HasPermission({self.codename!r})"


class IsInGroup(Permission):
    """The user is a member of group `name` (groups load once per request, as HasPermission)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def has_permission(self, request: Any, view: Any) -> bool:
        return await _ask_user(request, "is_in_group", self.name)

    def __repr__(self) -> str:
        return f"IsInGroup({self.name!r})"
