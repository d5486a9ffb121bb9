"""Settings: defaults from the guide's table, `.env` and environment variables, subclassing."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import core.config
from core import Settings
from core.config import INSECURE_SECRET_KEY, PUBLIC_SECRETS, get_settings, set_settings
from core.exceptions import ImproperlyConfigured
from core.testing import reset_framework_state

ENV_VARS = [
    "APP_NAME",
    "APP_VERSION",
    "ENVIRONMENT",
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "DATABASE_ECHO",
    "API_PREFIX",
    "AUTH_ACCESS_TOKEN_EXPIRE_MINUTES",
    "AUTH_REFRESH_TOKEN_EXPIRE_DAYS",
    "AUTH_PASSWORD_HASHER",
    "CORS_ORIGINS",
    "MODELS",
    "STRIPE_API_KEY",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path: Path) -> Path:
    """Each test starts in an empty directory with none of the settings' variables set."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_match_the_guides_table() -> None:
    settings = Settings()
    assert settings.app_name == "My App"
    assert settings.app_version == "0.1.0"
    assert settings.environment == "development"
    assert settings.debug is False
    assert settings.database_url == "sqlite+aiosqlite:///./app.db"
    assert settings.api_prefix == "/api/v1"
    assert settings.auth_access_token_expire_minutes == 30
    assert settings.auth_refresh_token_expire_days == 7
    assert settings.auth_password_hasher == "pbkdf2_sha256"
    assert settings.timezone == "UTC"
    assert settings.use_tz is True
    assert settings.atomic_requests is True
    assert settings.models is None
    assert settings.user_model is None
    assert settings.cors_origins == []
    assert settings.is_development and not settings.is_production and not settings.is_testing


def test_dotenv_file_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "# Application\n"
        "APP_NAME=My API\n"
        "ENVIRONMENT=testing\n"
        "DEBUG=true\n"
        "SECRET_KEY=your-secret-key-here\n"
        "DATABASE_URL=sqlite+aiosqlite:///./app.db\n"
        "DATABASE_ECHO=false\n"
        "API_PREFIX=/api/v2\n"
        "AUTH_ACCESS_TOKEN_EXPIRE_MINUTES=15\n"
        "AUTH_REFRESH_TOKEN_EXPIRE_DAYS=3\n"
        "AUTH_PASSWORD_HASHER=argon2\n"
        "CORS_ORIGINS=https://a.example,https://b.example\n"
        "UNRELATED_VARIABLE=ignored\n"
    )
    settings = Settings()
    assert settings.app_name == "My API"
    assert settings.is_testing and settings.is_debug
    assert settings.api_prefix == "/api/v2"
    assert settings.auth_access_token_expire_minutes == 15
    assert settings.auth_refresh_token_expire_days == 3
    assert settings.auth_password_hasher == "argon2"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_environment_variables_override_dotenv(clean_env: Path, monkeypatch) -> None:
    (clean_env / ".env").write_text("APP_NAME=from-file\nMODELS=a.models\n")
    monkeypatch.setenv("APP_NAME", "from-env")
    monkeypatch.setenv("MODELS", '["x.models", "y.models"]')
    settings = Settings()
    assert settings.app_name == "from-env"
    assert settings.models == ["x.models", "y.models"]


def test_bad_values_are_validation_errors(monkeypatch) -> None:
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_EXPIRE_MINUTES", "soon")
    with pytest.raises(ValueError, match="auth_access_token_expire_minutes"):
        Settings()
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_EXPIRE_MINUTES", "30")
    monkeypatch.setenv("ENVIRONMENT", "moon")
    with pytest.raises(ValueError, match="environment"):
        Settings()


def test_subclassing_adds_settings_like_the_guides_app_settings(monkeypatch) -> None:
    class AppSettings(Settings):
        stripe_api_key: str = ""
        sendgrid_api_key: str = ""
        max_upload_size: int = 10 * 1024 * 1024  # 10MB
        redis_url: str = "redis://localhost:6379"

    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_123")
    settings = AppSettings()
    assert settings.stripe_api_key == "sk_test_123"
    assert settings.max_upload_size == 10 * 1024 * 1024
    assert settings.database_url == "sqlite+aiosqlite:///./app.db"
    assert settings.is_production is False


@pytest.mark.parametrize("secret", ["", INSECURE_SECRET_KEY, "your-secret-key-here", "short"])
def test_production_refuses_an_empty_default_or_weak_secret(monkeypatch, secret: str) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        Settings()


