"""Content for curators: fetch (the on-this-day feed, background excerpts), plan (the daily
pick), calendar (coverage)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from bot.cli.base import (
    Context,
    anniversary_option,
    cli,
    comma_names,
    date_option,
    json_option,
    pass_context,
    to_option,
)
from bot.errors import InputError

KIND_CHOICES = ("selected", "events", "births", "deaths", "holidays")


def _fetcher(obj: Context, refresh: bool) -> Any:
    from bot.content.fetching import Fetcher, FetchSettings

    return Fetcher(FetchSettings.from_config(obj.config), refresh=refresh)


def _kinds_option(kinds: str) -> list[str]:
    """``--kinds``: names from KIND_CHOICES, comma-separated, at least one."""
    chosen = comma_names(kinds)
    unknown = [k for k in chosen if k not in KIND_CHOICES]
    if unknown or not chosen:
        raise InputError(
            f"--kinds: unknown kind {unknown[0]!r}: expected {', '.join(KIND_CHOICES)}"
            if unknown
            else f"--kinds: name at least one of {', '.join(KIND_CHOICES)}"
        )
    return chosen


@cli.group()
def fetch() -> None:
    """Fetch content from the web into the store, for curators to review (never at post time)."""


@fetch.command(name="onthisday")
@date_option("The day to fetch.", metavar="MM-DD")
@click.option("--all", "all_days", is_flag=True, help="All 366 days (one request a day).")
@click.option(
    "--kinds",
    default=",".join(KIND_CHOICES),
    show_default=True,
    metavar="LIST",
    help="Comma-separated: selected, events, births, deaths, holidays.",
)
@click.option("--refresh", is_flag=True, help="Ignore the cache: ask the server again.")
@pass_context
def fetch_onthisday(
    obj: Context, date_text: str | None, all_days: bool, kinds: str, refresh: bool
) -> None:
    """Import Wikipedia's on-this-day lists as candidate events (CC BY-SA, with attribution).

    Candidates post only as a day's fallback (see the daily pick) or once promoted with
    'anniversary-bot events promote ID'. All or nothing: a failed day writes nothing.

    Example: anniversary-bot fetch onthisday --date 11-12 --kinds events,selected
    """
    from bot.content.onthisday import fetch_onthisday as fetch_days

    if bool(date_text) == bool(all_days):
        raise InputError("give --date MM-DD or --all (one of them)")
    chosen = _kinds_option(kinds)
    if all_days:
        import datetime as dt

        start = dt.date(2000, 1, 1)  # a leap year: February 29 too
        days = [
            ((start + dt.timedelta(n)).month, (start + dt.timedelta(n)).day) for n in range(366)
        ]
    else:
        parsed = anniversary_option(date_text or "")
        days = [(parsed.month, parsed.day)]
    with _fetcher(obj, refresh) as fetcher:
        if len(days) > 1 and sys.stderr.isatty():
            with click.progressbar(length=len(days), label="Fetching", file=sys.stderr) as bar:
                report = fetch_days(obj.store, fetcher, days, chosen, progress=bar.update)
        else:
            report = fetch_days(obj.store, fetcher, days, chosen)
    for skipped in report.skipped[:10]:
        click.echo(f"skipped {skipped}", err=True)
    if len(report.skipped) > 10:
        click.echo(f"... and {len(report.skipped) - 10} more skipped", err=True)
    click.echo(report.summary())


@fetch.command(name="background")
@click.argument("event_id", metavar="EVENT")
@click.option("--url", help="The page (default: the event's background or Wikipedia link).")
@click.option("--refresh", is_flag=True, help="Ignore the cache: ask the server again.")
@pass_context
def fetch_background(obj: Context, event_id: str, url: str | None, refresh: bool) -> None:
    """Fetch a page's summary (Wikipedia) or main text (any page) as the event's background.

    The excerpt replaces the event's background of the same page, else joins part 1, with
    its source and retrieval date. Review it with 'anniversary-bot preview'.

    Example: anniversary-bot fetch background 1969-07-20-apollo-11-lands-on-the-moon
    """
    from bot.content.background import fetch_background as fetch_one

    with _fetcher(obj, refresh) as fetcher:
        result = fetch_one(obj.store, event_id, fetcher, url)
    click.echo(result.summary())


@cli.command()
@click.option("--days", type=click.IntRange(1, 3660), default=7, show_default=True)
@to_option("The destination (default: the first).")
@click.option("--from", "from_text", metavar="MM-DD|YYYY-MM-DD", help="First day (default: today).")
@click.option("--seed", type=int, help="Instead of the destination's pick.seed.")
@json_option(help="Machine-readable.")
@pass_context
def plan(
    obj: Context,
    days: int,
    destination: str | None,
    from_text: str | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Show what the daily pick would post each day, and why (milestone, tags, fallback,
    repeats skipped, sensitive). Each day's choice counts as posted for the days after it.

    Example: anniversary-bot plan --days 14 --to forum
    """
    from bot.content.pick import format_plan, pick_settings, plan_days

    dest = obj.destination(destination)
    start = obj.day(from_text, dest.timezone, "--from", days)
    try:
        settings = pick_settings(dest, seed=seed)
    except ValueError as error:
        raise InputError(str(error)) from None
    result = plan_days(obj.store, dest, start, days, settings)
    if as_json:
        document = {
            "destination": dest.name,
            "enabled": settings.enabled,
            "seed": settings.seed,
            "days": [day.to_json() for day in result],
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    if not settings.enabled:
        click.echo(
            f"note: {dest.name} has no daily pick enabled (pick: {{enabled: true}}): showing "
            "the simple order",
            err=True,
        )
    click.echo(format_plan(result, dest.name, settings), nl=False)


@cli.command(name="calendar")
@click.option("--year", type=int, help="Default: this year.")
@to_option("Count only what DEST may post.")
@json_option(help="Machine-readable.")
@pass_context
def calendar_command(
    obj: Context, year: int | None, destination: str | None, as_json: bool
) -> None:
    """Coverage: for every day of the year, how many curated and candidate events exist,
    with the days that have none listed first.

    Example: anniversary-bot calendar --year 2026 --to forum
    """
    from bot.content.calendar import format_calendar
    from bot.content.coverage import destination_coverage
    from bot.model.dates import year_days

    dest = obj.config.destination(destination) if destination else None
    if year is None:
        year = obj.today(dest.timezone if dest else None).year
    else:
        year_days(year)  # one line for a year the calendar does not hold
    coverage = destination_coverage(obj.store, year, dest)
    if as_json:
        click.echo(json.dumps(coverage.to_json(), indent=2))
        return
    title = f"Coverage {year}" + (f" for {dest.name}" if dest else "")
    click.echo(
        format_calendar(coverage.days, year, title, click.style, coverage.leap_day), nl=False
    )
