"""Throttles over HTTP through the real app: 429s, keys, scopes, actions, windows, settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Request

from core import AutoRouter, CoreApp, ViewSet, action
from core.config import Settings
from core.exceptions import ImproperlyConfigured
from core.testing import app_client, app_database, force_authenticate
from core.throttling import SimpleRateThrottle, Throttled, parse_rate
from tests.example_models import User
from tests.helpers import TEST_MODELS
from tests.throttling.support import RATES, Clock, client_at, throttled_app


async def statuses(client: httpx.AsyncClient, path: str, times: int, **kwargs: object) -> list[int]:
    return [(await client.get(path, **kwargs)).status_code for _ in range(times)]  # type: ignore[arg-type]


async def test_the_request_after_the_rate_is_a_429_with_retry_after(client, clock: Clock) -> None:
    assert await statuses(client, "/t/ping/", 3) == [200, 200, 200]
    throttled = await client.get("/t/ping/")
    assert throttled.status_code == 429
    assert throttled.json() == {
        "detail": "Request was throttled. Expected available in 60 seconds."
    }
    assert throttled.headers["Retry-After"] == "60"

    clock.advance(59.5)
    later = await client.get("/t/ping/")
    assert later.status_code == 429
    assert later.headers["Retry-After"] == "1"
    assert later.json()["detail"] == "Request was throttled. Expected available in 1 second."


async def test_a_new_window_lets_requests_through_again(client, clock: Clock) -> None:
    assert await statuses(client, "/t/ping/", 4) == [200, 200, 200, 429]
    clock.advance(60)
    assert await statuses(client, "/t/ping/", 4) == [200, 200, 200, 429]
    clock.advance(3600)
    assert (await client.get("/t/ping/")).status_code == 200


async def test_signed_in_users_are_counted_per_user_and_anonymous_ones_per_address(
    client, clock: Clock
) -> None:
    db = app_database()
    alice = await User.create_user("alice@example.com", "Password1", db=db)
    bob = await User.create_user("bob@example.com", "Password1", db=db)

    force_authenticate(client, alice)
    assert await statuses(client, "/t/ping/", 6) == [200] * 5 + [429]  # user: 5/min
    force_authenticate(client, bob)  # same address, another user
    assert await statuses(client, "/t/ping/", 6) == [200] * 5 + [429]
    force_authenticate(client, None)  # same address, anonymous: its own count
    assert await statuses(client, "/t/ping/", 4) == [200] * 3 + [429]
    async with client_at(client, "198.51.100.20") as elsewhere:  # another address
        assert await statuses(elsewhere, "/t/ping/", 4) == [200] * 3 + [429]


async def test_an_actions_throttle_classes_replace_the_viewsets(client) -> None:
    assert await statuses(client, "/t/burst/", 3) == [200, 200, 429]  # Burst: 2/min
    assert await statuses(client, "/t/ping/", 4) == [200, 200, 200, 429]  # its own counter
    assert await statuses(client, "/t/free/", 20) == [200] * 20  # throttle_classes=[]


async def test_scoped_rates_come_from_the_view_and_the_action(client) -> None:
    uploads = [(await client.post("/scoped/upload/")).status_code for _ in range(3)]
    assert uploads == [200, 200, 429]  # uploads: 2/min
    assert await statuses(client, "/scoped/search/", 5) == [200] * 4 + [429]  # search: 4/min


async def test_throttles_run_after_permissions_and_before_the_body_is_read(
    client, clock: Clock
) -> None:
    # Refused by a permission: not counted (DRF's order), so never a 429.
    assert await statuses(client, "/t/private/", 5) == [401] * 5
    alice = await User.create_user("alice@example.com", "Password1", db=app_database())
    force_authenticate(client, alice)
    assert await statuses(client, "/t/private/", 3) == [200, 200, 429]
    force_authenticate(client, None)

    clock.advance(60)  # Burst's window (one counter per address, for every action using it)
    assert (await client.post("/t/echo/", json={"text": "a"})).status_code == 200
    assert (await client.post("/t/echo/", json={"text": 5})).status_code == 422
    malformed = await client.post(
        "/t/echo/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 429  # the body was never read


async def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(store) -> None:
    async with app_client(throttled_app()) as client:
        spoofed = [
            (await client.get("/t/ping/", headers={"X-Forwarded-For": f"10.0.0.{n}"})).status_code
            for n in range(4)
        ]
        assert spoofed == [200, 200, 200, 429]  # one client, whatever it claims

    async with app_client(throttled_app(num_proxies=1)) as client:
        for n in range(4):  # the proxy's entry (the last) names the client
            header = {"X-Forwarded-For": f"203.0.113.99, 10.0.1.{n}"}
            assert (await client.get("/t/ping/", headers=header)).status_code == 200
        header = {"X-Forwarded-For": "10.0.2.1, 10.0.1.0"}  # spoofed first entry: ignored
        assert (await client.get("/t/ping/", headers=header)).status_code == 200
        assert (await client.get("/t/ping/", headers=header)).status_code == 200
        assert (await client.get("/t/ping/", headers=header)).status_code == 429


async def test_throttle_classes_from_the_settings_apply_to_views_without_their_own(store) -> None:
    app = throttled_app(throttle_classes="core.throttling.AnonRateThrottle")
    async with app_client(app) as client:
        assert await statuses(client, "/defaults/hello/", 4) == [200, 200, 200, 429]
    async with app_client(throttled_app()) as client:  # none by default
        assert await statuses(client, "/defaults/hello/", 10) == [200] * 10


async def test_an_api_view_is_throttled_too(client) -> None:
    assert await statuses(client, "/ping", 4) == [200, 200, 200, 429]


async def test_openapi_documents_429_on_throttled_routes_only(client) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "429" in paths["/t/ping/"]["get"]["responses"]
    assert "429" in paths["/scoped/search/"]["get"]["responses"]
    assert "429" not in paths["/t/free/"]["get"]["responses"]
    assert "429" not in paths["/defaults/hello/"]["get"]["responses"]


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("5/min", (5, 60)),
        ("100/hour", (100, 3600)),
        ("10/s", (10, 1)),
        ("1000/day", (1000, 86400)),
        ("10/15min", (10, 900)),
        (" 3 / seconds ", (3, 1)),
        ("7/m", (7, 60)),
    ],
)
def test_rates_are_requests_per_period(rate: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["5/mxyz", "0/min", "5", "five/min", "5/0min", "-1/s", "5/", ""])
def test_malformed_rates_are_refused(rate: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="Invalid throttle rate"):
        parse_rate(rate)


def test_a_bad_rate_on_a_throttle_class_fails_when_routes_are_built() -> None:
    class Sloppy(SimpleRateThrottle):
        rate = "5/minx"

    class SloppyViewSet(ViewSet):
        throttle_classes = [Sloppy]

        @action(methods=["GET"])
        async def ping(self, request: Request, db: Any, **kwargs: Any) -> None:
            return None

    router = AutoRouter()
    with pytest.raises(ImproperlyConfigured, match="'5/minx'"):
        router.register("/sloppy", SloppyViewSet, basename="sloppy")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"throttle_rates": {"anon": "3/min"}}, "No throttle rate for scope 'user'"),
        (
            {"throttle_rates": {**{"anon": "3/min", "user": "5/min"}, "search": "4/fortnight"}},
            "4/fortnight",
        ),
        ({"throttle_store": "memcached://x"}, "THROTTLE_STORE='memcached://x'"),
    ],
)
async def test_a_missing_or_bad_setting_stops_the_app_from_starting(
    settings: dict[str, object], message: str
) -> None:
    app = throttled_app(**settings)
    with pytest.raises(ImproperlyConfigured, match=message):
        async with LifespanManager(app):
            pass


def test_throttled_is_a_429_even_without_a_known_wait() -> None:
    assert Throttled().detail == "Request was throttled."
    assert Throttled().headers is None
    assert Throttled(0.2).headers == {"Retry-After": "1"}


def test_an_app_without_throttles_needs_no_throttle_settings() -> None:
    CoreApp(title="t", settings=Settings(), models=TEST_MODELS)


def test_throttle_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THROTTLE_RATES", '{"anon": "5/min", "uploads": null}')
    monkeypatch.setenv("THROTTLE_CLASSES", "core.throttling.AnonRateThrottle, tests.x.Other")
    monkeypatch.setenv("THROTTLE_STORE", "database")
    monkeypatch.setenv("NUM_PROXIES", "1")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.throttle_rates == {"anon": "5/min", "uploads": None}
    assert settings.throttle_classes == ["core.throttling.AnonRateThrottle", "tests.x.Other"]
    assert (settings.throttle_store, settings.num_proxies) == ("database", 1)


async def test_an_unimportable_default_throttle_class_stops_the_app_from_starting() -> None:
    app = throttled_app(throttle_classes=["tests.throttling.nowhere.Throttle"])
    with pytest.raises(ImproperlyConfigured, match=r"cannot import 'tests\.throttling\.nowhere"):
        async with LifespanManager(app):
            pass


async def test_a_rate_of_none_turns_a_scope_off(store) -> None:
    async with app_client(throttled_app(throttle_rates={**RATES, "uploads": None})) as client:
        assert [(await client.post("/scoped/upload/")).status_code for _ in range(5)] == [200] * 5
