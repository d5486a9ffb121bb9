"""Authentication backends: who is this? One class per method, behind one registry.

The default backend checks an email and password. Request authentication tries the
Bearer token first, then every other registered backend (API keys, ...).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from core.auth.models import APIKey, get_user_model
from core.datetime import timezone
from core.exceptions import ImproperlyConfigured

logger = logging.getLogger("core.auth")


class AuthBackend:
    """Subclass and register to add a way of logging in; `name` identifies it."""

    name: str = ""

    async def authenticate(self, request: Any, db: BaseDBAsyncClient, **credentials: Any) -> Any:
        """The user these credentials (or this request) identify, else None."""
        return None

    async def get_user(self, user_id: Any, db: BaseDBAsyncClient) -> Any:
        """The user with this id, else None."""
        return await get_user_model().objects.using(db).get_or_none(pk=user_id)


class ModelBackend(AuthBackend):
    """Email and password against the user model (`get_auth_backend("default")`)."""

    name = "default"

    async def authenticate(
        self,
        request: Any,
        db: BaseDBAsyncClient,
        email: str | None = None,
        password: str | None = None,
        **credentials: Any,
    ) -> Any:
        if email is None and password is None:
            return None  # nothing to check: a request without credentials
        return await get_user_model().authenticate(email, password, db)  # type: ignore[arg-type]


API_KEY_PREFIX_LENGTH = 12
_MAX_API_KEY_LENGTH = 200
_HEX_DIGITS = frozenset("0123456789abcdef")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class APIKeyBackend(AuthBackend):
    """`X-API-Key: <prefix>.<secret>`: found by prefix, compared by digest in constant time.

    Keys are random (256 bits), so a fast digest is safe to store; the raw key is shown once.
    """

    name = "api_key"
    header = "X-API-Key"

    @staticmethod
    async def create_key(
        user: Any, db: BaseDBAsyncClient | None = None, name: str = ""
    ) -> tuple[APIKey, str]:
        """A new key for `user`: the stored row and the raw key to hand to the client once."""
        prefix = secrets.token_hex(API_KEY_PREFIX_LENGTH // 2)
        raw = f"{prefix}.{secrets.token_urlsafe(32)}"
        key = await APIKey.create(
            user_id=user.pk, name=name, prefix=prefix, key_hash=_digest(raw), using_db=db
        )
        return key, raw

    async def authenticate(self, request: Any, db: BaseDBAsyncClient, **credentials: Any) -> Any:
        raw = credentials.get("api_key")
        if raw is None and request is not None:
            raw = request.headers.get(self.header)
        if not isinstance(raw, str) or not raw or len(raw) > _MAX_API_KEY_LENGTH:
            return None
        if not raw.isascii():
            return None
        prefix, dot, _ = raw.partition(".")
        if not dot or len(prefix) != API_KEY_PREFIX_LENGTH or not set(prefix) <= _HEX_DIGITS:
            return None  # not a key `create_key` made; never sent to the database
        key = await APIKey.objects.using(db).get_or_none(prefix=prefix, is_active=True)
        candidate = _digest(raw)
        if key is None:
            hmac.compare_digest(candidate, candidate)  # same work whether the prefix exists
            return None
        if not hmac.compare_digest(key.key_hash, candidate):
            return None
        if key.expires_at is not None and key.expires_at <= timezone.now():
            return None
        user = await self.get_user(key.user_id, db)
        if user is None or not getattr(user, "is_active", False):
            return None
        await self._record_use(key, db)
        return user

    async def _record_use(self, key: APIKey, db: BaseDBAsyncClient) -> None:
        """Stamp `last_used_at`; a failure here is logged, never fatal to authentication."""
        try:
            await self.record_use(key, db)
        except Exception:
            logger.warning("could not record the use of API key %s", key.prefix, exc_info=True)

    async def record_use(self, key: APIKey, db: BaseDBAsyncClient) -> None:
        await APIKey.objects.using(db).filter(id=key.id).update(last_used_at=timezone.now())


_backends: dict[str, AuthBackend] = {ModelBackend.name: ModelBackend()}


def register_auth_backend(backend: AuthBackend) -> AuthBackend:
    """Make `backend` available by its name and in request authentication."""
    if not backend.name:
        raise ImproperlyConfigured(f"{type(backend).__name__} needs a `name`")
    _backends[backend.name] = backend
    return backend


def unregister_auth_backend(name: str) -> None:
    if name == ModelBackend.name:
        _backends[name] = ModelBackend()
    else:
        _backends.pop(name, None)


def reset_auth_backends() -> None:
    """Keep only the built-in email/password backend (test isolation)."""
    _backends.clear()
    _backends[ModelBackend.name] = ModelBackend()


def get_auth_backend(name: str = "default") -> AuthBackend:
    try:
        return _backends[name]
    except KeyError:
        known = ", ".join(sorted(_backends))
        raise ImproperlyConfigured(
            f"no auth backend named {name!r} is registered (registered: {known})"
        ) from None


def get_auth_backends() -> list[AuthBackend]:
    """Every registered backend, the default first."""
    return list(_backends.values())
