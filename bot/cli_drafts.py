"""`drafts` commands: generate, list, show, edit, approve, skip, regenerate, preview.

`preview --format html --out DIR` (in ``bot/cli.py``) uses ``write_site_for`` from here.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli import Context, cli, pass_context
from bot.errors import InputError


@cli.group()
def drafts() -> None:
    """Review the coming days' threads before they go out: edit, approve or skip them."""


def _selected(obj: Context, names: tuple[str, ...]):
    config = obj.config
    return [config.destination(n) for n in names] if names else list(config.destinations.values())


@drafts.command(name="generate")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="How many days, from --date (default: today).")  # fmt: skip
@click.option("--to", "names", multiple=True, metavar="DEST", help="Only this destination.")
@click.option("--date", "date_text", metavar="MM-DD|YYYY-MM-DD", help="The first day.")
@pass_context
def drafts_generate(obj: Context, days: int, names: tuple[str, ...], date_text) -> None:
    """Render each coming day's threads, fitted per destination, and store them as drafts.

    Drafts a person approved, edited or skipped are kept; one whose event changed since is
    marked stale (it is not published until approved again).

    Example: anniversary-bot drafts generate --days 7
    """
    import datetime as dt

    from bot.drafts import Drafts

    store = Drafts(obj.store)
    counts: dict[str, int] = {}
    for dest in _selected(obj, names):
        start = obj.day(date_text, dest.timezone, days=days)
        for offset in range(days):
            for done in store.generate(obj.config, dest, start + dt.timedelta(days=offset)):
                click.echo(done.line())
                counts[done.action] = counts.get(done.action, 0) + 1
    made = ", ".join(f"{n} {action}" for action, n in counts.items() if action != "none")
    click.echo(f"drafts: {made or 'nothing to draft'}", err=True)


def _warnings(draft, config) -> list[str]:
    from bot.drafts import over_limit

    found = list(draft.data["warnings"])
    if draft.destination in config.destinations:
        found += over_limit(draft.thread(), config.destinations[draft.destination])
    return found