def test_production_starts_with_a_real_secret(monkeypatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    assert Settings().is_production


def test_the_secret_is_never_in_repr(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "super-secret-value-1234567890")
    assert "super-secret-value" not in repr(Settings())


def test_get_settings_reads_once_and_set_settings_replaces() -> None:
    reset_framework_state()  # no override_settings in force: the process's own objects
    first = get_settings()
    assert get_settings() is first
    custom = Settings(app_name="Custom")
    set_settings(custom)
    assert get_settings() is custom


REPOSITORY = Path(__file__).resolve().parents[1]
_SHIPPED_SECRET = re.compile(r"""SECRET_KEY=([^\s<{]+)|secret_key=["']([^"'{]+)["']""")


def shipped_secrets() -> set[str]:
    """Every literal secret in the docs and the `core init` templates."""
    sources = [*(REPOSITORY / "docs").rglob("*.md"), REPOSITORY / "README.md"]
    sources += (REPOSITORY / "core_framework/core/cli/templates").rglob("*-tpl")
    found = set()
    for source in sources:
        for match in _SHIPPED_SECRET.finditer(source.read_text()):
            found.add(match.group(1) or match.group(2))
    return found


def refusal(**values: object) -> str:
    with pytest.raises(ImproperlyConfigured) as refused:
        Settings(**values)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_production_refuses_every_secret_the_docs_and_templates_ship() -> None:
    """The template's own `.env.example` secret signed a token accepted as the superuser."""
    secrets_found = shipped_secrets()
    assert "change-me-to-a-long-random-string" in secrets_found  # the scan sees the template
    for secret in secrets_found | PUBLIC_SECRETS:
        assert "SECRET_KEY" in refusal(environment="production", secret_key=secret), secret
    for secret in ("change-me-please-0123456789abcdefghij", "CHANGE-ME" + "x" * 40):
        assert "SECRET_KEY" in refusal(environment="production", secret_key=secret)
    assert "SECRET_KEY" in refusal(environment="production", secret_key="k" * 31)
    assert Settings(environment="production", secret_key="k" * 32).is_production


def test_production_refuses_debug() -> None:
    message = refusal(environment="production", secret_key="k" * 50, debug=True)
    assert message.startswith("DEBUG=true")
    assert not Settings(environment="staging", secret_key="k" * 50, debug=True).is_production


@pytest.mark.parametrize("environment", ["development", "testing", "production"])
def test_an_unknown_password_hasher_is_refused_everywhere(environment: str) -> None:
    """It let the app start, then every login was a 500."""
    message = refusal(environment=environment, secret_key="k" * 50, auth_password_hasher="md5")
    assert message.startswith("AUTH_PASSWORD_HASHER='md5'")
    for name in ("pbkdf2_sha256", "argon2", "bcrypt", "bcrypt_sha256", "scrypt"):
        assert Settings(environment=environment, secret_key="k" * 50, auth_password_hasher=name)
    assert "test suites" in refusal(
        environment="production", secret_key="k" * 50, auth_password_hasher="fast_test"
    )


def test_a_registered_hasher_may_be_named() -> None:
    from core.auth import PBKDF2Hasher, register_password_hasher

    class Mine(PBKDF2Hasher):
        name = "mine_sha256"

    with pytest.raises(ImproperlyConfigured):
        Settings(auth_password_hasher="mine_sha256")
    register_password_hasher(Mine())
    assert Settings(auth_password_hasher="mine_sha256").auth_password_hasher == "mine_sha256"


def test_without_a_secret_key_a_random_key_per_process_and_one_warning(monkeypatch, caplog) -> None:
    """A public default key let anyone forge an admin token outside production."""
    monkeypatch.setattr(core.config, "_process_secret_key", None)
    with caplog.at_level(logging.WARNING, logger="core.config"):
        first, second = Settings(), Settings(environment="testing")
    assert first.secret_key == second.secret_key  # one key for the whole process
    assert len(first.secret_key) >= 50 and first.secret_key not in PUBLIC_SECRETS
    warnings = [r for r in caplog.records if "SECRET_KEY is not set" in r.getMessage()]
    assert len(warnings) == 1
    assert Settings(secret_key="explicit-" + "k" * 40).secret_key == "explicit-" + "k" * 40
    assert "SECRET_KEY" in refusal(environment="production")

    script = "from core import Settings; print(Settings().secret_key)"
    keys = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(keys) == 2  # a restart makes a new key: nothing public, nothing shared
