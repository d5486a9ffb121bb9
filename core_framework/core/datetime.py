"""Date and time helpers in the style of `django.utils.timezone`."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from core.config import Settings, derived, get_app_settings, get_settings

#: The type models and schemas annotate date-time fields with (`Mapped[DateTime]`).
DateTime = _dt.datetime

__all__ = ["DateTime", "configure_datetime", "isoformat", "reset_datetime_config", "timezone"]


def isoformat(value: _dt.datetime) -> str:
    """ISO 8601 as the output schemas write it: UTC as `Z`, never `+00:00` (one format)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


#: `jsonable_encoder(..., custom_encoder=JSON_ENCODERS)`: datetimes as `isoformat` writes them.
JSON_ENCODERS: dict[Any, Any] = {_dt.datetime: isoformat}


@dataclass
class _DateTimeConfig:
    default_timezone: _dt.tzinfo
    use_aware_datetimes: bool


#: What `configure_datetime` set for the process; None follows the settings (TIMEZONE, USE_TZ).
_configured: _DateTimeConfig | None = None


def _from_settings(settings: Settings) -> _DateTimeConfig:
    return _DateTimeConfig(_zone(settings.timezone), settings.use_tz)


def _current() -> _DateTimeConfig:
    """The running app's TIMEZONE/USE_TZ, else `configure_datetime`'s, else the settings'."""
    if _configured is not None and get_app_settings() is None:
        return _configured
    return derived(get_settings(), "datetime", _from_settings)


def _zone(name: str | _dt.tzinfo) -> _dt.tzinfo:
    if isinstance(name, _dt.tzinfo):
        return name
    return _dt.UTC if name.upper() == "UTC" else ZoneInfo(name)


def configure_datetime(
    default_timezone: str | _dt.tzinfo = "UTC", use_aware_datetimes: bool = True
) -> None:
    """Set the process's time zone and whether `timezone.now()` returns aware datetimes.

    For scripts and apps built without `settings=`; an app given `CoreApp(settings=...)` follows
    its own TIMEZONE and USE_TZ.
    """
    global _configured
    _configured = _DateTimeConfig(_zone(default_timezone), use_aware_datetimes)


def reset_datetime_config() -> None:
    """Forget `configure_datetime`: the settings' TIMEZONE and USE_TZ apply again."""
    global _configured
    _configured = None


class timezone:
    """`timezone.now()` and friends, following TIMEZONE and USE_TZ (or `configure_datetime`)."""

    utc = _dt.UTC

    @staticmethod
    def now() -> _dt.datetime:
        """The current time: aware in UTC, or naive in the default zone when aware is off."""
        config = _current()
        if config.use_aware_datetimes:
            return _dt.datetime.now(_dt.UTC)
        return _dt.datetime.now(config.default_timezone).replace(tzinfo=None)

    @staticmethod
    def get_default_timezone() -> _dt.tzinfo:
        return _current().default_timezone

    @staticmethod
    def is_aware(value: _dt.datetime) -> bool:
        return value.utcoffset() is not None

    @staticmethod
    def make_aware(value: _dt.datetime, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """Attach `tz` (default: the project's zone) to a naive datetime."""
        if timezone.is_aware(value):
            raise ValueError(f"make_aware expects a naive datetime, got {value!r}")
        return value.replace(tzinfo=tz or _current().default_timezone)

    @staticmethod
    def make_naive(value: _dt.datetime, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """Convert an aware datetime to naive wall-clock time in `tz` (default: project zone)."""
        return value.astimezone(tz or _current().default_timezone).replace(tzinfo=None)

    @staticmethod
    def localtime(value: _dt.datetime | None = None, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """`value` (default: now) converted to `tz` (default: the project's zone)."""
        value = value or timezone.now()
        if not timezone.is_aware(value):
            raise ValueError("localtime() cannot be applied to a naive datetime")
        return value.astimezone(tz or _current().default_timezone)
