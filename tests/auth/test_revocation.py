"""Revocation, refresh rotation and the user behind a token, in a real database.

Everything shared lives in the database: a token revoked here is refused by another process
with its own connection, and of several concurrent uses of one refresh token exactly one wins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth import (
    PermissionsNotLoaded,
    RevokedToken,
    TokenBackend,
    configure_auth,
    create_access_token,
    create_refresh_token,
    is_token_revoked,
    register_token_backend,
    revoke_token,
    rotate_refresh_token,
    user_for_token,
    verify_token,
)
from core.db import connect, in_transaction
from core.db.schema import dialect_of
from core.testing import database_url_for_tests
from tests.example_models import User
from tests.helpers import OTHER_SECRET, SECRET, access_for, make_user

MODELS = ["tests.example_models"]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def auth_config() -> None:
    """The suite's `framework_state` fixture resets this (and token backends) after each test."""
    configure_auth(secret_key=SECRET, password_hasher="fast_test")


def refresh_for(user: User, **options: Any) -> str:
    return create_refresh_token({"sub": str(user.id)}, **options)


async def resolve(token: str, db: BaseDBAsyncClient) -> User | None:
    """What request authentication does with a Bearer token: verify, then look up the user."""
    payload = verify_token(token)
    assert payload is not None, "the token itself should be valid"
    user = await user_for_token(payload, db)
    assert user is None or isinstance(user, User)
    return user


def forge(claims: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret), ["HS256"])


# --- revocation --------------------------------------------------------------------------------


async def test_a_revoked_access_token_is_refused(db) -> None:
    user = await make_user(db)
    token, other = access_for(user), access_for(user)
    found = await resolve(token, db)
    assert found is not None and found.id == user.id

    assert await revoke_token(token, db) is True

    payload = verify_token(token)
    assert payload is not None  # still a well-formed, unexpired token...
    assert await is_token_revoked(payload, db) is True
    assert await user_for_token(payload, db) is None  # ...that no longer speaks for anyone
    other_payload = verify_token(other)
    assert other_payload is not None
    assert await is_token_revoked(other_payload, db) is False
    assert await resolve(other, db) is not None  # only that token, not the user's others


async def test_revoking_twice_is_harmless(db) -> None:
    user = await make_user(db)
    token = access_for(user)
    assert await revoke_token(token, db) is True
    assert await revoke_token(token, db) is True
    assert await RevokedToken.objects.using(db).count() == 1
    assert await resolve(token, db) is None


async def test_concurrent_revocations_of_one_token_all_succeed(db) -> None:
    user = await make_user(db)
    token = access_for(user)
    results = await asyncio.gather(*(revoke_token(token, db) for _ in range(5)))
    assert results == [True] * 5
    assert await RevokedToken.objects.using(db).count() == 1


async def test_concurrent_revocations_in_transactions_leave_them_usable(db) -> None:
    """Two logouts of one token in concurrent atomic requests: both succeed, neither breaks.

    On PostgreSQL the second insert hits the unique constraint once the first commits; that
    must not abort the rest of its transaction.
    """
    user = await make_user(db)
    token = access_for(user)

    async def revoke_in_a_transaction() -> tuple[bool, int]:
        async with in_transaction() as transaction:
            revoked = await revoke_token(token, transaction)
            await asyncio.sleep(0.05)
            still_usable = await User.objects.using(transaction).count()
        return revoked, still_usable

    assert await asyncio.gather(*(revoke_in_a_transaction() for _ in range(3))) == [(True, 1)] * 3
    assert await RevokedToken.objects.using(db).count() == 1
    assert await resolve(token, db) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        forge({"sub": "1", "type": "access", "iat": 1, "exp": 2**40, "jti": "x"}, OTHER_SECRET),
    ],
    ids=["empty", "garbage", "three-dots", "other-secret"],
)
async def test_revoking_an_invalid_token_returns_false(db, token: str) -> None:
    assert await revoke_token(token, db) is False
    assert await RevokedToken.objects.using(db).count() == 0


async def test_revoking_an_expired_token_returns_false(db) -> None:
    user = await make_user(db)
    expired = access_for(user, expires_delta=dt.timedelta(seconds=-1))
    assert verify_token(expired) is None
    assert await revoke_token(expired, db) is False
    assert await RevokedToken.objects.using(db).count() == 0


