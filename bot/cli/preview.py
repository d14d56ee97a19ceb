"""``preview``: a day's threads as they would be posted. Kept small: it is the command people
run most, and it loads only what rendering needs."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import (
    Context,
    cli,
    date_option,
    json_option,
    pass_context,
    to_option,
    write_site_for,
)
from bot.errors import InputError


@cli.command()
@date_option("The day to preview (default: today).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html"]),
    help="Default: the destination's format.",
)
@to_option("Render as for this destination (default: the first).")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Every event of the day, not only those the destination posts.",
)
@click.option(
    "--out",
    type=click.Path(),
    help="Write to this file instead of standard output; with --format html, a folder "
    "(existing, or a name without a suffix) gets a page per day and a calendar.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=None,
    help="With --format html --out DIR: how many days (default 30).",
)
@click.option("--year", type=int, default=None, help="With --format html --out DIR: this year.")
@json_option("Machine-readable: per thread its event, date and posts.")
@pass_context
def preview(
    obj: Context,
    date_text: str | None,
    fmt: str | None,
    destination: str | None,
    show_all: bool,
    out: str | None,
    days: int | None,
    year: int | None,
    as_json: bool,
) -> None:
    """Show the day's thread(s) exactly as they would be posted, with each post's length.

    Example: anniversary-bot preview --date 01-10 --format markdown
    """
    if fmt == "html" and out and (Path(out).is_dir() or not Path(out).suffix):
        names = (destination,) if destination else ()
        write_site_for(obj, out, names, date_text, days, year)
        return
    if days is not None or year is not None:
        raise InputError("--days and --year go with --format html --out DIR")
    from bot.preview.day import preview_day

    dest = obj.destination(destination)
    day = obj.day(date_text, dest.timezone)
    shown = preview_day(obj.store, obj.config, dest, day, fmt, show_all, as_json)
    if shown.note and not as_json:
        click.echo(f"Note: {shown.note}", err=True)
    if out:
        Path(out).write_text(shown.text, encoding="utf-8")
        count = len(shown.threads)
        click.echo(f"Wrote {count} thread{'s' if count != 1 else ''} to {out}", err=True)
    else:
        click.echo(shown.text, nl=False)
