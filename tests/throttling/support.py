"""A small app with throttled views, a clock tests move by hand, and clients at any address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import HTTPException, Request
from pydantic import BaseModel

from core import APIView, CoreApp, ViewSet, action
from core.config import Settings
from core.permissions import IsAuthenticated
from core.testing import database_url_for_tests
from core.throttling import (
    AccountThrottle,
    AnonRateThrottle,
    MemoryThrottleStore,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)
from tests.example_models import User
from tests.helpers import app_with, viewset_routers

RATES = {"anon": "3/min", "user": "5/min", "uploads": "2/min", "search": "4/min"}


class Clock:
    """Seconds since the epoch, moved only by `advance`."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Burst(SimpleRateThrottle):
    """A rate of its own, keyed per address."""

    rate = "2/min"
    scope = "burst"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class Message(BaseModel):
    text: str


class LimitedViewSet(ViewSet):
    """Anonymous and per-user rates for every action, unless an action says otherwise."""

    throttle_classes = [AnonRateThrottle, UserRateThrottle]

    @action(methods=["GET"])
    async def ping(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"pong": "yes"}

    @action(methods=["GET"], throttle_classes=[Burst])
    async def burst(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"burst": "yes"}

    @action(methods=["GET"], throttle_classes=[])
    async def free(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"free": "yes"}

    @action(methods=["POST"], input_schema=Message, throttle_classes=[Burst])
    async def echo(self, request: Request, db: Any, data: Message, **kwargs: Any) -> dict[str, str]:
        return {"text": data.text}

    @action(methods=["GET"], permission_classes=[IsAuthenticated], throttle_classes=[Burst])
    async def private(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"private": "yes"}


class ScopedViewSet(ViewSet):
    """`throttle_scope` for the view, and one action with its own scope."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "uploads"

    @action(methods=["POST"])
    async def upload(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"uploaded": "yes"}

    @action(methods=["GET"], throttle_scope="search")
    async def search(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"found": "yes"}


class DefaultsViewSet(ViewSet):
    """No `throttle_classes`: THROTTLE_CLASSES from the settings apply."""

    @action(methods=["GET"])
    async def hello(self, request: Request, db: Any, **kwargs: Any) -> dict[str, str]:
        return {"hello": "yes"}


class PingView(APIView):
    throttle_classes = [AnonRateThrottle]

    async def get(self, request: Request, **kwargs: Any) -> dict[str, str]:
        return {"pong": "yes"}


class LoginInput(BaseModel):
    email: str
    password: str


class LoginAttempts(AccountThrottle):
    """3 attempts per (email, address) since the last success; past 5 attempts at an
    account, only addresses that have not failed at it may try."""

    rate = "3/15min"
    account_rate = "5/hour"


class LoginViewSet(ViewSet):
    @action(methods=["POST"], input_schema=LoginInput, throttle_classes=[LoginAttempts])
    async def login(self, request: Request, db: Any, data: LoginInput, **kwargs: Any) -> Any:
        user = await User.authenticate(data.email, data.password, db)
        if user is None:
            raise HTTPException(status_code=401, detail="Invalid email or password")
        await LoginAttempts.succeeded(request, data.email)
        return {"id": user.id}


def throttled_app(**settings: Any) -> CoreApp:
    """The views above at /t/, /scoped/, /defaults/, /auth/ and /ping, on the test database."""
    values: dict[str, Any] = {"throttle_rates": RATES, "database_url": database_url_for_tests()}
    values.update(settings)
    routers = viewset_routers(
        {
            "/t": LimitedViewSet,
            "/scoped": ScopedViewSet,
            "/defaults": DefaultsViewSet,
            "/auth": LoginViewSet,
        }
    )
    app = app_with(*routers, settings=Settings(**values))
    app.add_api_route("/ping", PingView.as_route("/ping")[1], methods=["GET"])
    return app


@asynccontextmanager
async def client_at(
    client: httpx.AsyncClient, address: str, port: int = 40000
) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the app behind `client`, connecting from `address`."""
    app = client._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=(address, port), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as other:
        yield other


def memory_store(clock: Clock) -> MemoryThrottleStore:
    """A fresh in-process store on `clock`, made every throttle's store (the suite's
    `framework_state` fixture puts the default back after the test)."""
    from core.throttling import set_throttle_store

    store = MemoryThrottleStore(clock=clock)
    set_throttle_store(store)
    return store