async def test_the_revocation_row_lives_as_long_as_the_token(db) -> None:
    user = await make_user(db)
    token = refresh_for(user)
    payload = verify_token(token, "refresh")
    assert payload is not None
    assert await revoke_token(token, db) is True
    row = await RevokedToken.objects.using(db).get(jti=payload["jti"])
    assert int(row.expires_at.timestamp()) == payload["exp"]


async def test_expired_revocation_rows_are_purged_on_the_next_revoke(db) -> None:
    user = await make_user(db)
    now = dt.datetime.now(dt.UTC)
    await RevokedToken.create(
        jti="long-expired", expires_at=now - dt.timedelta(hours=1), using_db=db
    )
    await RevokedToken.create(jti="still-live", expires_at=now + dt.timedelta(hours=1), using_db=db)

    token = access_for(user)
    assert await revoke_token(token, db) is True

    jtis = set(await RevokedToken.objects.using(db).values_list("jti", flat=True))
    payload = verify_token(token)
    assert payload is not None
    assert jtis == {"still-live", payload["jti"]}


async def test_a_revoked_refresh_token_cannot_be_rotated(db) -> None:
    user = await make_user(db)
    refresh = refresh_for(user)
    assert await revoke_token(refresh, db) is True
    assert await rotate_refresh_token(refresh, db) is None


# --- a second process sees the revocation --------------------------------------------------------

CHILD = """
import asyncio, json, sys

from core.auth import is_token_revoked, revoke_token, user_for_token, verify_token
from core.db import connect


async def main():
    revoked, fresh, to_revoke = sys.argv[1:4]
    report = {}
    async with connect(models=["tests.example_models"]) as db:  # DATABASE_URL from the env
        for name, token in (("revoked", revoked), ("fresh", fresh)):
            payload = verify_token(token)
            user = await user_for_token(payload, db) if payload else None
            report[name] = {
                "valid": payload is not None,
                "revoked": await is_token_revoked(payload, db) if payload else None,
                "user": user.email if user else None,
            }
        report["revoked_here"] = await revoke_token(to_revoke, db)
    print(json.dumps(report))


asyncio.run(main())
"""


async def run_second_instance(database_url: str, *tokens: str) -> dict[str, Any]:
    """Run CHILD in a new Python process with the same secret and database, return its report."""
    env = {**os.environ, "SECRET_KEY": SECRET, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        *tokens,
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    report: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return report


async def test_a_revocation_is_seen_by_another_process_and_back(db, tmp_path: Path) -> None:
    """Two app instances (here: this process and a child) share revocations through the database."""
    url = database_url_for_tests()
    async with AsyncExitStack() as stack:
        if ":memory:" in url:  # SQLite: a file both processes open
            url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
            shared = await stack.enter_async_context(connect(url, MODELS, create_schema=True))
        else:  # PostgreSQL: the test database itself (autocommit, so the child sees it all)
            shared = db
        user = await make_user(shared, "shared@example.com")
        revoked, fresh, revoked_by_child = access_for(user), access_for(user), access_for(user)
        assert await revoke_token(revoked, shared) is True
        # Verified (so remembered by this process's token backend) before the child revokes it.
        assert await resolve(revoked_by_child, shared) is not None

        report = await run_second_instance(url, revoked, fresh, revoked_by_child)

        assert report["revoked"] == {"valid": True, "revoked": True, "user": None}
        assert report["fresh"] == {"valid": True, "revoked": False, "user": "shared@example.com"}
        assert report["revoked_here"] is True
        assert await resolve(revoked_by_child, shared) is None
        assert await resolve(fresh, shared) is not None


# --- refresh rotation -------------------------------------------------------------------------


async def test_rotation_returns_a_new_pair_and_retires_the_old_refresh_token(db) -> None:
    user = await make_user(db)
    refresh = refresh_for(user)

    pair = await rotate_refresh_token(refresh, db)
    assert pair is not None
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] > 0
    assert pair["refresh_token"] != refresh
    found = await resolve(pair["access_token"], db)
    assert found is not None and found.id == user.id
    assert verify_token(pair["refresh_token"], "refresh") is not None

    assert await rotate_refresh_token(refresh, db) is None  # used once: a replay now
    assert await rotate_refresh_token(pair["refresh_token"], db) is not None  # the new one works
    assert await rotate_refresh_token(pair["refresh_token"], db) is None  # ...once


