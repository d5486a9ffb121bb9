"""`core.datetime`: DateTime, timezone.now() and configure_datetime."""

from __future__ import annotations

import datetime as dt

import pytest

from core.datetime import DateTime, configure_datetime, timezone

# The suite's `framework_state` fixture forgets `configure_datetime` after each test.


def test_now_is_aware_utc_by_default() -> None:
    now = timezone.now()
    assert isinstance(now, DateTime)
    assert now.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - now).total_seconds()) < 5


def test_configure_naive_local_time() -> None:
    configure_datetime(default_timezone="America/Sao_Paulo", use_aware_datetimes=False)
    now = timezone.now()
    assert now.tzinfo is None
    expected = dt.datetime.now(dt.UTC).astimezone(timezone.get_default_timezone())
    assert abs((expected.replace(tzinfo=None) - now).total_seconds()) < 5


def test_make_aware_make_naive_and_localtime() -> None:
    configure_datetime(default_timezone="Europe/Berlin")
    naive = dt.datetime(2024, 7, 1, 12, 0)
    aware = timezone.make_aware(naive)
    assert aware.utcoffset() == dt.timedelta(hours=2)
    assert timezone.make_naive(aware, dt.UTC) == dt.datetime(2024, 7, 1, 10, 0)
    assert timezone.localtime(dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)).hour == 13
    with pytest.raises(ValueError, match="naive"):
        timezone.make_aware(aware)
    with pytest.raises(ValueError, match="naive"):
        timezone.localtime(naive)


def test_unknown_zone_is_an_error() -> None:
    with pytest.raises(Exception, match="No time zone found"):
        configure_datetime("Mars/Olympus_Mons")
