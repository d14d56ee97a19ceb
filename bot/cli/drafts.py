"""``drafts``: generate, list, show, edit, approve, skip, regenerate, preview."""

from __future__ import annotations

import click

from bot.cli.base import (
    Context,
    DraftId,
    LibraryChoice,
    cli,
    date_option,
    echo_json,
    echo_table,
    json_option,
    pass_context,
    plural,
    to_many_option,
    to_option,
    write_site_for,
)


def _draft_states() -> tuple[str, ...]:
    from bot.drafts import STATES

    return tuple(STATES)


@cli.group()
def drafts() -> None:
    """Review the coming days' threads before they go out: edit, approve or skip them."""


@drafts.command(name="generate")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="How many days, from --date (default: today).")  # fmt: skip
@to_many_option()
@date_option("The first day.")
@pass_context
def drafts_generate(obj: Context, days: int, names: tuple[str, ...], date_text: str | None) -> None:
    """Render each coming day's threads, fitted per destination, and store them as drafts.

    Drafts a person approved, edited or skipped are kept; one whose event changed since is
    marked stale (it is not published until approved again).

    Example: anniversary-bot drafts generate --days 7
    """
    import datetime as dt

    from bot.drafts import Drafts

    store = Drafts(obj.store)
    counts: dict[str, int] = {}
    rows = []
    for dest in obj.destinations(names):
        start = obj.day(date_text, dest.timezone, days=days)
        for offset in range(days):
            for done in store.generate(obj.config, dest, start + dt.timedelta(days=offset)):
                rows.append(done.cells())
                counts[done.action] = counts.get(done.action, 0) + 1
    echo_table(("DAY", "DESTINATION", "DRAFT", "EVENT", "DONE"), rows)
    made = ", ".join(f"{n} {action}" for action, n in counts.items() if action != "none")
    click.echo(f"drafts: {made or 'nothing to draft'}", err=True)


@drafts.command(name="list")
@to_option()
@click.option("--all", "show_all", is_flag=True, help="Past days too.")
@click.option("--state", "states", multiple=True,
              type=LibraryChoice(_draft_states), help="Only these.")  # fmt: skip
@json_option()
@pass_context
def drafts_list(
    obj: Context, destination: str | None, show_all: bool, states: tuple[str, ...], as_json: bool
) -> None:
    """The drafts from today on: id, date, destination, event, state, warnings.

    Example: anniversary-bot drafts list --state stale
    """
    from bot.operations.draft_review import list_drafts

    since = None if show_all else obj.today()
    found = list_drafts(obj.store, obj.config, destination, since, states)
    if as_json:
        echo_json([d.to_json() for d in found])
        return
    rows = [listing.cells() for listing in found]
    echo_table(("ID", "DAY", "DESTINATION", "EVENT", "STATE", "NOTES"), rows)
    click.echo(plural(len(found), "draft"), err=True)