@pytest.mark.parametrize("uses", [2, 10])
async def test_parallel_rotations_of_one_refresh_token_give_exactly_one_pair(db, uses: int) -> None:
    user = await make_user(db)
    refresh = refresh_for(user)
    payload = verify_token(refresh, "refresh")
    assert payload is not None

    results = await asyncio.gather(*(rotate_refresh_token(refresh, db) for _ in range(uses)))

    assert sum(result is not None for result in results) == 1
    assert await RevokedToken.objects.using(db).filter(jti=payload["jti"]).count() == 1


async def test_concurrent_queries_on_the_db_handle_overlap_on_postgresql(db) -> None:
    """The handle `connect()` yields is the pooled client, so the gathered rotations above
    really run in parallel on PostgreSQL: a pool only hands out another connection while the
    first is busy, so three different server processes mean three overlapping queries.
    SQLite has one connection, where gathered queries take turns."""
    if dialect_of(db) != "postgres":
        rows = await asyncio.gather(*(db.execute_query_dict("SELECT 1 AS one") for _ in range(3)))
        assert rows == [[{"one": 1}]] * 3
        return
    rows = await asyncio.gather(
        *(db.execute_query_dict("SELECT pg_backend_pid() AS pid, pg_sleep(0.3)") for _ in range(3))
    )
    assert len({row[0]["pid"] for row in rows}) == 3


@pytest.mark.parametrize("uses", [2, 10])
async def test_parallel_rotations_in_separate_transactions_give_exactly_one_pair(
    db, uses: int
) -> None:
    """As concurrent atomic requests would: each rotation in its own transaction, held open.

    On PostgreSQL every transaction gets its own connection; the winner's row is uncommitted
    while the others try, so the unique constraint (not the earlier lookup) decides, and the
    losers' transactions stay usable afterwards.
    """
    user = await make_user(db)
    refresh = refresh_for(user)

    async def rotate_in_a_transaction() -> tuple[dict[str, Any] | None, int]:
        async with in_transaction() as transaction:
            pair = await rotate_refresh_token(refresh, transaction)
            await asyncio.sleep(0.05)  # keep the transaction open while the others try
            still_usable = await User.objects.using(transaction).count()
        return pair, still_usable

    results = await asyncio.gather(*(rotate_in_a_transaction() for _ in range(uses)))

    assert sum(pair is not None for pair, _ in results) == 1
    assert all(count == 1 for _, count in results)


async def test_an_access_token_cannot_be_used_as_a_refresh_token(db) -> None:
    user = await make_user(db)
    access = access_for(user)
    assert await rotate_refresh_token(access, db) is None
    assert await RevokedToken.objects.using(db).count() == 0
    assert await resolve(access, db) is not None


async def test_refresh_tokens_of_inactive_or_deleted_users_are_refused(db) -> None:
    inactive = await make_user(db, "inactive@example.com")
    gone = await make_user(db, "gone@example.com")
    inactive_refresh, gone_refresh = refresh_for(inactive), refresh_for(gone)
    inactive.is_active = False
    await inactive.save(db)
    await gone.delete(db)

    assert await rotate_refresh_token(inactive_refresh, db) is None
    assert await rotate_refresh_token(gone_refresh, db) is None


async def test_without_rotation_the_refresh_token_keeps_working(db) -> None:
    configure_auth(secret_key=SECRET, password_hasher="fast_test", rotate_refresh_tokens=False)
    user = await make_user(db)
    refresh = refresh_for(user)
    access_tokens = set()
    for _ in range(3):
        pair = await rotate_refresh_token(refresh, db)
        assert pair is not None
        assert pair["refresh_token"] == refresh
        assert await resolve(pair["access_token"], db) is not None
        access_tokens.add(pair["access_token"])
    assert len(access_tokens) == 3
    assert await RevokedToken.objects.using(db).count() == 0
    configure_auth(secret_key=SECRET, password_hasher="fast_test")
    assert await rotate_refresh_token(refresh, db) is not None  # rotation back on: once more...
    assert await rotate_refresh_token(refresh, db) is None  # ...then retired


class NoJtiBackend(TokenBackend):
    """A custom backend (like the guide's) whose tokens carry no usable `jti`."""

    name = "no_jti"
    key = OctKey.import_key(SECRET)

    def __init__(self, jti: str | None) -> None:
        self.jti = jti

    def create_token(
        self, payload: dict[str, Any], token_type: str = "access", expires_delta: Any = None
    ) -> str:
        now = int(time.time())
        claims = {**payload, "type": token_type, "iat": now, "exp": now + 600}
        if self.jti is not None:
            claims["jti"] = self.jti
        return jwt.encode({"alg": "HS256"}, claims, self.key, ["HS256"])

    def decode_token(self, token: str) -> dict[str, Any] | None:
        try:
            claims = jwt.decode(token, self.key, ["HS256"]).claims
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
        except Exception:
            return None
        return claims


