"""Anniversary dates: parse the forms curators write, and say them in words.

A year before the common era is written negative (``-44`` is 44 BC), as in the Wikipedia
data set; there is no year zero, so "years since" skips it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from bot.errors import InputError

# the years the date code supports: at most four digits, negative for BC
MIN_YEAR, MAX_YEAR = -9999, 9999
MONTH_NAMES = list(calendar.month_name)  # locale-independent in the C locale Python starts in
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FULL = re.compile(r"^(-?)(\d{1,4})-(\d{2})-(\d{2})$")
_MONTH_DAY = re.compile(r"^-{0,2}(\d{2})-(\d{2})$")


def could_be_leap(year: int) -> bool:
    """Whether the year had a February 29 in the calendar of its time.

    Historical dates before (and in many countries long after) 1582 are Julian, where every
    fourth year is leap (1700 had a February 29 in Sweden and Russia), so the Julian rule,
    a superset of the Gregorian one, is the test. BC years count astronomically (1 BC is leap).
    """
    astronomical = year + 1 if year < 0 else year
    return astronomical % 4 == 0


@dataclass(frozen=True, order=True)
class AnniversaryDate:
    """A month and day, with the year when it is known (negative for BC)."""

    month: int
    day: int
    year: int | None = None

    @property
    def month_day(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def iso(self) -> str:
        """The form curators write: ``1928-01-10``, ``-0044-03-15`` or ``01-10``."""
        if self.year is None:
            return self.month_day
        sign = "-" if self.year < 0 else ""
        return f"{sign}{abs(self.year):04d}-{self.month_day}"

    def __str__(self) -> str:
        return self.iso()


def check_month_day(month: int, day: int, year: int | None = None) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"month {month:02d} does not exist")
    if not 1 <= day <= _DAYS_IN_MONTH[month]:
        raise ValueError(f"{MONTH_NAMES[month]} has no day {day}")
    if month == 2 and day == 29 and year is not None and not could_be_leap(year):
        raise ValueError(f"{format_year(year)} is not a leap year, so it has no February 29")


def parse_date(value: object) -> AnniversaryDate:
    """Parse ``YYYY-MM-DD``, ``-YYYY-MM-DD`` (BC), or ``MM-DD`` (year unknown).

    Raises ValueError with a message that says what was expected.
    """
    if isinstance(value, dt.date):
        return AnniversaryDate(value.month, value.day, value.year)
    if not isinstance(value, str):
        raise ValueError(
            f"expected a date as text (YYYY-MM-DD, -YYYY-MM-DD for BC, or MM-DD), got {value!r}"
        )
    text = value.strip()
    if match := _FULL.match(text):
        sign, year_text, month_text, day_text = match.groups()
        year = int(year_text) * (-1 if sign else 1)
        if year == 0:
            raise ValueError("there is no year 0: 1 BC is -0001, AD 1 is 0001")
        month, day = int(month_text), int(day_text)
        check_month_day(month, day, year)
        return AnniversaryDate(month, day, year)
    if match := _MONTH_DAY.match(text):
        month, day = int(match.group(1)), int(match.group(2))
        check_month_day(month, day)
        return AnniversaryDate(month, day, None)
    raise ValueError(f"expected a date as YYYY-MM-DD, -YYYY-MM-DD (BC) or MM-DD, got {value!r}")


def parse_day_option(value: str, today: dt.date, option: str = "--date") -> dt.date:
    """A day to post on, given as ``option``: ``MM-DD`` (this year, per ``today``) or
    ``YYYY-MM-DD``.

    Unlike an anniversary (which may be Julian, see ``could_be_leap``), the posting day is a day
    of the Gregorian calendar that ``datetime`` knows: years 1 to 9999, and February 29 only in
    Gregorian leap years (not in 1900 or 2100).
    """
    try:
        parsed = parse_date(value)
    except ValueError as error:
        raise InputError(f"{option}: {error}") from None
    if parsed.year is None:
        year = today.year
        if (parsed.month, parsed.day) == (2, 29) and not calendar.isleap(year):
            raise InputError(
                f"{option}: {year} has no February 29; give a full date such as "
                f"{_next_leap_year(year):04d}-02-29"
            )
        return dt.date(year, parsed.month, parsed.day)
    if parsed.year < 1:
        raise InputError(f"{option}: {value!r} is before the common era; give the day to post on")
    if (parsed.month, parsed.day) == (2, 29) and not calendar.isleap(parsed.year):
        raise InputError(
            f"{option}: {parsed.year} has no February 29 in the Gregorian calendar the posting "
            f"day follows; February 29 events post on February 28 (or March 1 with leap_day: "
            f"mar1) in common years"
        )
    return dt.date(parsed.year, parsed.month, parsed.day)


def _next_leap_year(year: int) -> int:
    following = year + 1
    while following < dt.MAXYEAR and not calendar.isleap(following):
        following += 1
    return following


def day_span(start: dt.date, days: int, option: str = "--date") -> dt.date:
    """The last of ``days`` days from ``start``; an InputError naming ``option`` when that runs
    past December 31, 9999, the last day ``datetime`` can hold."""
    remaining = (dt.date.max - start).days
    if days - 1 > remaining:
        raise InputError(
            f"{option} {start.isoformat()} with {days} days runs past {dt.date.max.isoformat()}, "
            f"the last day the calendar holds: give an earlier day or at most "
            f"{remaining + 1} day{'s' if remaining else ''}"
        )
    return start + dt.timedelta(days=days - 1)


def year_days(year: int, option: str = "--year") -> tuple[dt.date, int]:
    """A ``--year`` option: its first day and how many days it has (365 or 366)."""
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise InputError(
            f"{option}: {year} is not a year the calendar holds: give one from "
            f"{dt.MINYEAR} to {dt.MAXYEAR}"
        )
    return dt.date(year, 1, 1), 366 if calendar.isleap(year) else 365


def format_year(year: int) -> str:
    return f"{-year} BC" if year < 0 else str(year)


def date_in_words(date: AnniversaryDate | dt.date) -> str:
    """``January 10, 1928``; ``March 15, 44 BC``; ``January 10`` when the year is unknown."""
    words = f"{MONTH_NAMES[date.month]} {date.day}"
    return words if date.year is None else f"{words}, {format_year(date.year)}"


def years_between(then: int, now: int) -> int:
    """Whole years from ``then`` to ``now``, with no year zero between BC and AD."""
    years = now - then
    if then < 0 < now:
        years -= 1
    return years


def ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``98th``, ``101st``."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def years_ago(then: int | None, now: int) -> str:
    """``98 years ago``, ``1 year ago``; empty when the year is unknown."""
    if then is None:
        return ""
    years = years_between(then, now)
    if years == 0:
        return "this year"
    if years < 0:
        return f"in {-years} year{'s' if years != -1 else ''}"
    return f"{years} year{'s' if years != 1 else ''} ago"
