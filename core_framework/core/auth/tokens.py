"""Access and refresh tokens: signed JWTs (joserfc) behind a pluggable, registered backend.

The secret, lifetimes and claims come from the settings in force (the running app's own, see
`core.config.get_settings`), resolved once per settings object; `configure_auth` fixes them for
scripts and apps built without `settings=`. `create_access_token`,
`create_refresh_token`, `verify_token` and `decode_token` delegate to the active backend, which
`register_token_backend` replaces (the guide's `CustomJWTBackend`). Verification never raises:
anything but a valid token of the expected type gives None. Revocation (by `jti`) lives in the
database layer, which must check it in addition to `verify_token`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, ClassVar, Final, TypedDict, Unpack

from joserfc import jwt
from joserfc.errors import InvalidClaimError
from joserfc.jwk import OctKey

from core.auth.hashers import set_default_password_hasher
from core.config import Settings, check_production_secret, derived, get_app_settings, get_settings
from core.exceptions import ImproperlyConfigured

__all__ = [
    "ACCESS",
    "MAX_TOKEN_LENGTH",
    "REFRESH",
    "AuthConfig",
    "JWTBackend",
    "TokenBackend",
    "VerifiedTokens",
    "auth_config_for",
    "configure_auth",
    "create_access_token",
    "create_refresh_token",
    "decode_token",
    "get_auth_config",
    "get_token_backend",
    "register_token_backend",
    "reset_auth_config",
    "reset_token_backends",
    "unregister_token_backend",
    "verify_token",
]

ACCESS: Final = "access"
REFRESH: Final = "refresh"
#: Longer strings are refused before any parsing: real tokens are a few hundred bytes.
MAX_TOKEN_LENGTH = 8 * 1024
#: The HMAC algorithms the default backend signs with; others need a custom TokenBackend.
SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512")
#: Claims the backend sets itself; a caller's payload cannot override them.
RESERVED_CLAIMS = frozenset({"type", "iat", "exp", "jti", "iss", "aud"})
#: How far in the future an `iat` may lie (clock skew between servers); `exp` gets no leeway.
IAT_CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class AuthConfig:
    """The token and password settings `configure_auth` fixed, read by the token functions."""

    secret_key: str = field(repr=False)
    access_token_expire_minutes: int
    refresh_token_expire_days: int
    password_hasher: str
    algorithm: str
    issuer: str | None
    audience: str | None
    rotate_refresh_tokens: bool

    @property
    def access_token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.access_token_expire_minutes)

    @property
    def refresh_token_lifetime(self) -> timedelta:
        return timedelta(days=self.refresh_token_expire_days)


class AuthOptions(TypedDict, total=False):
    """What `configure_auth` may fix: the fields of `AuthConfig`; None means "from Settings"."""

    secret_key: str | None
    access_token_expire_minutes: int | None
    refresh_token_expire_days: int | None
    password_hasher: str | None
    algorithm: str | None
    issuer: str | None
    audience: str | None
    rotate_refresh_tokens: bool | None


_config: AuthConfig | None = None
#: Options where an empty string, like None, means "take the setting".
_EMPTY_IS_UNSET = frozenset({"password_hasher", "algorithm"})


def _setting_name(option: str) -> str:
    """The Settings field behind an AuthConfig field: `SECRET_KEY`, else `AUTH_<NAME>`."""
    return option if option == "secret_key" else f"auth_{option}"


def _build_config(settings: Settings, **options: Any) -> AuthConfig:
    """An AuthConfig from `settings`, with the given `options` in place, checked for safety."""
    values = {f.name: getattr(settings, _setting_name(f.name)) for f in fields(AuthConfig)}
    for name, value in options.items():
        if value is not None and not (value == "" and name in _EMPTY_IS_UNSET):
            values[name] = value
    config = AuthConfig(**values)
    if not config.secret_key:
        raise ImproperlyConfigured("The auth secret key is empty: set SECRET_KEY")
    if settings.is_production:
        check_production_secret(config.secret_key)
    if config.algorithm not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(
            f"Unsupported token algorithm {config.algorithm!r}: the default backend signs with "
            f"{', '.join(SUPPORTED_ALGORITHMS)}; register a TokenBackend for other algorithms"
        )
    if config.access_token_expire_minutes <= 0 or config.refresh_token_expire_days <= 0:
        raise ImproperlyConfigured("Token lifetimes must be positive")
    return config


def auth_config_for(settings: Settings) -> AuthConfig:
    """The AuthConfig of `settings`: built and checked once per settings object, then reused."""
    return derived(settings, "auth_config", _build_config)


def configure_auth(**options: Unpack[AuthOptions]) -> AuthConfig:
    """Fix the token settings and default hasher of the process; omitted values come from Settings.

    The options are `AuthConfig`'s fields (`secret_key`, `access_token_expire_minutes`,
    `refresh_token_expire_days`, `password_hasher`, `algorithm`, `issuer`, `audience`,
    `rotate_refresh_tokens`). For scripts and apps built without `settings=`: an app given
    `CoreApp(settings=...)` signs, verifies and hashes with its own settings, whatever this
    was told.
    """
    global _config
    unknown = sorted(options.keys() - AuthOptions.__annotations__.keys())
    if unknown:
        raise TypeError(f"configure_auth() got an unexpected keyword argument {unknown[0]!r}")
    config = _build_config(get_settings(), **options)
    _config = config
    set_default_password_hasher(config.password_hasher)
    return config


def get_auth_config() -> AuthConfig:
    """The running app's config (from its settings), else `configure_auth`'s, else the settings'."""
    if _config is not None and get_app_settings() is None:
        return _config
    return auth_config_for(get_settings())


