"""The one place that asks the machine for the time, so tests can move it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError


def zone(name: str | None) -> dt.tzinfo:
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/London"
        ) from None


def now(tz: dt.tzinfo | None = None) -> dt.datetime:
    return dt.datetime.now(tz or dt.UTC)


def today(tz_name: str | None = None) -> dt.date:
    return now(zone(tz_name)).date()