@drafts.command(name="show")
@click.argument("draft_ids", type=DraftId(), nargs=-1, required=True, metavar="ID...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="text: as a person reads it; html: a page like the thread.")  # fmt: skip
@click.option("--diff", is_flag=True, help="What differs from the event rendered now.")
@json_option(help="The same as --format json (a list for several ids).")
@pass_context
def drafts_show(
    obj: Context, draft_ids: tuple[int, ...], fmt: str, diff: bool, as_json: bool
) -> None:
    """Drafts' posts as they would be sent, edits included, with their state and warnings.

    Example: anniversary-bot drafts show 3
    """
    if as_json or fmt == "json":
        from bot.operations.draft_review import draft_json

        found = [draft_json(obj.store, obj.config, draft_id) for draft_id in draft_ids]
        echo_json(found[0] if len(found) == 1 else found)
        return
    for draft_id in draft_ids:
        _show_draft(obj, draft_id, fmt, diff)


def _show_draft(obj: Context, draft_id: int, fmt: str, diff: bool) -> None:
    from bot.drafts import Drafts
    from bot.operations.draft_review import draft_warnings

    store = Drafts(obj.store)
    draft = store.get(draft_id)
    if diff:
        text = store.diff(obj.config, draft_id)
        click.echo(
            text or "(no difference: the draft is what the event renders to now)\n", nl=False
        )
        return
    if fmt == "html":
        from bot.preview.html import draft_page

        click.echo(draft_page(obj.store, obj.config, draft), nl=False)
        return
    from bot.preview.text import format_preview

    click.echo(f"draft {draft.id}: {draft.label}" + (f": {draft.reason}" if draft.reason else ""))
    for warning in draft_warnings(draft, obj.config)[len(draft.data["warnings"]) :]:
        click.echo(f"warning: {warning}")
    text = format_preview([draft.thread()], draft.destination)
    for number in draft.edited_posts:  # mark the posts a person changed
        text = text.replace(f"---- post {number} of ", f"---- post {number} (edited) of ", 1)
    click.echo(text, nl=False)


@drafts.command(name="edit")
@click.argument("draft_id", type=DraftId())
@click.option("--post", "number", type=int, default=1, show_default=True, help="Which post.")
@click.option("--title", "edit_title", is_flag=True, help="The thread's title instead.")
@pass_context
def drafts_edit(obj: Context, draft_id: int, number: int, edit_title: bool) -> None:
    """Change a post's text in $EDITOR; the draft keeps it as an edit of that post.

    An approved draft needs approving again after an edit.

    Example: EDITOR=nano anniversary-bot drafts edit 3 --post 2
    """
    from bot.drafts import Drafts
    from bot.operations.draft_review import edit_target

    store = Drafts(obj.store)
    target = edit_target(store.get(draft_id), number, edit_title)
    edited = click.edit(target.text + "\n", extension=target.suffix, require_save=True)
    if edited is None:
        click.echo("not saved: nothing changed")
        return
    draft, note = store.edit(draft_id, target.number, edited)
    what = "the title" if edit_title else f"post {target.number}"
    click.echo(f"draft {draft.id}: {what} {note}; now {draft.label}")


@drafts.command(name="approve")
@click.argument("draft_ids", type=DraftId(), nargs=-1, required=True, metavar="ID...")
@pass_context
def drafts_approve(obj: Context, draft_ids: tuple[int, ...]) -> None:
    """Approve drafts: on their day they are published exactly as they stand.

    Example: anniversary-bot drafts approve 3 4
    """
    from bot.drafts import Drafts

    store = Drafts(obj.store)
    for draft_id in draft_ids:
        draft, note = store.approve(obj.config, draft_id)
        click.echo(f"approved draft {draft.id} ({draft.day} {draft.destination} {draft.event_id})")
        if note:
            click.echo(f"  note: {note}")


@drafts.command(name="skip")
@click.argument("draft_ids", type=DraftId(), nargs=-1, required=True, metavar="ID...")
@click.option("--reason", required=True, help="Why the threads are held back.")
@pass_context
def drafts_skip(obj: Context, draft_ids: tuple[int, ...], reason: str) -> None:
    """Hold threads back: they are not published (approve one to undo).

    Example: anniversary-bot drafts skip 3 4 --reason "clashes with the memorial post"
    """
    from bot.drafts import Drafts

    store = Drafts(obj.store)
    for draft_id in draft_ids:
        draft = store.skip(draft_id, reason)
        click.echo(f"skipped draft {draft.id} ({draft.day} {draft.destination}): {draft.reason}")


@drafts.command(name="regenerate")
@click.argument("draft_ids", type=DraftId(), nargs=-1, required=True, metavar="ID...")
@pass_context
def drafts_regenerate(obj: Context, draft_ids: tuple[int, ...]) -> None:
    """Render drafts anew from their events as they are now (their edits are dropped).

    Example: anniversary-bot drafts regenerate 3
    """
    from bot.drafts import Drafts

    store = Drafts(obj.store)
    for draft_id in draft_ids:
        draft = store.regenerate(obj.config, draft_id)
        click.echo(f"draft {draft.id} rendered anew from the event: {draft.label}")


def _site_options() -> list[click.Parameter]:
    return [
        click.Option(["--days"], type=click.IntRange(1, 366), default=None,
                     help="With an --out folder: how many days (default 30)."),
        click.Option(["--year"], type=int, default=None,
                     help="With an --out folder: every day of this year instead."),
    ]  # fmt: skip


@drafts.command(name="preview", params=_site_options())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The folder.")
@to_many_option()
@date_option("The first day.")
@pass_context
def drafts_preview(
    obj: Context,
    out: str,
    names: tuple[str, ...],
    date_text: str | None,
    days: int | None,
    year: int | None,
) -> None:
    """Write the coming days as HTML pages that look like the threads, and a calendar.

    Example: anniversary-bot drafts preview --out preview/ && xdg-open preview/index.html
    """
    write_site_for(obj, out, names, date_text, days, year)