def reset_auth_config() -> None:
    """Forget `configure_auth`: settings are read again and the hasher default follows them."""
    global _config
    _config = None
    set_default_password_hasher(None)


class TokenBackend:
    """Base class for token backends: set `name`, implement `create_token` and `decode_token`."""

    name: ClassVar[str] = ""

    def create_token(
        self,
        payload: dict[str, Any],
        token_type: str = ACCESS,
        expires_delta: timedelta | None = None,
    ) -> str:
        """A signed token carrying `payload`, of `token_type`, expiring after `expires_delta`."""
        raise NotImplementedError("subclasses of TokenBackend must provide create_token()")

    def decode_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token of any type; None for anything else."""
        raise NotImplementedError("subclasses of TokenBackend must provide decode_token()")

    def verify_token(self, token: str, token_type: str = ACCESS) -> dict[str, Any] | None:
        """The claims of a valid token whose `type` is `token_type`; None for anything else."""
        payload = self.decode_token(token)
        if payload is None or payload.get("type") != token_type:
            return None
        return payload


class _ClaimsRegistry(jwt.JWTClaimsRegistry):
    """joserfc's claim checks, with a little clock skew for `iat` only and a string `type`."""

    def validate_iat(self, value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidClaimError("iat", "Claim 'iat' must be a NumericDate value")
        if value > self.now + IAT_CLOCK_SKEW_SECONDS:
            raise InvalidClaimError("iat", "The token was issued in the future")

    def validate_type(self, value: object) -> None:
        if not isinstance(value, str):
            raise InvalidClaimError("type", "Claim 'type' must be a string")
        self.check_value("type", value)


@functools.lru_cache(maxsize=8)
def _signing_key(secret_key: str) -> OctKey:
    return OctKey.import_key(secret_key)


@functools.lru_cache(maxsize=8)
def _claims_registry(issuer: str | None, audience: str | None) -> _ClaimsRegistry:
    """The claim checks for an issuer and audience: built once (a registry keeps no state;
    its `now` is read at each validation)."""
    required: dict[str, jwt.ClaimsOption] = {
        claim: {"essential": True} for claim in ("sub", "type", "iat", "exp", "jti")
    }
    if issuer is not None:
        required["iss"] = {"essential": True, "value": issuer}
    if audience is not None:
        required["aud"] = {"essential": True, "value": audience}
    return _ClaimsRegistry(None, 0, **required)


class VerifiedTokens:
    """Claims of tokens verified lately, so a client's repeated Bearer token is parsed, its
    signature and its claims checked once rather than on every request.

    Only tokens that passed every check are kept, keyed by their SHA-256 (the token itself is
    not stored). An entry counts only under the AuthConfig it was verified with: another app's
    settings or a changed secret verify the token again. `exp` is checked at every use. What
    can change while a token lives (revocation, the user's password and `is_active`) is not
    cached here: `user_for_token` reads it from the database for every request.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: dict[bytes, tuple[AuthConfig, dict[str, Any]]] = {}
        self._lock = threading.Lock()  # sync code verifies tokens on threadpool threads too

    def get(self, token: str, config: AuthConfig, now: int) -> dict[str, Any] | None:
        """A copy of the token's claims if it was verified under `config` and is unexpired."""
        key = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(key)
        if entry is None or entry[0] is not config:
            return None
        claims = entry[1]
        if claims["exp"] <= now:  # joserfc's rule: expired at `exp` itself
            with self._lock:
                self._entries.pop(key, None)
            return None
        return dict(claims)

    def add(self, token: str, config: AuthConfig, claims: dict[str, Any]) -> None:
        """Remember a token that passed verification; the oldest entry makes room.

        `size = 0` remembers nothing: every request verifies its token again.
        """
        if self.size <= 0:
            return
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (config, dict(claims))

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class JWTBackend(TokenBackend):
    """The default backend: HMAC-signed JWTs through joserfc, per the active AuthConfig.

    Verified tokens are remembered (`VerifiedTokens`), so a client sending the same token on
    every request pays for its signature and claim checks once.
    """

    name = "jwt"

    def __init__(self) -> None:
        self.verified = VerifiedTokens()

    def create_token(
        self,
        payload: dict[str, Any],
        token_type: str = ACCESS,
        expires_delta: timedelta | None = None,
    ) -> str:
        """A JWT with the caller's claims plus `type`, `iat`, `exp`, `jti` (and `iss`/`aud`)."""
        config = get_auth_config()
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise TypeError("The token payload needs a 'sub' string, e.g. {'sub': str(user.id)}")
        if expires_delta is None:
            refresh = token_type == REFRESH
            expires_delta = (
                config.refresh_token_lifetime if refresh else config.access_token_lifetime
            )
        now = time.time()
        claims = {key: value for key, value in payload.items() if key not in RESERVED_CLAIMS}
        claims.update(
            type=token_type,
            # Microseconds (a NumericDate may be fractional), as password_changed_at: a password
            # change ends every token issued before it, even earlier in the same second.
            iat=math.floor(now * 1_000_000) / 1_000_000,
            exp=int(now) + int(expires_delta.total_seconds()),
            jti=uuid.uuid4().hex,
        )
        if config.issuer is not None:
            claims["iss"] = config.issuer
        if config.audience is not None:
            claims["aud"] = config.audience
        header = {"alg": config.algorithm}
        token = jwt.encode(header, claims, _signing_key(config.secret_key), [config.algorithm])
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError(
                f"The token is {len(token)} characters, over the {MAX_TOKEN_LENGTH} that "
                f"verification accepts: keep large data out of token payloads"
            )
        return token

    def _claims_registry(self, config: AuthConfig) -> _ClaimsRegistry:
        return _claims_registry(config.issuer, config.audience)

    def decode_token(self, token: str) -> dict[str, Any] | None:
        """Claims of a token signed with the configured key and algorithm, all claims checked."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        config = get_auth_config()
        registry = self._claims_registry(config)
        claims = self.verified.get(token, config, registry.now)
        if claims is not None:
            return claims
        try:
            decoded = jwt.decode(token, _signing_key(config.secret_key), [config.algorithm])
            if decoded.header.get("alg") != config.algorithm:
                return None
            claims = decoded.claims
            # RFC 7519 4.1.3: a token naming an audience is for that audience, never for us.
            if config.audience is None and "aud" in claims:
                return None
            registry.validate(claims)
        except Exception:  # malformed, forged, expired, or JSON too deep: all just "invalid"
            return None
        self.verified.add(token, config, claims)
        return claims


def _builtin_backends() -> dict[str, TokenBackend]:
    return {JWTBackend.name: JWTBackend()}


_backends: dict[str, TokenBackend] = _builtin_backends()
_active_backend = JWTBackend.name


def register_token_backend(backend: TokenBackend, *, activate: bool = True) -> TokenBackend:
    """Register `backend` under its `name` and (unless activate=False) make the functions use it."""
    global _active_backend
    name = getattr(backend, "name", "")
    if not isinstance(name, str) or not name:
        raise ImproperlyConfigured(f"{type(backend).__name__} needs a `name` string")
    _backends[name] = backend
    if activate:
        _active_backend = name
    return backend


def unregister_token_backend(name: str) -> None:
    """Remove the backend `name` (a built-in name reverts); the active one falls back to jwt."""
    global _active_backend
    builtin = _builtin_backends().get(name)
    if builtin is not None:
        _backends[name] = builtin
    else:
        _backends.pop(name, None)
    if _active_backend not in _backends:
        _active_backend = JWTBackend.name


def reset_token_backends() -> None:
    """Restore the built-in registry with the JWT backend active (test isolation)."""
    global _backends, _active_backend
    _backends = _builtin_backends()
    _active_backend = JWTBackend.name


def get_token_backend(name: str | None = None) -> TokenBackend:
    """The backend registered as `name`; None gives the active one."""
    backend = _backends.get(_active_backend if name is None else name)
    if backend is None:
        known = ", ".join(sorted(_backends))
        raise ImproperlyConfigured(f"Unknown token backend {name!r}; known backends: {known}")
    return backend


def create_access_token(payload: dict[str, Any], expires_delta: timedelta | None = None) -> str:
    """A short-lived token for API requests (ACCESS_TOKEN_EXPIRE_MINUTES unless given)."""
    return get_token_backend().create_token(payload, ACCESS, expires_delta)


def create_refresh_token(payload: dict[str, Any], expires_delta: timedelta | None = None) -> str:
    """A long-lived token for getting new access tokens (REFRESH_TOKEN_EXPIRE_DAYS unless given)."""
    return get_token_backend().create_token(payload, REFRESH, expires_delta)


def verify_token(token: str, token_type: str = ACCESS) -> dict[str, Any] | None:
    """The payload of a valid token of `token_type`, else None; never raises."""
    return get_token_backend().verify_token(token, token_type)


def decode_token(token: str) -> dict[str, Any] | None:
    """The payload of a valid token of any type, else None; never raises."""
    return get_token_backend().decode_token(token)
