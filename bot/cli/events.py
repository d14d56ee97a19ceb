"""The store's events: import, export, list, show, and the candidates fetched from the web
(promote, candidates)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import (
    Context,
    Progress,
    anniversary_option,
    cli,
    date_option,
    echo_json,
    echo_table,
    json_option,
    limit_option,
    pass_context,
    plural,
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

    store = obj.store
    with Progress("Importing", sum(_size(p) for p in paths)) as bar:
        batch, result = import_paths(store, paths, progress=bar)
    duplicates = batch.duplicates_merged + result.merged
    merged = f", {plural(duplicates, 'identical duplicate')} merged" if duplicates else ""
    unchanged = f", {result.unchanged:,} unchanged" if result.unchanged else ""
    count = result.added + result.updated + result.unchanged
    click.echo(
        f"Imported {plural(count, 'event')} ({result.added:,} new, "
        f"{result.updated:,} updated{unchanged}{merged}), {plural(result.members, 'member')}, "
        f"{plural(result.lists, 'list')}, into {obj.store.path}"
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
        members, lists = len(obj.store.members()), len(obj.store.mention_lists())
        click.echo(
            f"Exported {plural(count, 'event')}, {plural(members, 'member')}, "
            f"{plural(lists, 'list')} to {out}",
            err=True,
        )
    else:
        export_events(obj.store, sys.stdout, fmt)


@cli.group()
def events() -> None:
    """List and show the events in the store."""


@events.command(name="list")
@date_option("Only this anniversary (YYYY also matches the year).")
@click.option(
    "--search",
    metavar="TEXT",
    help="Only events with a word of their id, title or lead beginning with each word of TEXT.",
)
@limit_option()
@json_option()
@pass_context
def events_list(
    obj: Context, date_text: str | None, search: str | None, limit: int, as_json: bool
) -> None:
    """List events, curated and candidates: id, date, kind, tags, title.

    Example: anniversary-bot events list --date 01-10
    """
    month = day = year = None
    if date_text:
        parsed = anniversary_option(date_text)
        month, day, year = parsed.month, parsed.day, parsed.year
    found = obj.store.find_events(month, day, year, search, limit + 1 if limit else None)
    _echo_events(found, limit, "event", as_json)


def _echo_events(found: list[Any], limit: int, noun: str, as_json: bool) -> None:
    """Events as a table (or JSON), at most ``limit`` (0: all), saying when there are more."""
    from bot.operations.listings import event_json, event_kind

    more = bool(limit) and len(found) > limit
    shown = found[:limit] if limit else found
    if as_json:
        echo_json([event_json(event) for event in shown])
        return
    rows = [(e.id, e.date.iso(), event_kind(e), ",".join(e.tags) or "-", e.title) for e in shown]
    echo_table(("ID", "DATE", "KIND", "TAGS", "TITLE"), rows)
    if more:
        click.echo(f"the first {plural(limit, noun)}: --limit N for more, 0 for all", err=True)
    else:
        click.echo(plural(len(shown), noun), err=True)


@events.command(name="show")
@click.argument("event_ids", nargs=-1, required=True, metavar="ID...")
@json_option(help="As JSON instead of YAML (a list for several ids).")
@pass_context
def events_show(obj: Context, event_ids: tuple[str, ...], as_json: bool) -> None:
    """Show events as their curator would write them (YAML that 'import' reads back).

    Example: anniversary-bot events show 1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky
    """
    from bot.operations.listings import event_document, event_json

    if as_json:
        found = [event_json(obj.store.get_event(event_id)) for event_id in event_ids]
        echo_json(found[0] if len(found) == 1 else found)
        return
    documents = [event_document(obj.store, event_id) for event_id in event_ids]
    click.echo("---\n".join(documents), nl=False)


@events.command(name="add")
@click.argument("path", required=False, type=click.Path())
@pass_context
def events_add(obj: Context, path: str | None) -> None:
    """Add events from a file (as 'import' does), or write one in $EDITOR from a template:
    it is checked when you save, and the editor opens again with the problem until it passes.

    Example: anniversary-bot events add        (or: anniversary-bot events add apollo.yaml)
    """
    if path is not None:
        from bot.operations.event_admin import add_from_file

        for done in add_from_file(obj.store, path):
            click.echo(done.line())
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
@limit_option()
@json_option()
@pass_context
def events_candidates(
    obj: Context, date_text: str | None, search: str | None, limit: int, as_json: bool
) -> None:
    """List candidate events (not curated): id, date, kind, tags, title.

    Example: anniversary-bot events candidates --date 11-12
    """
    from bot.content.promote import candidates

    month = day = None
    if date_text:
        parsed = anniversary_option(date_text)
        month, day = parsed.month, parsed.day
    found = candidates(obj.store, month, day, search, limit + 1 if limit else None)
    _echo_events(found, limit, "candidate", as_json)