@drafts.command(name="list")
@click.option("--to", "destination", metavar="DEST", help="Only this destination.")
@click.option("--all", "show_all", is_flag=True, help="Past days too.")
@click.option("--state", "states", multiple=True,
              type=click.Choice(["draft", "approved", "skipped", "stale"]), help="Only these.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@pass_context
def drafts_list(obj: Context, destination, show_all: bool, states, as_json: bool) -> None:
    """The drafts from today on: id, date, destination, event, state, warnings.

    Example: anniversary-bot drafts list --state stale
    """
    from bot.drafts import Drafts

    since = None if show_all else obj.today()
    found = Drafts(obj.store).list(destination, since, tuple(states) or None)

    def held(d) -> str | None:  # the hold rule's one home: Draft.hold
        dest = obj.config.destinations.get(d.destination)
        why = d.hold(dest.require_approval) if dest is not None else None
        return why.reason if why is not None else None

    if as_json:
        rows = [
            {"id": d.id, "day": d.day.isoformat(), "destination": d.destination,
             "event_id": d.event_id, "title": d.title, "state": d.state, "edited": d.edited_posts,
             "title_edited": "title" in d.overrides, "reason": d.reason, "held": held(d),
             "warnings": _warnings(d, obj.config)}
            for d in found
        ]  # fmt: skip
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from bot.publish import PublishLog

    publish_log = PublishLog(obj.store)
    for d in found:
        warnings = _warnings(d, obj.config)
        rows = publish_log.rows(d.destination, d.day, None, d.event_id)
        if rows:  # its day went out (or began to): the draft is history
            sent = sum(r["state"] == "sent" for r in rows)
            warnings.insert(0, f"published: {sent}/{len(rows)} posts sent")
        elif held(d):
            warnings.insert(0, "held: not published until a person acts")
        shown = warnings[0] if warnings else "-"
        shown += f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
        state = d.label + (f": {d.reason}" if d.reason else "")
        click.echo(f"#{d.id}\t{d.day}\t{d.destination}\t{d.event_id}\t{state}\t{shown}")
    click.echo(f"{len(found)} draft{'s' if len(found) != 1 else ''}", err=True)


@drafts.command(name="show")
@click.argument("draft_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="text: as a person reads it; html: a page like the thread.")  # fmt: skip
@click.option("--diff", is_flag=True, help="What differs from the event rendered now.")
@pass_context
def drafts_show(obj: Context, draft_id: int, fmt: str, diff: bool) -> None:
    """One draft's posts as they would be sent, edits included, with its state and warnings.

    Example: anniversary-bot drafts show 3
    """
    from bot.drafts import Drafts

    store = Drafts(obj.store)
    draft = store.get(draft_id)
    if diff:
        text = store.diff(obj.config, draft_id)
        click.echo(
            text or "(no difference: the draft is what the event renders to now)\n", nl=False
        )
        return
    if fmt == "json":
        data = {"id": draft.id, "destination": draft.destination, "day": draft.day.isoformat(),
                "state": draft.state, "reason": draft.reason, "edited": draft.edited_posts,
                "warnings": _warnings(draft, obj.config), "thread": draft.thread().to_json()}  # fmt: skip
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if fmt == "html":
        from bot.html_preview import draft_page

        click.echo(draft_page(obj.store, obj.config, draft), nl=False)
        return
    from bot.preview import format_preview

    click.echo(f"draft {draft.id}: {draft.label}" + (f": {draft.reason}" if draft.reason else ""))
    for warning in _warnings(draft, obj.config)[len(draft.data["warnings"]) :]:
        click.echo(f"warning: {warning}")
    text = format_preview([draft.thread()], draft.destination)
    for number in draft.edited_posts:  # mark the posts a person changed
        text = text.replace(f"---- post {number} of ", f"---- post {number} (edited) of ", 1)
    click.echo(text, nl=False)


@drafts.command(name="edit")
@click.argument("draft_id", type=int)
@click.option("--post", "number", type=int, default=1, show_default=True, help="Which post.")
@click.option("--title", "edit_title", is_flag=True, help="The thread's title instead.")
@pass_context
def drafts_edit(obj: Context, draft_id: int, number: int, edit_title: bool) -> None:
    """Change a post's text in $EDITOR; the draft keeps it as an edit of that post.

    An approved draft needs approving again after an edit.

    Example: EDITOR=nano anniversary-bot drafts edit 3 --post 2
    """
    from bot.drafts import TITLE, Drafts

    store = Drafts(obj.store)
    draft = store.get(draft_id)
    posts = draft.thread().posts
    if edit_title:
        number = 0
        current = draft.overrides.get(TITLE, posts[0].title if posts else None) or ""
    elif 1 <= number <= len(posts):
        current = posts[number - 1].body
    else:
        raise InputError(f"--post: draft {draft_id} has posts 1 to {len(posts)}")
    extension = {"markdown": ".md", "html": ".html"}.get(draft.data["format"], ".txt")
    edited = click.edit(current + "\n", extension=extension, require_save=True)
    if edited is None:
        click.echo("not saved: nothing changed")
        return
    draft, note = store.edit(draft_id, number, edited)
    what = "the title" if edit_title else f"post {number}"
    click.echo(f"draft {draft.id}: {what} {note}; now {draft.label}")


@drafts.command(name="approve")
@click.argument("draft_ids", type=int, nargs=-1, required=True)
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
@click.argument("draft_id", type=int)
@click.option("--reason", required=True, help="Why the thread is held back.")
@pass_context
def drafts_skip(obj: Context, draft_id: int, reason: str) -> None:
    """Hold a thread back: it is not published (approve it to undo).

    Example: anniversary-bot drafts skip 3 --reason "clashes with the memorial post"
    """
    from bot.drafts import Drafts

    draft = Drafts(obj.store).skip(draft_id, reason)
    click.echo(f"skipped draft {draft.id} ({draft.day} {draft.destination}): {draft.reason}")


@drafts.command(name="regenerate")
@click.argument("draft_id", type=int)
@pass_context
def drafts_regenerate(obj: Context, draft_id: int) -> None:
    """Render a draft anew from its event as it is now (its edits are dropped).

    Example: anniversary-bot drafts regenerate 3
    """
    from bot.drafts import Drafts

    draft = Drafts(obj.store).regenerate(obj.config, draft_id)
    click.echo(f"draft {draft.id} rendered anew from the event: {draft.label}")


def _site_options() -> list[click.Option]:
    return [
        click.Option(["--days"], type=click.IntRange(1, 366), default=None,
                     help="With an --out folder: how many days (default 30)."),
        click.Option(["--year"], type=int, default=None,
                     help="With an --out folder: every day of this year instead."),
    ]  # fmt: skip


@drafts.command(name="preview", params=_site_options())
@click.option("--out", required=True, type=click.Path(file_okay=False), help="The folder.")
@click.option("--to", "names", multiple=True, metavar="DEST", help="Only this destination.")
@click.option("--date", "date_text", metavar="MM-DD|YYYY-MM-DD", help="The first day.")
@pass_context
def drafts_preview(obj: Context, out: str, names, date_text, days, year) -> None:
    """Write the coming days as HTML pages that look like the threads, and a calendar.

    Example: anniversary-bot drafts preview --out preview/ && xdg-open preview/index.html
    """
    write_site_for(obj, out, names, date_text, days, year)


def write_site_for(obj: Context, out: str, names, date_text, days, year) -> None:
    """The HTML preview site: a page per day and a calendar (also `preview --format html
    --out DIR`)."""
    from bot.dates import year_days
    from bot.html_preview import write_site

    destinations = _selected(obj, names)
    if year is not None:
        start, count = year_days(year)
    else:
        count = days or 30
        start = obj.day(date_text, destinations[0].timezone, days=count)
    index = write_site(obj.store, obj.config, destinations, start, count, Path(out))
    click.echo(f"Wrote {count} day page{'s' if count != 1 else ''} and {index}", err=True)
