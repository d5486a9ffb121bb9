"""Failed logins limited per (account, address) and per account, without locking the owner out.

`LoginViewSet` uses `LoginAttempts`: an `AccountThrottle` with rate "3/15min" and
account_rate "5/hour".
"""

from __future__ import annotations

import httpx
import pytest

from core.testing import app_client, app_database
from core.throttling import DatabaseThrottleStore, set_throttle_store
from tests.example_models import User
from tests.throttling.support import Clock, client_at, throttled_app

LOGIN = "/auth/login/"
OWNER = {"email": "owner@example.com", "password": "Password1"}


def wrong(n: int = 0) -> dict[str, str]:
    return {"email": "owner@example.com", "password": f"guess{n}"}


async def attempts(client: httpx.AsyncClient, times: int) -> list[int]:
    return [(await client.post(LOGIN, json=wrong(n))).status_code for n in range(times)]


async def test_one_address_gets_a_few_guesses_then_waits(client, clock: Clock) -> None:
    await User.create_user(OWNER["email"], OWNER["password"], db=app_database())
    assert await attempts(client, 5) == [401, 401, 401, 429, 429]
    throttled = await client.post(LOGIN, json=OWNER)  # even the right password, from here
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == str(15 * 60)

    async with client_at(client, "198.51.100.1") as owner:  # the owner, elsewhere
        assert (await owner.post(LOGIN, json=OWNER)).status_code == 200

    clock.advance(15 * 60)
    assert (await client.post(LOGIN, json=OWNER)).status_code == 200


async def test_a_success_forgets_the_failures_from_that_address(client) -> None:
    await User.create_user(OWNER["email"], OWNER["password"], db=app_database())
    assert await attempts(client, 2) == [401, 401]
    assert (await client.post(LOGIN, json=OWNER)).status_code == 200
    # Without the reset the 4th attempt here would be refused; 5 attempts reach the cap.
    assert await attempts(client, 2) == [401, 401]
    assert (await client.post(LOGIN, json=wrong())).status_code == 429


async def test_requests_naming_no_account_are_left_to_the_view(client) -> None:
    for body, status in (({}, 422), ({"email": 5, "password": "x"}, 422), ([1], 422)):
        assert [(await client.post(LOGIN, json=body)).status_code for _ in range(5)] == [status] * 5
    blank = {"email": "  ", "password": "x"}  # no account to count: the view answers
    assert [(await client.post(LOGIN, json=blank)).status_code for _ in range(5)] == [401] * 5
    malformed = b'{"email": "owner@example.com"'
    for _ in range(5):
        response = await client.post(
            LOGIN, content=malformed, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400


async def test_accounts_are_compared_case_insensitively(client) -> None:
    statuses = []
    for email in (
        "Owner@Example.com",
        " owner@example.com",
        "OWNER@EXAMPLE.COM",
        "owner@example.com",
    ):
        response = await client.post(LOGIN, json={"email": email, "password": "x"})
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]


async def test_many_addresses_get_one_guess_each_past_the_account_cap_and_the_owner_gets_in(
    client, clock: Clock
) -> None:
    await User.create_user(OWNER["email"], OWNER["password"], db=app_database())
    botnet = [f"203.0.113.{n}" for n in range(1, 8)]
    for address in botnet[:5]:  # 5 failures from 5 addresses: the account's cap
        async with client_at(client, address) as bot:
            assert (await bot.post(LOGIN, json=wrong())).status_code == 401

    async with client_at(client, botnet[0]) as bot:  # failed here before: must wait
        refused = await bot.post(LOGIN, json=wrong(1))
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
    for address in botnet[5:]:  # a fresh address: one try, then it waits too
        async with client_at(client, address) as bot:
            assert await attempts(bot, 2) == [401, 429]

    async with client_at(client, "198.51.100.1") as owner:  # never failed: gets in
        assert (await owner.post(LOGIN, json=OWNER)).status_code == 200
        assert (await owner.post(LOGIN, json=OWNER)).status_code == 200  # and again

    clock.advance(3600)  # the cap's window ends: the first address may try again
    async with client_at(client, botnet[0]) as bot:
        assert (await bot.post(LOGIN, json=wrong(2))).status_code == 401


@pytest.mark.db
async def test_the_database_store_over_http(clock: Clock) -> None:
    """The same throttles with counters in the app's database (what `THROTTLE_STORE=database`
    selects), on SQLite and PostgreSQL."""
    set_throttle_store(DatabaseThrottleStore(clock=clock))
    async with app_client(throttled_app()) as client:
        assert [(await client.get("/t/ping/")).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        await User.create_user(OWNER["email"], OWNER["password"], db=app_database())
        assert await attempts(client, 4) == [401, 401, 401, 429]
        async with client_at(client, "198.51.100.1") as owner:
            assert (await owner.post(LOGIN, json=OWNER)).status_code == 200
        clock.advance(60)
        assert (await client.get("/t/ping/")).status_code == 200
