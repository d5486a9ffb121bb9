"""Settings read from the environment and `.env`, in the spirit of Django's settings module."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.exceptions import ImproperlyConfigured

#: The development secret used when SECRET_KEY is unset; refused in production.
INSECURE_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105
_KNOWN_PLACEHOLDER_SECRETS = frozenset(
    {"", INSECURE_SECRET_KEY, "your-secret-key-here", "your-secret-key", "change-me", "secret"}
)
_MIN_PRODUCTION_SECRET_LENGTH = 32

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
    secret_key: str = Field(default=INSECURE_SECRET_KEY, repr=False)

    # Database
    database_url: str = "sqlite+aiosqlite:///./app.db"
    database_echo: bool = False
    models: Annotated[list[str] | None, NoDecode] = None
    user_model: str | None = None
    atomic_requests: bool = True

    # API
    api_prefix: str = "/api/v1"
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

    # OAuth / social login (providers come from OAUTH_<NAME>_* variables; see core.auth.oauth)
    oauth_link_existing_accounts: bool = False
    oauth_require_verified_email: bool = True
    oauth_timeout_seconds: float = Field(default=10.0, gt=0)

    # Sessions (signed cookie; holds the OAuth login state between login and callback)
    session_cookie: str = "core_session"
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    session_https_only: bool | None = None  # None: only in production

    # Date and time
    timezone: str = "UTC"
    use_tz: bool = True

    # Migrations
    migrations_engine: Literal["tortoise", "aerich"] = "tortoise"
    migrations_dir: str = "migrations"

    _split_lists = field_validator("models", "cors_origins", mode="before")(
        classmethod(lambda cls, v: _split_comma_list(v))
    )

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.is_production:
            if self.secret_key.strip() in _KNOWN_PLACEHOLDER_SECRETS:
                raise ImproperlyConfigured(
                    "SECRET_KEY is empty or a placeholder; set it to a long random value "
                    "before running with ENVIRONMENT=production "
                    '(python -c "import secrets; print(secrets.token_urlsafe(50))")'
                )
            if len(self.secret_key) < _MIN_PRODUCTION_SECRET_LENGTH:
                raise ImproperlyConfigured(
                    f"SECRET_KEY is too short for production: use at least "
                    f"{_MIN_PRODUCTION_SECRET_LENGTH} random characters"
                )
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


_active_settings: Settings | None = None


def get_settings() -> Settings:
    """The settings the framework uses: those given to `set_settings`, else read once from the env."""
    global _active_settings
    if _active_settings is None:
        _active_settings = Settings()
    return _active_settings


def set_settings(settings: Settings | None) -> None:
    """Make `settings` the framework's settings (None re-reads the environment on next use)."""
    global _active_settings
    _active_settings = settings
