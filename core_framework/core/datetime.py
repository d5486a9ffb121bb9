"""Date and time helpers in the style of `django.utils.timezone`."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

#: The type models and schemas annotate date-time fields with (`Mapped[DateTime]`).
DateTime = _dt.datetime

__all__ = ["DateTime", "configure_datetime", "timezone"]


@dataclass
class _DateTimeConfig:
    default_timezone: _dt.tzinfo
    use_aware_datetimes: bool


_config = _DateTimeConfig(default_timezone=_dt.UTC, use_aware_datetimes=True)


def _zone(name: str | _dt.tzinfo) -> _dt.tzinfo:
    if isinstance(name, _dt.tzinfo):
        return name
    return _dt.UTC if name.upper() == "UTC" else ZoneInfo(name)


def configure_datetime(
    default_timezone: str | _dt.tzinfo = "UTC", use_aware_datetimes: bool = True
) -> None:
    """Set the project's time zone and whether `timezone.now()` returns aware datetimes."""
    _config.default_timezone = _zone(default_timezone)
    _config.use_aware_datetimes = use_aware_datetimes


class timezone:
    """`timezone.now()` and friends, following the settings given to `configure_datetime`."""

    utc = _dt.UTC

    @staticmethod
    def now() -> _dt.datetime:
        """The current time: aware in UTC, or naive in the default zone when aware is off."""
        if _config.use_aware_datetimes:
            return _dt.datetime.now(_dt.UTC)
        return _dt.datetime.now(_config.default_timezone).replace(tzinfo=None)

    @staticmethod
    def get_default_timezone() -> _dt.tzinfo:
        return _config.default_timezone

    @staticmethod
    def is_aware(value: _dt.datetime) -> bool:
        return value.utcoffset() is not None

    @staticmethod
    def make_aware(value: _dt.datetime, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """Attach `tz` (default: the project's zone) to a naive datetime."""
        if timezone.is_aware(value):
            raise ValueError(f"make_aware expects a naive datetime, got {value!r}")
        return value.replace(tzinfo=tz or _config.default_timezone)

    @staticmethod
    def make_naive(value: _dt.datetime, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """Convert an aware datetime to naive wall-clock time in `tz` (default: project zone)."""
        return value.astimezone(tz or _config.default_timezone).replace(tzinfo=None)

    @staticmethod
    def localtime(value: _dt.datetime | None = None, tz: _dt.tzinfo | None = None) -> _dt.datetime:
        """`value` (default: now) converted to `tz` (default: the project's zone)."""
        value = value or timezone.now()
        if not timezone.is_aware(value):
            raise ValueError("localtime() cannot be applied to a naive datetime")
        return value.astimezone(tz or _config.default_timezone)
