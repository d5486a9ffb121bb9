"""Token lifecycle in the database: revocation, refresh rotation, and the user behind a token.

Everything shared lives in the database (never in process memory), so a token revoked by one
worker is refused by every worker on every machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from core.adapters.tortoise import (
    compile_query,
    instance_from_row,
    model_connection,
    transaction_context,
)
from core.auth.models import AbstractUser, RevokedToken, get_user_model
from core.auth.tokens import (
    REFRESH,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_auth_config,
    verify_token,
)
from core.datetime import timezone
from core.db.asyncpg_client import fetch_lookup

#: The longest `jti` the revocation table holds; longer ones (custom backends) can't be revoked.
_MAX_JTI_LENGTH = 64


def _jti(payload: dict[str, Any]) -> str | None:
    """The token's `jti` if it can be stored in the revocation table, else None."""
    jti = payload.get("jti")
    if isinstance(jti, str) and 0 < len(jti) <= _MAX_JTI_LENGTH:
        return jti
    return None


async def _insert_revocation(
    jti: str, payload: dict[str, Any], db: BaseDBAsyncClient | None
) -> bool:
    """Insert the revocation row; False if this `jti` is already revoked (unique constraint).

    Inside a transaction the insert runs in a savepoint: on PostgreSQL a failed statement
    would otherwise abort the caller's whole transaction (e.g. an atomic request's).
    """
    client = db if db is not None else model_connection(RevokedToken, for_write=True)
    try:
        if isinstance(client, TransactionalDBClient):
            async with transaction_context(client) as savepoint:
                await RevokedToken.create(jti=jti, expires_at=_expiry(payload), using_db=savepoint)
        else:
            await RevokedToken.create(jti=jti, expires_at=_expiry(payload), using_db=client)
    except IntegrityError:
        return False
    return True


def _expiry(payload: dict[str, Any]) -> dt.datetime:
    exp = payload.get("exp")
    if isinstance(exp, int | float):
        return dt.datetime.fromtimestamp(exp, dt.UTC)
    return timezone.now() + get_auth_config().refresh_token_lifetime


async def revoke_token(token: str, db: BaseDBAsyncClient | None = None) -> bool:
    """Revoke a valid token (any type) until it expires; False if it was invalid or expired.

    Revoking twice is harmless. Rows of tokens that have expired anyway are purged here.
    """
    payload = decode_token(token)
    jti = _jti(payload) if payload is not None else None
    if payload is None or jti is None:
        return False
    await _purge_expired(db)
    if await RevokedToken.objects.using(db).filter(jti=jti).exists():
        return True
    await _insert_revocation(jti, payload, db)  # False: revoked concurrently, just as good
    return True


#: At most this many expired rows are deleted per revocation (the rest at the next ones).
_PURGE_BATCH = 100


async def _purge_expired(db: BaseDBAsyncClient | None) -> None:
    """Delete rows of tokens that have expired anyway: found by a plain read, deleted by id.

    A range DELETE on `expires_at` would also lock the first unexpired row, which a concurrent
    revocation may have just inserted: on MySQL/InnoDB two such requests deadlock (1213). By
    primary key, only expired rows are locked, in id order, and nobody inserts those.
    """
    expired = (
        await RevokedToken.objects.using(db)
        .filter(expires_at__lt=timezone.now())
        .order_by("id")
        .limit(_PURGE_BATCH)
        .values_list("id", flat=True)
    )
    if expired:
        await RevokedToken.objects.using(db).filter(id__in=list(expired)).delete()


async def is_token_revoked(payload: dict[str, Any], db: BaseDBAsyncClient | None = None) -> bool:
    """Whether the token with these claims was revoked (tokens without `jti` can't be)."""
    jti = _jti(payload)
    if jti is None:
        return False
    return bool(await RevokedToken.objects.using(db).filter(jti=jti).exists())


#: The annotation that carries a token's revocation row (or NULL) on the user's row.
_REVOKED = "_token_revocation_id"
#: The SQL of the user-and-revocation query, built by Tortoise once per connection and shape.
_USER_SQL: dict[tuple[Any, ...], str] = {}


def _user_query(
    user_model: type[AbstractUser], db: BaseDBAsyncClient, user_id: Any, jti: str | None
) -> Any:
    """The user's row and, with a `jti`, the id of its revocation row (NULL if not revoked)."""
    query = user_model.objects.using(db).filter(pk=user_id)
    if jti is not None:
        revocation = RevokedToken.objects.using(db).filter(jti=jti).limit(1).values("id")
        query = query.annotate(**{_REVOKED: Subquery(revocation)})
    return query.limit(1)


