"""Throttles as in DRF's `rest_framework/throttling.py`: a view's `throttle_classes` decide,
after authentication and permissions, whether a request may go on; if not, a 429.

```python
class PostViewSet(ModelViewSet):
    throttle_classes = [AnonRateThrottle, UserRateThrottle]   # rates: THROTTLE_RATES
```
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, ClassVar

from fastapi import HTTPException

from core.config import Settings, get_settings, import_setting
from core.exceptions import ImproperlyConfigured
from core.throttling.stores import ThrottleStore, get_throttle_store

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNITS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"([0-9]+)\s*/\s*([0-9]*)\s*([a-z]+)")


@lru_cache(maxsize=256)
def parse_rate(rate: str) -> tuple[int, int]:
    """`"5/min"` -> `(5, 60)`: requests per period in seconds.

    Periods are `s`/`sec`/`second`, `m`/`min`/`minute`, `h`/`hour`, `d`/`day` (plurals too),
    optionally with a count (`"10/15min"`). Anything else is ImproperlyConfigured.
    """
    match = _RATE.fullmatch(rate.strip().lower()) if isinstance(rate, str) else None
    unit = match.group(3) if match else ""
    if unit not in _UNITS and unit.endswith("s") and len(unit) > 1:
        unit = unit[:-1]
    if match is None or unit not in _UNITS or int(match.group(1)) < 1 or match.group(2) == "0":
        raise ImproperlyConfigured(
            f"Invalid throttle rate {rate!r}: use '<requests>/<period>' with a positive number "
            "of requests, such as '5/min', '100/hour', '10/s' or '1000/day'"
        )
    return int(match.group(1)), int(match.group(2) or 1) * _UNITS[unit]


class Throttled(HTTPException):
    """429 with DRF's message and `Retry-After` in whole seconds (rounded up)."""

    def __init__(self, wait: float | None = None, detail: str = "Request was throttled.") -> None:
        headers = None
        if wait is not None:
            seconds = max(math.ceil(wait), 1)
            unit = "second" if seconds == 1 else "seconds"
            detail = f"{detail} Expected available in {seconds} {unit}."
            headers = {"Retry-After": str(seconds)}
        super().__init__(status_code=429, detail=detail, headers=headers)
        self.wait = wait


def settings_for(request: Any) -> Settings:
    """The settings of the app serving `request` (`CoreApp(settings=...)`), else the global ones."""
    app = request.scope.get("app") if request is not None else None
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def client_ip(request: Any, num_proxies: int | None = None) -> str:
    """The client's address: the ASGI peer, or with `NUM_PROXIES=n` trusted proxies in front,
    the address the outermost of them saw (`X-Forwarded-For`'s n-th entry from the right).

    With no proxies configured the header is ignored: any client can write it.
    """
    remote = request.client.host if request.client is not None else ""
    proxies = settings_for(request).num_proxies if num_proxies is None else num_proxies
    if proxies > 0:
        forwarded = request.headers.get("x-forwarded-for")
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()] if forwarded else []
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return remote


