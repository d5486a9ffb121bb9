"""Settings read from the environment and `.env`, in the spirit of Django's settings module."""

from __future__ import annotations

import importlib
import logging
import secrets
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.exceptions import ImproperlyConfigured

#: The development secret older releases used when SECRET_KEY was unset; refused in production.
INSECURE_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105
#: Secrets that are public: placeholders, and every example the templates and docs ever shipped.
PUBLIC_SECRETS = frozenset(
    {
        "",
        INSECURE_SECRET_KEY,
        "your-secret-key-here",
        "your-secret-key",
        "change-me",
        "secret",
        "change-me-to-a-long-random-string",  # core init's .env.example
        "dev-only-0a8f3c0d5b2e4f6a9c1d7e3b5a2f8c4d",  # docs/guide/configuration.md
        "a-long-random-secret-from-the-environment-0123456789",  # docs/guide/authentication.md
        "k7Qx2mVb9rT4wYz8pLc3nF6hJ1dS5aGe0uIo",  # docs/guide/deployment.md (older release)
    }
)
_MIN_PRODUCTION_SECRET_LENGTH = 32
#: Password hashers built into core.auth (their names and aliases); others must be registered.
BUILTIN_PASSWORD_HASHERS = frozenset(
    {"pbkdf2_sha256", "pbkdf2_sha1", "argon2", "bcrypt", "bcrypt_sha256", "scrypt", "fast_test"}
)
_registered_password_hashers: set[str] = set()
_process_secret_key: str | None = None

logger = logging.getLogger("core.config")


def allow_password_hasher(name: str) -> None:
    """Accept `name` for AUTH_PASSWORD_HASHER (`register_password_hasher` calls this)."""
    _registered_password_hashers.add(name)


def _development_secret_key() -> str:
    """A random key for this process only, with one warning: tokens die with the process."""
    global _process_secret_key
    if _process_secret_key is None:
        _process_secret_key = secrets.token_urlsafe(50)
        logger.warning(
            "SECRET_KEY is not set: using a random key for this process only, so tokens stop "
            "working on restart and differ between workers; set SECRET_KEY in .env"
        )
    return _process_secret_key


def check_production_secret(secret_key: str) -> None:
    """Refuse a public, placeholder or short secret: the one check, for settings and auth alike."""
    secret = secret_key.strip()
    if secret in PUBLIC_SECRETS or secret.lower().startswith("change-me"):
        raise ImproperlyConfigured(
            "SECRET_KEY is empty, a placeholder or an example published in the docs; "
            "set it to a long random value before running with ENVIRONMENT=production "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    if len(secret) < _MIN_PRODUCTION_SECRET_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too short for production: use at least "
            f"{_MIN_PRODUCTION_SECRET_LENGTH} random characters"
        )


Environment = Literal["development", "staging", "production", "testing"]


