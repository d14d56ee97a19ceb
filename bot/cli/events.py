"""The store's events: import, export, list, show, and the candidates fetched from the web
(promote, candidates)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import Context, Progress, anniversary_option, cli, json_option, pass_context


def _size(path: str) -> int:
    """Bytes to read under ``path``, for the progress bar."""
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return 0


@cli.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@pass_context
def import_command(obj: Context, paths: tuple[str, ...]) -> None:
    """Import events from YAML, JSON or JSON-lines files or folders (all or nothing).

    Example: anniversary-bot import my-events/ wikipedia-onthisday.jsonl.gz
    """
    from bot.app import import_paths

    store = obj.store
    with Progress("Importing", sum(_size(p) for p in paths)) as bar:
        batch, result = import_paths(store, paths, progress=bar)
    duplicates = batch.duplicates_merged + result.merged
    merged = f", {duplicates} identical duplicates merged" if duplicates else ""
    unchanged = f", {result.unchanged:,} unchanged" if result.unchanged else ""
    count = result.added + result.updated + result.unchanged
    click.echo(
        f"Imported {count:,} events ({result.added:,} new, {result.updated:,} updated"
        f"{unchanged}{merged}), {result.members} members, {result.lists} lists, into {obj.store.path}"
    )


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: standard output).",
)
@pass_context
def export(obj: Context, fmt: str, out: str | None) -> None:
    """Export every event, member and list in a form `import` reads back.

    Example: anniversary-bot export --out events.yaml
    """
    from bot.app import export_events

    if out:
        with open(out, "w", encoding="utf-8") as handle:
            count = export_events(obj.store, handle, fmt)
        click.echo(f"Exported {count:,} events to {out}", err=True)
    else:
        export_events(obj.store, sys.stdout, fmt)


@cli.group()
def events() -> None:
    """List and show the events in the store."""


@events.command(name="list")
@click.option(
    "--date",
    "date_text",
    metavar="MM-DD|YYYY-MM-DD",
    help="Only this anniversary (YYYY also matches the year).",
)
@click.option(
    "--search",
    metavar="TEXT",
    help="Only events with a word of their id, title or lead beginning with each word of TEXT.",
)
@click.option("--limit", type=int, default=None, help="At most this many.")
@pass_context
def events_list(obj: Context, date_text: str | None, search: str | None, limit: int | None) -> None:
    """List events: id, date, tags, title.

    Example: anniversary-bot events list --date 01-10
    """
    month = day = year = None
    if date_text:
        parsed = anniversary_option(date_text)
        month, day, year = parsed.month, parsed.day, parsed.year
    found = obj.store.find_events(month, day, year, search, limit)
    for event in found:
        tags = ",".join(event.tags)
        click.echo(f"{event.id}\t{event.date.iso()}\t{tags}\t{event.title}")
    click.echo(f"{len(found):,} event{'s' if len(found) != 1 else ''}", err=True)


@events.command(name="show")
@click.argument("event_id")
@json_option(help="As JSON instead of YAML.")
@pass_context
def events_show(obj: Context, event_id: str, as_json: bool) -> None:
    """Show one event as its curator would write it.

    Example: anniversary-bot events show 1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky
    """
    from bot.operations.listings import event_document

    click.echo(event_document(obj.store, event_id, as_json), nl=False)


@events.command(name="promote")
@click.argument("event_ids", nargs=-1, required=True, metavar="ID...")
@pass_context
def events_promote(obj: Context, event_ids: tuple[str, ...]) -> None:
    """Make candidate events curated: they post like any curated event, and a later import of
    the feed or data set leaves them as they are.

    Example: anniversary-bot events promote 1912-11-12-event-1a2b3c4d
    """
    from bot.content.promote import promote

    for event in promote(obj.store, list(event_ids)):
        click.echo(f"promoted {event.id} ({event.title})")


@events.command(name="candidates")
@click.option("--date", "date_text", metavar="MM-DD", help="Only this day.")
@click.option(
    "--search", metavar="TEXT", help="Only candidates whose id, title or lead contain TEXT."
)
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many.")
@pass_context
def events_candidates(obj: Context, date_text: str | None, search: str | None, limit: int) -> None:
    """List candidate events (not curated): id, date, tags, title.

    Example: anniversary-bot events candidates --date 11-12
    """
    from bot.content.promote import candidates

    month = day = None
    if date_text:
        parsed = anniversary_option(date_text)
        month, day = parsed.month, parsed.day
    found = candidates(obj.store, month, day, search, limit)
    for event in found:
        click.echo(f"{event.id}\t{event.date.iso()}\t{','.join(event.tags)}\t{event.title}")
    click.echo(f"{len(found):,} candidate{'s' if len(found) != 1 else ''}", err=True)