async def _user_row(
    user_model: type[AbstractUser], db: BaseDBAsyncClient | None, user_id: Any, jti: str | None
) -> dict[str, Any] | None:
    """The row of `_user_query`, in one statement; its SQL is built once and reused.

    Building a Tortoise query costs several times what running this one does, so the SQL is
    cached when the parameters Tortoise binds are the ones predicted here (else it is run as
    built, uncached). Values are always bound as parameters, never put into the SQL.
    """
    client = db if db is not None else model_connection(user_model)
    pk_value = user_model._meta.pk.to_db_value(user_id, user_model)
    params = [jti, 1, pk_value, 1] if jti is not None else [pk_value, 1]
    key = (client.connection_name, client.capabilities.dialect, user_model, jti is not None)
    sql = _USER_SQL.get(key)
    if sql is None:
        query = _user_query(user_model, client, user_id, jti)
        _, sql, built = compile_query(query)
        if list(built) == params:
            _USER_SQL[key] = sql
        params = list(built)
    rows = await fetch_lookup(client, sql, params)
    return dict(rows[0]) if rows else None


async def user_for_token(
    payload: dict[str, Any], db: BaseDBAsyncClient | None = None
) -> AbstractUser | None:
    """The active user a verified token speaks for, or None; one SQL statement.

    Refused: revoked tokens, unknown or deleted users, inactive users, and tokens issued
    before the user's password last changed. The user's row and the token's revocation row
    come back in one query (`SELECT <user>, (SELECT id FROM auth_revoked_tokens WHERE jti=?
    LIMIT 1) FROM users WHERE id=? LIMIT 1`), so revocation stays immediate across processes.
    Groups and permissions are not loaded: the checks that need them do (see `ahas_perm`).
    """
    user_model = get_user_model()
    pk_field = user_model._meta.pk
    try:
        user_id = pk_field.to_python_value(payload.get("sub"))
    except (TypeError, ValueError):
        return None
    bounds = pk_field.constraints  # an integer out of the column's range is no user's id
    low, high = bounds.get("ge", user_id), bounds.get("le", user_id)
    if user_id is None or (isinstance(user_id, int) and not low <= user_id <= high):
        return None
    row = await _user_row(user_model, db, user_id, _jti(payload))
    if row is None or row.pop(_REVOKED, None) is not None:
        return None
    user = instance_from_row(user_model, row)
    if not user.is_active:
        return None
    changed = user.password_changed_at
    issued_at = payload.get("iat")
    if changed is not None and (
        not isinstance(issued_at, int | float) or issued_at < _changed_at(changed, issued_at)
    ):
        return None
    return user


def _changed_at(changed: Any, issued_at: float) -> float:
    """When the password changed, at the precision of `iat`.

    The default backend's `iat` has microseconds, so a token issued earlier in the same second
    as the change is refused; whole-second `iat`s (custom backends) keep the whole second.
    """
    stamp: float = changed.timestamp()
    return float(int(stamp)) if isinstance(issued_at, int) else stamp


def token_pair(user: AbstractUser, **claims: Any) -> dict[str, Any]:
    """The login response body: access and refresh tokens for `user`."""
    subject = {"sub": str(user.pk), **claims}
    return {
        "access_token": create_access_token(subject),
        "refresh_token": create_refresh_token({"sub": str(user.pk)}),
        "token_type": "bearer",
        "expires_in": get_auth_config().access_token_expire_minutes * 60,
    }


async def rotate_refresh_token(
    refresh_token: str, db: BaseDBAsyncClient | None = None
) -> dict[str, Any] | None:
    """A new token pair for a valid refresh token, or None.

    With rotation on (the default) the used refresh token is revoked in the same step, by
    inserting its `jti` under a unique constraint: of two concurrent uses, exactly one wins.
    """
    payload = verify_token(refresh_token, token_type=REFRESH)
    if payload is None:
        return None
    user = await user_for_token(payload, db)
    if user is None:
        return None
    if not get_auth_config().rotate_refresh_tokens:
        return {**token_pair(user), "refresh_token": refresh_token}
    jti = _jti(payload)
    if jti is None:  # a token that can't be revoked can't be rotated safely
        return None
    if not await _insert_revocation(jti, payload, db):  # a replayed or concurrent refresh
        return None
    return token_pair(user)