def _split_comma_list(value: Any) -> Any:
    """Accept `a,b,c` as well as a JSON list for list settings given through the environment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every framework setting; subclass it to add your own (see the guide's `AppSettings`)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # Application
    app_name: str = "My App"
    app_version: str = "0.1.0"
    environment: Environment = "development"
    debug: bool = False
    #: Empty: in production an error, elsewhere a random key per process (see `_check_safety`).
    secret_key: str = Field(default="", repr=False)

    # Database
    database_url: str = "sqlite+aiosqlite:///./app.db"
    database_echo: bool = False
    models: Annotated[list[str] | None, NoDecode] = None
    user_model: str | None = None
    atomic_requests: bool = True
    #: PostgreSQL: a request's statement, or its wait for a lock, ends after this many
    #: milliseconds with a 503 and Retry-After (0: never). Migrations are not limited.
    database_statement_timeout_ms: int = Field(default=30_000, ge=0)
    database_lock_timeout_ms: int = Field(default=10_000, ge=0)

    # API
    api_prefix: str = "/api/v1"
    # What ViewSets without their own `pagination_class` use (a dotted path; empty: plain lists)
    default_pagination_class: str | None = "core.views.pagination.PageNumberPagination"
    # What ViewSets without their own `filter_backends` use, applied in order (dotted paths)
    default_filter_backends: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "core.views.filters.SearchFilter",
            "core.views.filters.OrderingFilter",
            "core.views.filters.FilterSetBackend",
        ]
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_size: int = 1024 * 1024
    docs_assets: Literal["local", "cdn"] = "local"  # where /docs and /redoc load their JS/CSS

    # Auth
    auth_access_token_expire_minutes: int = Field(default=30, gt=0)
    auth_refresh_token_expire_days: int = Field(default=7, gt=0)
    auth_password_hasher: str = "pbkdf2_sha256"  # noqa: S105 - a hasher name
    auth_algorithm: str = "HS256"
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_rotate_refresh_tokens: bool = True
    #: Password hashes computed at once per process (argon2 holds 100 MiB each), and how many
    #: more may wait for a turn; beyond that a login or registration is a 503.
    auth_hashing_concurrency: int = Field(default=4, ge=1)
    auth_hashing_queue: int = Field(default=64, ge=0)

    # OAuth / social login (providers come from OAUTH_<NAME>_* variables; see core.auth.oauth)
    oauth_link_existing_accounts: bool = False
    oauth_require_verified_email: bool = True
    oauth_timeout_seconds: float = Field(default=10.0, gt=0)

    # Sessions (signed cookie; holds the OAuth login state between login and callback)
    session_cookie: str = "core_session"
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    session_https_only: bool | None = None  # None: only in production

    # Throttling (core.throttling): default classes (dotted paths), rates by scope, counters
    throttle_classes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    throttle_rates: dict[str, str | None] = Field(default_factory=dict)
    throttle_store: str = "memory"  # memory | database | redis://host:6379/0
    num_proxies: int = Field(default=0, ge=0)  # trusted proxies adding X-Forwarded-For

    # Date and time
    timezone: str = "UTC"
    use_tz: bool = True

    # Migrations
    migrations_engine: Literal["tortoise", "aerich"] = "tortoise"
    migrations_dir: str = "migrations"

    _split_lists = field_validator(
        "models", "cors_origins", "throttle_classes", "default_filter_backends", mode="before"
    )(classmethod(lambda cls, v: _split_comma_list(v)))

    @field_validator("auth_password_hasher")
    @classmethod
    def _known_password_hasher(cls, name: str) -> str:
        if name not in BUILTIN_PASSWORD_HASHERS and name not in _registered_password_hashers:
            known = ", ".join(sorted(BUILTIN_PASSWORD_HASHERS - {"fast_test"}))
            raise ImproperlyConfigured(
                f"AUTH_PASSWORD_HASHER={name!r} is not a password hasher: use one of {known}, "
                "or register_password_hasher() yours before the settings are loaded"
            )
        return name

    @model_validator(mode="after")
    def _check_safety(self) -> Settings:
        """Refuse unsafe production settings; outside production, no key means a random one."""
        if self.is_production:
            check_production_secret(self.secret_key)
            if self.debug:
                raise ImproperlyConfigured(
                    "DEBUG=true is refused with ENVIRONMENT=production: server errors would "
                    "show tracebacks to clients; set DEBUG=false"
                )
            if self.auth_password_hasher == "fast_test":  # noqa: S105 - a hasher name
                raise ImproperlyConfigured(
                    "AUTH_PASSWORD_HASHER='fast_test' is for test suites only; "
                    "use pbkdf2_sha256, argon2, bcrypt or scrypt in production"
                )
        elif not self.secret_key:
            self.secret_key = _development_secret_key()
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_testing(self) -> bool:
        return self.environment == "testing"

    @property
    def is_debug(self) -> bool:
        return self.debug


# Where the settings come from, innermost first: `override_settings` (core.testing) patches
# whichever applies; the running CoreApp's own settings (a ContextVar set for each ASGI call);
# the process default (`set_settings`, else read from the environment once).
_active_settings: Settings | None = None
_app_settings: ContextVar[Settings | None] = ContextVar("core_app_settings", default=None)
_overrides: list[dict[str, Any]] = []
_overridden: dict[int, tuple[Settings, Settings]] = {}


def get_settings() -> Settings:
    """The settings in force: the running app's (`CoreApp(settings=...)`), else the process's.

    The process's are those given to `set_settings`, else read once from the environment.
    """
    settings = _app_settings.get()
    if settings is None:
        settings = _active_settings
        if settings is None:
            settings = _read_process_settings()
    return _with_overrides(settings) if _overrides else settings


def _read_process_settings() -> Settings:
    global _active_settings
    if _active_settings is None:
        _active_settings = Settings()
    return _active_settings


def set_settings(settings: Settings | None) -> None:
    """Make `settings` the process's settings, for scripts (None re-reads the environment).

    An app given `CoreApp(settings=...)` uses its own inside its requests and lifespan.
    """
    global _active_settings
    _active_settings = settings


def get_app_settings() -> Settings | None:
    """The own settings of the CoreApp running this code; None outside one (or without any)."""
    return _app_settings.get()


@contextmanager
def settings_scope(settings: Settings | None) -> Iterator[None]:
    """Run the block as the app owning `settings` runs: `get_settings()` answers them.

    None leaves the process's settings in force. `CoreApp` does this for each ASGI call;
    the CLI and `core.testing` use it to act as the app would (sign a token, hash a password).
    """
    if settings is None:
        yield
        return
    token = _app_settings.set(settings)
    try:
        yield
    finally:
        _app_settings.reset(token)


def _with_overrides(settings: Settings) -> Settings:
    """`settings` with the active `override_settings` values, one copy per base and override."""
    cached = _overridden.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    values: dict[str, Any] = {}
    for layer in _overrides:
        values.update(layer)
    patched = settings.model_copy(update=values)
    _overridden[id(settings)] = (settings, patched)
    return patched


def _push_overrides(values: dict[str, Any]) -> None:
    """Apply `values` over every settings object until `_pop_overrides(values)` (tests)."""
    _overrides.append(values)
    _overridden.clear()


def _pop_overrides(values: dict[str, Any]) -> None:
    for index in range(len(_overrides) - 1, -1, -1):
        if _overrides[index] is values:
            del _overrides[index]
            break
    _overridden.clear()


def _clear_overrides() -> None:
    _overrides.clear()
    _overridden.clear()


T = TypeVar("T")
_derived: dict[int, dict[str, Any]] = {}


def derived(settings: Settings, name: str, build: Callable[[Settings], T]) -> T:
    """`build(settings)`, computed once per settings object and kept while it lives.

    What the framework derives from settings (the auth config, the time zone) is built the
    first time an app's settings are used, then read from here: never once per request.
    """
    key = id(settings)
    cache = _derived.get(key)
    if cache is None:
        cache = _derived[key] = {}
        weakref.finalize(settings, _derived.pop, key, None)
    try:
        value: T = cache[name]
    except KeyError:
        value = cache[name] = build(settings)
    return value


def import_setting(setting: str, path: str) -> Any:
    """The object a dotted-path setting names (`"core.views.pagination.PageNumberPagination"`).

    One importer for every setting that names a class, so each fails the same way: an
    `ImproperlyConfigured` that names the setting and the path.
    """
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{setting}: cannot import {path!r}") from exc
