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


def scheduled_at(day: dt.date, hhmm: str, tz: dt.tzinfo) -> dt.datetime:
    """The instant (UTC) of ``hhmm`` local time on ``day``, DST-safe: a time that does not
    exist (spring forward) is the same offset after the gap, a time that happens twice is its
    first occurrence (see ``bot.publishing.scheduler``)."""
    hour, minute, *second = (int(part) for part in hhmm.split(":"))
    local_time = dt.time(hour, minute, second[0] if second else 0)
    local = dt.datetime.combine(day, local_time, tzinfo=tz)  # fold=0: the first occurrence
    return local.astimezone(dt.UTC)


def next_daily_run(
    hhmm: str, tz: dt.tzinfo, now: dt.datetime, previous: dt.datetime | None = None
) -> dt.datetime:
    """The daily job's next run (UTC): the first ``hhmm`` local time after ``previous``, else at
    or after ``now``. The scheduler's trigger and ``status`` both ask it, so ``status`` says
    the run the daemon will make without importing APScheduler."""
    after = previous if previous is not None else now - dt.timedelta(microseconds=1)
    day = after.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(4):
        candidate = scheduled_at(day + dt.timedelta(days=offset), hhmm, tz)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a day has a fire time")
