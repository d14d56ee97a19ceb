from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import InputError
from bot.model.dates import (
    AnniversaryDate,
    date_in_words,
    ordinal,
    parse_date,
    parse_day_option,
    years_ago,
    years_between,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1928-01-10", AnniversaryDate(1, 10, 1928)),
        ("01-10", AnniversaryDate(1, 10, None)),
        ("--01-10", AnniversaryDate(1, 10, None)),
        ("-0044-03-15", AnniversaryDate(3, 15, -44)),
        ("-44-03-15", AnniversaryDate(3, 15, -44)),
        ("0800-12-25", AnniversaryDate(12, 25, 800)),
        ("1940-02-29", AnniversaryDate(2, 29, 1940)),
        ("1700-02-29", AnniversaryDate(2, 29, 1700)),  # Julian leap year
        ("02-29", AnniversaryDate(2, 29, None)),
        (dt.date(1969, 7, 20), AnniversaryDate(7, 20, 1969)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("02-30", "February has no day 30"),
        ("1927-02-29", "1927 is not a leap year"),
        ("13-01", "month 13 does not exist"),
        ("0000-01-01", "there is no year 0"),
        ("January 10", "expected a date as YYYY-MM-DD"),
        (19280110, "expected a date as text"),
    ],
)
def test_parse_date_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text)


def test_iso_round_trip():
    for text in ("1928-01-10", "01-10", "-0044-03-15", "0800-12-25"):
        assert parse_date(text).iso() == text


def test_date_in_words():
    assert date_in_words(AnniversaryDate(1, 10, 1928)) == "January 10, 1928"
    assert date_in_words(AnniversaryDate(3, 15, -44)) == "March 15, 44 BC"
    assert date_in_words(AnniversaryDate(1, 10)) == "January 10"
    assert date_in_words(dt.date(2026, 11, 28)) == "November 28, 2026"


def test_years_and_ordinals():
    assert years_between(1928, 2026) == 98
    assert years_between(-44, 2026) == 2069  # no year zero
    assert years_ago(1928, 2026) == "98 years ago"
    assert years_ago(2025, 2026) == "1 year ago"
    assert years_ago(2026, 2026) == "this year"
    assert years_ago(None, 2026) == ""
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 98, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "98th", "101st",
        "111th", "112th",
    ]  # fmt: skip


def test_day_option():
    today = dt.date(2026, 11, 28)
    assert parse_day_option("01-10", today) == dt.date(2026, 1, 10)
    assert parse_day_option("2028-02-29", today) == dt.date(2028, 2, 29)
    with pytest.raises(InputError, match="2026 has no February 29"):
        parse_day_option("02-29", today)
    with pytest.raises(InputError, match="--date: February has no day 30"):
        parse_day_option("02-30", today)
