"""Many requests writing at once: never a 500 (no deadlock escapes), each answer a 2xx or 4xx.

Logouts and refreshes revoke tokens inside their request's transaction, the way a real server
runs them concurrently. On SQLite the requests take turns on the one connection; on PostgreSQL
and MariaDB (`make test-pg`, `make test-mysql`) they run in parallel, each in its own
transaction, where InnoDB used to deadlock (error 1213) and abort a logout with a 500.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from core.auth.models import RevokedToken
from core.auth.revocation import token_pair
from tests.example_models import User
from tests.views.test_auth_viewset import AUTH, login, register

PARALLEL = 50


async def test_fifty_parallel_logouts_and_refreshes_are_never_a_server_error(
    client, app_db
) -> None:
    await register(client)
    assert (await login(client)).status_code == 200
    user = await User.objects.using(app_db).get(email="new@example.com")
    # Expired revocations for every revoke to purge, between the new rows' expiry times.
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    await RevokedToken.bulk_create(
        [
            RevokedToken(jti=f"old-{i}", expires_at=past - dt.timedelta(seconds=i))
            for i in range(200)
        ],
        using_db=app_db,
    )
    pairs = [token_pair(user) for _ in range(PARALLEL)]

    async def logout(pair: dict[str, str]) -> int:
        response = await client.post(
            f"{AUTH}logout/",
            json={"refresh_token": pair["refresh_token"]},
            headers={"Authorization": f"Bearer {pair['access_token']}"},
        )
        return response.status_code

    async def refresh(pair: dict[str, str]) -> int:
        response = await client.post(
            f"{AUTH}refresh/", json={"refresh_token": pair["refresh_token"]}
        )
        return response.status_code

    # Every token pair is logged out and refreshed at once: one of the two revokes its
    # refresh token first, the other finds it revoked (a 401), neither fails.
    statuses = await asyncio.gather(
        *(task for pair in pairs for task in (logout(pair), refresh(pair)))
    )

    assert all(200 <= status < 500 for status in statuses), sorted(statuses)
    assert statuses.count(200) >= PARALLEL  # every logout, and the refreshes that won
    assert await RevokedToken.objects.using(app_db).filter(jti__startswith="old-").count() == 0
    # Each refresh token is revoked exactly once, whichever request won.
    assert await RevokedToken.objects.using(app_db).count() >= 2 * PARALLEL
