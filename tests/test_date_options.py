"""Every date and year option: the posting day follows the Gregorian calendar, a value the
calendar cannot hold is refused with one line and exit code 2, and anniversaries keep their
rule (February 29 events post on February 28, or March 1 with ``leap_day: mar1``)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.errors import InputError
from bot.model import dates
from tests.conftest import write_config

FEB_29_EVENT = "1940-02-29-hattie-mcdaniel-becomes-the-first-black-oscar-winner"


@pytest.fixture
def db(sample_store_path, tmp_path) -> str:
    target = tmp_path / "store.db"
    shutil.copy(sample_store_path, target)
    return str(target)


def assert_one_line_refusal(result, *words: str) -> None:
    code, _, err = result
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "unexpected" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


# --- the posting day ---------------------------------------------------------------------


@pytest.mark.parametrize("day", ["1900-02-29", "2100-02-29", "1700-02-29"])
@pytest.mark.parametrize(
    "command",
    [
        ["preview", "--date"],
        ["preview", "--json", "--date"],
        ["post", "--dry-run", "--date"],
        ["history", "--date"],
        ["plan", "--from"],
        ["drafts", "generate", "--days", "1", "--date"],
    ],
)
def test_a_day_the_gregorian_calendar_lacks_is_refused(cli_run, db, command, day):
    option = command[-1]
    assert_one_line_refusal(
        cli_run("--db", db, *command, day), option, day[:4], "Gregorian", "no February 29"
    )


def test_a_gregorian_leap_day_is_a_posting_day(cli_run, db):
    code, out, err = cli_run("--db", db, "preview", "--all", "--date", "2000-02-29")
    assert code == 0, err
    assert "Hattie McDaniel" in out


@pytest.mark.parametrize("year", ["1900", "2100", "2026"])
def test_february_29_events_post_on_february_28_in_common_years(cli_run, db, year):
    code, out, err = cli_run("--db", db, "preview", "--json", "--all", "--date", f"{year}-02-28")
    assert code == 0, err
    assert FEB_29_EVENT in out


def test_february_29_events_post_on_march_1_with_leap_day_mar1(cli_run, db, tmp_path):
    config = write_config(
        tmp_path / "config.yaml",
        f"  box:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n    leap_day: mar1\n",
    )
    code, out, err = cli_run(
        "--config", str(config), "--db", db, "preview", "--json", "--all", "--date", "2100-03-01"
    )
    assert code == 0, err
    assert FEB_29_EVENT in out
    code, out, err = cli_run(
        "--config", str(config), "--db", db, "preview", "--json", "--all", "--date", "2100-02-28"
    )
    assert code == 0, err
    assert FEB_29_EVENT not in out


@pytest.mark.parametrize("day", ["0000-01-01", "-0044-03-15", "-0001-12-31"])
def test_a_day_before_the_common_era_is_not_a_posting_day(cli_run, db, day):
    assert_one_line_refusal(cli_run("--db", db, "preview", "--date", day), "--date")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_first_and_last_days_of_the_calendar_work(cli_run, db, day):
    for command in (["preview", "--date"], ["post", "--dry-run", "--date"], ["history", "--date"]):
        code, _, err = cli_run("--db", db, *command, day)
        assert code == 0, (command, err)


# --- spans of days: plan, drafts, the HTML preview -----------------------------------------


def test_plan_that_runs_past_the_last_day_of_the_calendar_is_refused(cli_run, db):
    assert_one_line_refusal(
        cli_run("--db", db, "plan", "--from", "9999-12-30"), "--from", "9999-12-30", "9999"
    )
    assert_one_line_refusal(
        cli_run("--db", db, "plan", "--from", "9999-12-25", "--days", "8"), "--from", "8 days"
    )


def test_plan_that_ends_on_the_last_day_of_the_calendar_works(cli_run, db):
    code, out, err = cli_run("--db", db, "plan", "--from", "9999-12-25", "--days", "7", "--json")
    assert code == 0, err
    assert '"9999-12-31"' in out


def test_drafts_and_html_preview_past_the_last_day_are_refused(cli_run, db, tmp_path):
    out = str(tmp_path / "site")
    for command in (
        ["drafts", "generate", "--days", "3", "--date", "9999-12-31"],
        ["drafts", "preview", "--out", out, "--date", "9999-12-31"],
        ["preview", "--format", "html", "--out", out, "--date", "9999-12-31"],
    ):
        assert_one_line_refusal(cli_run("--db", db, *command), "--date", "9999-12-31")


@pytest.mark.parametrize("command", [["calendar"], ["preview", "--format", "html", "--out"]])
@pytest.mark.parametrize("year", ["0", "-5", "10000"])
def test_a_year_outside_the_calendar_is_refused(cli_run, db, tmp_path, command, year):
    if command[-1] == "--out":
        command = [*command, str(tmp_path / "site")]
    assert_one_line_refusal(cli_run("--db", db, *command, "--year", year), "--year", year)


@pytest.mark.parametrize("year", ["1", "9999"])
def test_the_html_preview_of_the_first_and_last_years_of_the_calendar(cli_run, db, tmp_path, year):
    out = tmp_path / "site"
    code, _, err = cli_run("--db", db, "drafts", "preview", "--out", str(out), "--year", year)
    assert code == 0, err
    assert "365 day pages" in err
    assert (out / "index.html").exists()


def test_calendar_of_the_last_year_of_the_calendar(cli_run, db):
    code, out, err = cli_run("--db", db, "calendar", "--year", "9999")
    assert code == 0, err
    assert "Coverage 9999" in out


# --- the functions behind the options -------------------------------------------------------


def test_parse_day_option_follows_the_gregorian_calendar():
    today = dt.date(2026, 5, 1)
    assert dates.parse_day_option("2000-02-29", today) == dt.date(2000, 2, 29)
    with pytest.raises(InputError, match="--from: 1900 has no February 29"):
        dates.parse_day_option("1900-02-29", today, "--from")
    with pytest.raises(InputError, match="--date: 2026 has no February 29"):
        dates.parse_day_option("02-29", today)
    assert dates.parse_day_option("02-29", dt.date(2028, 1, 1)) == dt.date(2028, 2, 29)


def test_day_span_checks_the_last_day():
    assert dates.day_span(dt.date(9999, 12, 25), 7, "--from") == dt.date(9999, 12, 31)
    with pytest.raises(InputError, match="--from 9999-12-25 with 8 days"):
        dates.day_span(dt.date(9999, 12, 25), 8, "--from")


def test_year_days():
    assert dates.year_days(2024) == (dt.date(2024, 1, 1), 366)
    assert dates.year_days(9999) == (dt.date(9999, 1, 1), 365)
    assert dates.year_days(1) == (dt.date(1, 1, 1), 365)
    for year in (0, -1, 10000, 10**30):
        with pytest.raises(InputError, match=f"--year: {year} is not a year"):
            dates.year_days(year)
