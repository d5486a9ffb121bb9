"""API keys: `<prefix>.<secret>`, stored as a prefix and a SHA-256 digest, checked in the database."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import pytest
from starlette.requests import Request
from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth import APIKey, APIKeyBackend
from tests.example_models import User
from tests.helpers import make_user


def request_with(headers: dict[str, bytes]) -> Request:
    """A real Starlette request carrying these raw headers (as an ASGI server would build it)."""
    raw = [(name.lower().encode(), value) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


async def authenticate(raw: str | bytes, db: BaseDBAsyncClient) -> User | None:
    """Authenticate the way a request does: the key in the `X-API-Key` header."""
    value = raw if isinstance(raw, bytes) else raw.encode()
    user = await APIKeyBackend().authenticate(request_with({"X-API-Key": value}), db)
    assert user is None or isinstance(user, User)
    return user


async def test_a_new_key_authenticates_its_user(db) -> None:
    owner = await make_user(db)
    other = await make_user(db, "other@example.com")
    key, raw = await APIKeyBackend.create_key(owner, db, name="deploy bot")
    _, other_raw = await APIKeyBackend.create_key(other, db)

    assert key.user_id == owner.id and key.name == "deploy bot" and key.is_active
    found = await authenticate(raw, db)
    assert found is not None and found.id == owner.id
    found_other = await authenticate(other_raw, db)
    assert found_other is not None and found_other.id == other.id
    by_credentials = await APIKeyBackend().authenticate(None, db, api_key=raw)
    assert by_credentials is not None and by_credentials.id == owner.id


async def test_only_a_prefix_and_a_digest_are_stored(db) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)
    prefix, secret = raw.split(".", 1)

    assert key.prefix == prefix
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    rows = await db.execute_query_dict("SELECT * FROM auth_api_keys")
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert raw not in stored and secret not in stored
    assert len(secret) >= 43  # 256 random bits, urlsafe base64


async def test_keys_are_distinct(db) -> None:
    owner = await make_user(db)
    created = [await APIKeyBackend.create_key(owner, db) for _ in range(5)]
    assert len({key.prefix for key, _ in created}) == 5
    assert len({raw for _, raw in created}) == 5


async def test_a_wrong_secret_with_a_right_prefix_is_refused(db) -> None:
    owner = await make_user(db)
    _, raw = await APIKeyBackend.create_key(owner, db)
    _, other_raw = await APIKeyBackend.create_key(owner, db)
    prefix, secret = raw.split(".", 1)

    changed = "A" if secret[-1] != "A" else "B"
    assert await authenticate(f"{prefix}.{secret[:-1]}{changed}", db) is None
    assert await authenticate(f"{prefix}.{other_raw.split('.', 1)[1]}", db) is None
    assert await authenticate(f"{prefix}.", db) is None
    assert await authenticate(f"{prefix}.{secret}.", db) is None


async def test_an_unknown_prefix_is_refused(db) -> None:
    owner = await make_user(db)
    _, raw = await APIKeyBackend.create_key(owner, db)
    prefix, secret = raw.split(".", 1)
    unknown = format((int(prefix, 16) + 1) % 16 ** len(prefix), f"0{len(prefix)}x")
    assert await authenticate(f"{unknown}.{secret}", db) is None


async def test_an_inactive_key_is_refused(db) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)
    await APIKey.objects.using(db).filter(id=key.id).update(is_active=False)
    assert await authenticate(raw, db) is None


async def test_an_expired_key_is_refused_and_one_expiring_later_works(db) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)
    rows = APIKey.objects.using(db).filter(id=key.id)
    now = dt.datetime.now(dt.UTC)

    await rows.update(expires_at=now + dt.timedelta(hours=1))
    assert await authenticate(raw, db) is not None
    await rows.update(expires_at=now - dt.timedelta(seconds=1))
    assert await authenticate(raw, db) is None


async def test_keys_of_inactive_or_deleted_users_are_refused(db) -> None:
    inactive = await make_user(db, "inactive@example.com")
    gone = await make_user(db, "gone@example.com")
    _, inactive_raw = await APIKeyBackend.create_key(inactive, db)
    _, gone_raw = await APIKeyBackend.create_key(gone, db)
    inactive.is_active = False
    await inactive.save(db)
    await gone.delete(db)

    assert await authenticate(inactive_raw, db) is None
    assert await authenticate(gone_raw, db) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw + "s" * 300,  # oversized
        lambda raw: raw + "é",  # non-ASCII
        lambda raw: raw.replace(".", ""),  # no dot
        lambda raw: raw.replace(".", "\x00."),  # NUL in the prefix (PostgreSQL refuses NULs)
        lambda raw: "a" * 40 + raw[raw.index(".") :],  # a prefix longer than the column
        lambda raw: "zz" + raw[2:],  # a prefix that is not hex
        lambda raw: "." + raw,  # an empty prefix
        lambda raw: "",
    ],
    ids=[
        "oversized",
        "non-ascii",
        "no-dot",
        "nul",
        "long-prefix",
        "not-hex",
        "empty-prefix",
        "empty",
    ],
)
async def test_malformed_keys_are_refused_never_an_error(db, mangle) -> None:
    owner = await make_user(db)
    _, raw = await APIKeyBackend.create_key(owner, db)
    mangled = mangle(raw)
    assert await APIKeyBackend().authenticate(None, db, api_key=mangled) is None
    assert await authenticate(mangled.encode("utf-8"), db) is None
    assert await authenticate(raw, db) is not None  # the key itself still works


async def test_non_string_credentials_and_requests_without_a_key_are_refused(db) -> None:
    backend = APIKeyBackend()
    assert await backend.authenticate(None, db) is None
    assert await backend.authenticate(request_with({}), db) is None
    assert await backend.authenticate(None, db, api_key=b"0123456789ab.secret") is None
    assert await backend.authenticate(None, db, api_key=12345) is None


async def test_a_successful_use_is_recorded(db) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)
    assert key.last_used_at is None

    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert await authenticate(raw, db) is not None
    stored = await APIKey.objects.using(db).get(id=key.id)
    assert stored.last_used_at is not None
    assert before <= stored.last_used_at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


async def test_a_failed_use_is_not_recorded(db) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)
    assert await authenticate(raw + "x", db) is None
    assert (await APIKey.objects.using(db).get(id=key.id)).last_used_at is None


class ReadOnlyStampBackend(APIKeyBackend):
    """A backend whose bookkeeping fails (say, a read-only replica)."""

    async def record_use(self, key: APIKey, db: BaseDBAsyncClient) -> None:
        raise RuntimeError("cannot execute UPDATE in a read-only transaction")


async def test_a_failing_record_use_still_authenticates_and_is_logged(db, caplog) -> None:
    owner = await make_user(db)
    key, raw = await APIKeyBackend.create_key(owner, db)

    with caplog.at_level(logging.WARNING, logger="core.auth"):
        user = await ReadOnlyStampBackend().authenticate(None, db, api_key=raw)

    assert user is not None and user.id == owner.id
    assert (await APIKey.objects.using(db).get(id=key.id)).last_used_at is None
    assert any(key.prefix in record.getMessage() for record in caplog.records)
    assert raw.split(".", 1)[1] not in caplog.text  # the secret never reaches the log