def _authenticated(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", True))


class BaseThrottle:
    """One rule: `allow_request` (sync or async) says yes or no; `wait` how long until yes."""

    def allow_request(self, request: Any, view: Any) -> Any:
        raise NotImplementedError(".allow_request() must be overridden")

    def get_ident(self, request: Any) -> str:
        """Who the client is when no user is: its address (see `client_ip`)."""
        return client_ip(request)

    def wait(self) -> float | None:
        """Seconds until a request would be allowed, if known."""
        return None

    def check_configuration(self, view: Any, settings: Settings) -> None:
        """Raise ImproperlyConfigured for a bad rate, scope or store: called at startup."""


class SimpleRateThrottle(BaseThrottle):
    """`rate` requests per period for each `get_cache_key`, counted in a `ThrottleStore`.

    The rate is the class's `rate`, else `THROTTLE_RATES[scope]`; a rate of None lets every
    request through. `store` is the class's, else the default (`THROTTLE_STORE`). A `rate`
    on the class is checked when the throttle is made (routes make one when they are built);
    rates from settings when the app starts.
    """

    scope: str | None = None
    rate: str | None = None
    store: ClassVar[ThrottleStore | None] = None
    cache_format: ClassVar[str] = "throttle_%(scope)s_%(ident)s"
    #: Whether a missing scope (and rate) is a configuration error, or lets requests by.
    scope_required: ClassVar[bool] = True

    num_requests: int | None = None
    duration: int | None = None

    def __init__(self) -> None:
        self._wait: float | None = None
        self._own_rate = self.rate
        if self._own_rate is not None:
            self.num_requests, self.duration = parse_rate(self._own_rate)

    def get_scope(self, view: Any) -> str | None:
        return self.scope

    def get_rate(self, settings: Settings | None = None) -> str | None:
        """The class's `rate`, else `THROTTLE_RATES[scope]` (ImproperlyConfigured if missing)."""
        if self._own_rate is not None:
            return self._own_rate
        if not self.scope:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs a `rate` or a `scope` (a THROTTLE_RATES key)"
            )
        rates = (settings or get_settings()).throttle_rates
        if self.scope not in rates:
            raise ImproperlyConfigured(
                f"No throttle rate for scope {self.scope!r}: add it to THROTTLE_RATES"
            )
        return rates[self.scope]

    def configure(self, view: Any, settings: Settings) -> bool:
        """Resolve scope and rate for this view; False when this throttle lets everything by."""
        self.scope = self.get_scope(view)
        if self._own_rate is None:
            if self.scope is None and not self.scope_required:
                return False
            rate = self.get_rate(settings)
            self.num_requests, self.duration = (None, None) if rate is None else parse_rate(rate)
        return self.num_requests is not None

    def check_configuration(self, view: Any, settings: Settings) -> None:
        self.configure(view, settings)
        if self.store is None:
            get_throttle_store(settings)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """The counter this request counts in; None to not throttle it."""
        raise NotImplementedError(".get_cache_key() must be overridden")

    def get_store(self, settings: Settings | None = None) -> ThrottleStore:
        return self.store if self.store is not None else get_throttle_store(settings)

    async def allow_request(self, request: Any, view: Any) -> bool:
        settings = settings_for(request)
        if not self.configure(view, settings):
            return True
        key = self.get_cache_key(request, view)
        if key is None or self.num_requests is None or self.duration is None:
            return True
        hit = await self.get_store(settings).hit(key, self.duration, self.num_requests)
        # never past the window: stores round their clocks (a database's to the second)
        self._wait = None if hit.allowed else min(hit.wait, self.duration)
        return hit.allowed

    def wait(self) -> float | None:
        return self._wait


class AnonRateThrottle(SimpleRateThrottle):
    """Anonymous requests, per client address (`THROTTLE_RATES["anon"]`)."""

    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if _authenticated(getattr(view, "user", None)):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(SimpleRateThrottle):
    """Per user when signed in, else per client address (`THROTTLE_RATES["user"]`)."""

    scope: str | None = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        user = getattr(view, "user", None)
        ident = (
            f"user{getattr(user, 'pk', '')}" if _authenticated(user) else self.get_ident(request)
        )
        return self.cache_format % {"scope": self.scope, "ident": ident}


def throttle_scope(view: Any) -> str | None:
    """The view's scope for this action: `@action(throttle_scope=...)`, else `throttle_scope`."""
    info = getattr(getattr(type(view), getattr(view, "action", ""), None), "action_info", None)
    scope = getattr(info, "throttle_scope", None)
    return scope or getattr(view, "throttle_scope", None)