@pytest.mark.parametrize("jti", [None, "j" * 100], ids=["no-jti", "jti-too-long-to-store"])
async def test_tokens_that_cannot_be_revoked_are_refused_for_rotation_never_a_crash(
    db, jti: str | None
) -> None:
    register_token_backend(NoJtiBackend(jti))
    user = await make_user(db)
    access, refresh = access_for(user), refresh_for(user)
    payload = verify_token(access)
    assert payload is not None

    assert await is_token_revoked(payload, db) is False
    assert await resolve(access, db) is not None
    assert await revoke_token(access, db) is False  # says honestly it could not revoke
    assert await rotate_refresh_token(refresh, db) is None  # fails closed: no replay protection
    assert await RevokedToken.objects.using(db).count() == 0


# --- the user behind a token ------------------------------------------------------------------


async def test_a_token_issued_before_the_password_changed_is_refused(db) -> None:
    user = await make_user(db)
    token = access_for(user)
    payload = verify_token(token)
    assert payload is not None
    issued = dt.datetime.fromtimestamp(payload["iat"], dt.UTC)
    rows = User.objects.using(db).filter(id=user.id)

    await rows.update(password_changed_at=issued - dt.timedelta(seconds=5))
    assert await resolve(token, db) is not None  # changed before: fine
    await rows.update(password_changed_at=issued - dt.timedelta(milliseconds=1))
    assert await resolve(token, db) is not None  # changed just before: fine
    await rows.update(password_changed_at=issued + dt.timedelta(milliseconds=1))
    assert await resolve(token, db) is None  # the same second, but after: the token is older
    await rows.update(password_changed_at=issued + dt.timedelta(seconds=3))
    assert await resolve(token, db) is None  # issued before the change


async def test_changing_the_password_logs_out_older_tokens(db) -> None:
    user = await make_user(db)
    old_access, old_refresh = access_for(user), refresh_for(user)
    await asyncio.sleep(0.002)  # `iat` has microsecond resolution: the same second is enough

    user.set_password("a-new-password-123")
    await user.save(db)

    assert await resolve(old_access, db) is None
    assert await rotate_refresh_token(old_refresh, db) is None
    new_access = access_for(user)
    assert await resolve(new_access, db) is not None


async def test_tokens_of_inactive_and_deleted_users_are_refused(db) -> None:
    inactive = await make_user(db, "inactive@example.com")
    gone = await make_user(db, "gone@example.com")
    inactive_token, gone_token = access_for(inactive), access_for(gone)
    assert await resolve(inactive_token, db) is not None

    inactive.is_active = False
    await inactive.save(db)
    await gone.delete(db)

    assert await resolve(inactive_token, db) is None
    assert await resolve(gone_token, db) is None


@pytest.mark.parametrize(
    "sub",
    ["abc", "1.5", "0x1", "1e3", "-1", "0", "\x00", "99999999999999999999", "2147483648"],
)
async def test_a_token_whose_subject_is_no_user_id_is_refused_without_an_error(
    db, sub: str
) -> None:
    await make_user(db)  # id 1 exists, so a lenient parse would find someone
    token = create_access_token({"sub": sub})
    assert await resolve(token, db) is None


@pytest.mark.parametrize("sub", [None, [1], {"id": 1}, ""], ids=repr)
async def test_claims_with_a_malformed_subject_are_refused(db, sub: object) -> None:
    await make_user(db)
    payload = {"sub": sub, "type": "access", "iat": int(time.time()), "jti": "j1"}
    assert await user_for_token(payload, db) is None


async def test_the_user_comes_without_permissions_which_the_async_checks_load(db) -> None:
    """Authentication never reads groups or permissions; the sync checks refuse to guess."""
    user = await make_user(db)
    await user.add_permission("posts.publish", db)
    found = await resolve(access_for(user), db)
    assert found is not None and not found.permissions_loaded
    with pytest.raises(PermissionsNotLoaded):
        found.has_perm("posts.publish")
    assert await found.ahas_perm("posts.publish", db)
    assert not await found.ahas_perm("posts.delete", db)
    assert found.permissions_loaded and found.has_perm("posts.publish")
