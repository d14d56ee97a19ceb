"""The store's events: import, export, list, show, and the candidates fetched from the web
(promote, candidates)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import (
    Context,
    Progress,
    anniversary_option,
    cli,
    date_option,
    json_option,
    pass_context,
)


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
    from bot.events.loader import load_files

    store = obj.store
    with Progress("Reading", sum(_size(p) for p in paths)) as read_bar:
        batch = load_files(paths, read_bar)
    with Progress("Writing", batch.event_count, minimum=10_000) as write_bar:
        _, result = import_paths(store, paths, store_progress=write_bar, batch=batch)
    merged = (
        f", {batch.duplicates_merged} identical duplicates merged"
        if batch.duplicates_merged
        else ""
    )
    click.echo(
        f"Imported {batch.event_count:,} events ({result.added:,} new, {result.updated:,} updated"
        f"{merged}), {result.members} members, {result.lists} lists, into {obj.store.path}"
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
@date_option("Only this anniversary (YYYY also matches the year).")
@click.option("--search", metavar="TEXT", help="Only events whose id, title or lead contain TEXT.")
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


@events.command(name="add")
@click.argument("path", required=False, type=click.Path())
@pass_context
def events_add(obj: Context, path: str | None) -> None:
    """Add events from a file (as 'import' does), or write one in $EDITOR from a template:
    it is checked when you save, and the editor opens again with the problem until it passes.

    Example: anniversary-bot events add        (or: anniversary-bot events add apollo.yaml)
    """
    if path is not None:
        from bot.app import import_paths

        batch, _ = import_paths(obj.store, [path])
        for event in batch.events:
            click.echo(f"added {event.id} ({event.title})")
        return
    from bot.operations.event_admin import add_in_editor

    added = add_in_editor(obj.store, _editor)
    click.echo(f"added {added.id} ({added.title})" if added else "not saved: nothing added")


@events.command(name="edit")
@click.argument("event_id", metavar="ID")
@pass_context
def events_edit(obj: Context, event_id: str) -> None:
    """Edit an event's YAML in $EDITOR: checked when you save, and the editor opens again with
    the problem until it passes; nothing is stored before that.

    Example: EDITOR=nano anniversary-bot events edit 1969-07-20-apollo-11-lands-on-the-moon
    """
    from bot.operations.event_admin import edit_in_editor

    edited = edit_in_editor(obj.store, event_id, _editor)
    click.echo(f"saved {edited.id} ({edited.title})" if edited else "not saved: nothing changed")


def _editor(text: str) -> str | None:
    """The text as saved in $EDITOR; None when the person quit without saving."""
    return click.edit(text, extension=".yaml", require_save=True)


@events.command(name="delete")
@click.argument("event_ids", nargs=-1, required=True, metavar="ID...")
@click.option(
    "--force", is_flag=True, help="Even when drafts or the publish log name it (its drafts go too)."
)
@pass_context
def events_delete(obj: Context, event_ids: tuple[str, ...], force: bool) -> None:
    """Delete events, all or none; one that a draft or the publish log names is refused
    unless --force (its drafts are deleted with it; the publish log keeps what went out).

    Example: anniversary-bot events delete 1969-07-20-apollo-11-lands-on-the-moon
    """
    from bot.operations.event_admin import delete_events

    for deleted in delete_events(obj.store, list(event_ids), force):
        click.echo(deleted.line())


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
@date_option("Only this day.", metavar="MM-DD")
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