class ScopedRateThrottle(UserRateThrottle):
    """The view's `throttle_scope` rate, per user when signed in, else per client address.

    Views (and actions) without a scope are not throttled by it.
    """

    scope = None
    scope_required = False

    def get_scope(self, view: Any) -> str | None:
        return throttle_scope(view)


class ClientRateThrottle(ScopedRateThrottle):
    """The view's `throttle_scope` rate per client address, signed in or not.

    With `ScopedRateThrottle` beside it, a scope is limited per account and per address.
    """

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


@lru_cache(maxsize=64)
def _import_classes(paths: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(import_setting("THROTTLE_CLASSES", path) for path in paths)


def default_throttle_classes(settings: Settings | None = None) -> Sequence[Any]:
    """`THROTTLE_CLASSES` (dotted paths) as classes: what views without their own use."""
    paths = (settings or get_settings()).throttle_classes
    return _import_classes(tuple(paths)) if paths else ()


def resolve_throttles(throttles: Iterable[Any]) -> list[BaseThrottle]:
    """Instances for a `throttle_classes` list of classes (instances are used as they are)."""
    return [throttle() if isinstance(throttle, type) else throttle for throttle in throttles]


def throttles_for(view: Any, settings: Settings | None = None) -> list[BaseThrottle]:
    """The action's throttles: `@action(throttle_classes=...)`, else the view's, else settings'."""
    info = getattr(getattr(type(view), view.action, None), "action_info", None)
    classes = getattr(info, "throttle_classes", None)
    if classes is None:
        classes = view.throttle_classes
    if classes is None:
        request = getattr(view, "request", None)
        if settings is None and request is not None:
            settings = settings_for(request)
        classes = default_throttle_classes(settings)
    return resolve_throttles(classes) if classes else []


async def check_throttles(request: Any, view: Any) -> None:
    """Ask every throttle (as DRF does, all of them); a 429 with the longest wait if any says no."""
    waits: list[float | None] = []
    for throttle in view.get_throttles():
        allowed = throttle.allow_request(request, view)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            waits.append(throttle.wait())
    if waits:
        known = [wait for wait in waits if wait is not None]
        raise Throttled(max(known) if known else None)


def _view_for(view_cls: type, action: str) -> Any:
    view = view_cls()
    view.action = action
    return view


def declared_throttles(view_cls: type, action: str) -> bool:
    """Whether the action has throttles of its own or its view's (for the OpenAPI 429).

    Made here, so a malformed `rate` on a throttle class fails when the routes are built.
    """
    view = _view_for(view_cls, action)
    info = getattr(getattr(view_cls, action, None), "action_info", None)
    classes = getattr(info, "throttle_classes", None)
    if classes is None:
        classes = getattr(view_cls, "throttle_classes", None)
    if classes is None:
        classes = default_throttle_classes()
    scoped = throttle_scope(view)
    return any(
        scoped or not isinstance(throttle, ScopedRateThrottle)
        for throttle in resolve_throttles(classes)
    )


def check_configuration(view_cls: type, action: str, settings: Settings) -> None:
    """ImproperlyConfigured for a missing or malformed rate, or a bad store, of one action."""
    view = _view_for(view_cls, action)
    for throttle in throttles_for(view, settings):
        throttle.check_configuration(view, settings)


def check_throttle_configuration(routes: Sequence[Any], settings: Settings) -> None:
    """Check the throttles of every routed view with the app's settings (CoreApp's startup).

    A missing or malformed rate, or a bad THROTTLE_STORE, stops the app from starting rather
    than making its requests fail.
    """
    from fastapi.routing import iter_route_contexts

    for context in iter_route_contexts(routes):
        route = context.original_route
        endpoint = getattr(route, "endpoint", None)
        view_cls = getattr(endpoint, "view_cls", None)
        if view_cls is None:
            continue
        action = getattr(endpoint, "action", None)
        actions = [action] if action else [m.lower() for m in getattr(route, "methods", ())]
        for name in actions:
            if callable(getattr(view_cls, name, None)):
                check_configuration(view_cls, name, settings)


class AccountThrottle(BaseThrottle):
    """Attempts at one account (a login), limited per account in the body, so that an attacker
    can neither guess freely nor lock the owner out.

    - Per (account, client address): `THROTTLE_RATES[scope]` (else `rate`) attempts since
      the last success there. The view calls `succeeded` when the password was right, so
      only failures add up.
    - Per account, from all addresses: `THROTTLE_RATES[scope + "_account"]` (else
      `account_rate`) attempts. Past it, an address that has failed at this account since
      its last success must wait; an address that has not (the owner's, typically) still
      gets its try. A botnet then gets one guess per address per window, and the owner is
      not locked out by someone else's failures.

    The account is the body's `account_field` (JSON), compared case-insensitively and stored
    only as a digest; a request without one is left to the view (a 4xx). Counting happens
    with the other throttles, before the action's transaction, so a failed attempt stays
    counted when the request rolls back.

    ```python
    @action(methods=["POST"], throttle_classes=[AccountThrottle], input_schema=LoginInput)
    async def login(self, request, db, data, **kwargs):
        user = await User.authenticate(data.email, data.password, db)
        if user is None:
            raise HTTPException(401, "Invalid email or password")
        await AccountThrottle.succeeded(request, data.email)
    ```
    """

    scope: ClassVar[str] = "login_failures"
    account_field: ClassVar[str] = "email"
    rate: ClassVar[str] = "10/15min"
    account_rate: ClassVar[str] = "100/hour"
    store: ClassVar[ThrottleStore | None] = None

    def __init__(self) -> None:
        parse_rate(self.rate)
        parse_rate(self.account_rate)
        self._wait: float | None = None

    @classmethod
    def rates(cls, settings: Settings) -> tuple[tuple[int, int], tuple[int, int]]:
        rates = settings.throttle_rates
        rate = rates.get(cls.scope) or cls.rate
        account_rate = rates.get(f"{cls.scope}_account") or cls.account_rate
        return parse_rate(rate), parse_rate(account_rate)

    def check_configuration(self, view: Any, settings: Settings) -> None:
        self.rates(settings)
        if self.store is None:
            get_throttle_store(settings)

    @classmethod
    def get_store(cls, settings: Settings) -> ThrottleStore:
        return cls.store if cls.store is not None else get_throttle_store(settings)

    @classmethod
    def cache_keys(cls, request: Any, account: str) -> tuple[str, str]:
        """`(per account and address, per account)` counter keys."""
        normalized = account.strip().casefold().encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(normalized).hexdigest()[:32]
        base = f"throttle_{cls.scope}_account_{digest}"
        return f"{base}_ip{client_ip(request)}", base

    async def get_account(self, request: Any) -> str | None:
        """The account the body names (`account_field` of a JSON object), if any."""
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):
            return None
        account = body.get(self.account_field) if isinstance(body, dict) else None
        return account if isinstance(account, str) and account.strip() else None

    async def allow_request(self, request: Any, view: Any) -> bool:
        account = await self.get_account(request)
        if account is None:
            return True
        settings = settings_for(request)
        (limit, window), (account_limit, account_window) = self.rates(settings)
        pair_key, account_key = self.cache_keys(request, account)
        store = self.get_store(settings)
        attempt = await store.hit(pair_key, window, limit)
        if not attempt.allowed:
            self._wait = attempt.wait
            return False
        overall = await store.hit(account_key, account_window, account_limit)
        if not overall.allowed and attempt.hits > 1:
            self._wait = overall.wait
            return False
        return True

    def wait(self) -> float | None:
        return self._wait

    @classmethod
    async def succeeded(cls, request: Any, account: str) -> None:
        """The right password from this address: its failures there are forgotten."""
        store = cls.get_store(settings_for(request))
        await store.reset(cls.cache_keys(request, account)[0])
