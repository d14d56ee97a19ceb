"""``mentions``: members and mention lists, who is told "FYI" under each part."""

from __future__ import annotations

import sys
from typing import Any

import click

from bot.cli.base import (
    Context,
    cli,
    comma_names,
    echo_json,
    echo_table,
    json_option,
    pass_context,
)
from bot.errors import InputError


@cli.group()
def mentions() -> None:
    """Members and mention lists: who is told "FYI" under each part."""


@mentions.group(name="members")
def members_group() -> None:
    """List, add, edit and remove members."""


def _handles_option(values: tuple[str, ...]) -> dict[str, str]:
    """``--handle PLATFORM=HANDLE`` values as a platform -> handle mapping."""
    from bot.events.mentions import PLATFORMS

    handles = {}
    for value in values:
        platform, sep, handle = value.partition("=")
        if not sep or platform not in PLATFORMS:
            raise InputError(
                f"--handle {value!r}: expected PLATFORM=HANDLE with PLATFORM one of {', '.join(PLATFORMS)}"
            )
        handles[platform] = handle
    return handles


def _echo_rewrites(change: Any) -> None:
    """What a --force changed in events, one line per reference."""
    for reference, target in change.rewrites.items():
        what = f"now name {target}" if target else "no longer name it"
        click.echo(f"  events that named {reference!r} {what}")
    if change.events:
        click.echo(f"  changed events: {', '.join(change.events)}")


@members_group.command(name="list")
@json_option()
@pass_context
def members_list(obj: Context, as_json: bool) -> None:
    """Every member: id, name, handles, tags, opted out.

    Example: anniversary-bot mentions members list
    """
    from bot.operations.listings import member_cells, member_json

    members = obj.store.members()
    if as_json:
        echo_json([member_json(member) for member in members])
        return
    rows = [member_cells(member) for member in members]
    echo_table(("ID", "NAME", "TAGS", "OPTED OUT", "HANDLES"), rows)


@members_group.command(name="add")
@click.argument("member_id")
@click.argument("name")
@click.option(
    "--handle",
    "handles",
    multiple=True,
    metavar="PLATFORM=HANDLE",
    help="e.g. discourse=janedoe (repeatable).",
)
@click.option("--tag", "tags", multiple=True,
              help="Topics the member follows, comma-separated (repeatable).")  # fmt: skip
@click.option(
    "--force",
    is_flag=True,
    help="Even when events name another member by this display name (they then name it by id).",
)
@pass_context
def members_add(
    obj: Context,
    member_id: str,
    name: str,
    handles: tuple[str, ...],
    tags: tuple[str, ...],
    force: bool,
) -> None:
    """Add a member. A display name that events use for another member is refused (--force).

    Example: anniversary-bot mentions members add jane-doe "SGT Jane Doe" --handle discourse=janedoe --tag space
    """
    from bot.events.mentions import MentionAdmin

    member = {"id": member_id, "name": name, "handles": _handles_option(handles),
              "tags": comma_names(*tags)}  # fmt: skip
    change = MentionAdmin(obj.store).add_member(member, force=force)
    click.echo(f"added {change.member.id} ({change.member.name})")
    _echo_rewrites(change)


@members_group.command(name="edit")
@click.argument("member")
@click.option("--name", help="A new display name.")
@click.option(
    "--handle",
    "handles",
    multiple=True,
    metavar="PLATFORM=HANDLE",
    help="Set a handle; PLATFORM= removes it.",
)
@click.option("--tags", help="Replace the tags: comma-separated (--tags '' removes them).")
@click.option(
    "--force",
    is_flag=True,
    help="Rename even when events name a member by the old or new name (they then name it by id).",
)
@pass_context
def members_edit(
    obj: Context,
    member: str,
    name: str | None,
    handles: tuple[str, ...],
    tags: str | None,
    force: bool,
) -> None:
    """Change a member's name, handles or tags. MEMBER is an id or the exact display name.
    A new name that changes whom an event names is refused (--force).

    Example: anniversary-bot mentions members edit jane-doe --handle mastodon=@jane@example.social
    """
    from bot.events.mentions import MentionAdmin

    changes: dict[str, Any] = {"handles": _handles_option(handles)}
    if name:
        changes["name"] = name
    if tags is not None:
        changes["tags"] = comma_names(tags)
    change = MentionAdmin(obj.store).edit_member(member, changes, force=force)
    click.echo(f"updated {change.member.id} ({change.member.name})")
    _echo_rewrites(change)


@members_group.command(name="remove")
@click.argument("members", nargs=-1, required=True, metavar="MEMBER...")
@click.option(
    "--force",
    is_flag=True,
    help="Also take the member off the lists and out of the events that name it.",
)
@pass_context
def members_remove(obj: Context, members: tuple[str, ...], force: bool) -> None:
    """Remove members that no event or list names (--force: take them out of those too).

    Example: anniversary-bot mentions members remove jane-doe
    """
    from bot.events.mentions import MentionAdmin

    admin = MentionAdmin(obj.store)
    for member in members:
        change = admin.remove_member(member, force=force)
        click.echo(f"removed {change.member.id} ({change.member.name})")
        if change.lists:
            click.echo(f"  taken off lists: {', '.join(change.lists)}")
        if change.events:
            click.echo(f"  dropped from the mentions of events: {', '.join(change.events)}")


@mentions.command(name="optout")
@click.argument("members", nargs=-1, required=True, metavar="MEMBER...")
@pass_context
def mentions_optout(obj: Context, members: tuple[str, ...]) -> None:
    """Record that members asked not to be mentioned: they are never named again.

    Example: anniversary-bot mentions optout "SSG Jeffrey Leake"
    """
    from bot.events.mentions import MentionAdmin

    admin = MentionAdmin(obj.store)
    for member in members:
        out = admin.opt_out(member, obj.today().isoformat())
        click.echo(f"{out.id} ({out.name}) opted out")


@mentions.group(name="lists")
def lists_group() -> None:
    """List, show, create, change and delete mention lists."""


@lists_group.command(name="list")
@json_option()
@pass_context
def lists_list(obj: Context, as_json: bool) -> None:
    """Every list, with its size, and where it is defined (store or config; config wins).

    Example: anniversary-bot mentions lists list
    """
    from bot.operations.listings import mention_listings

    found = mention_listings(obj.store, obj.config.lists)
    if as_json:
        echo_json([mention_list.to_json() for mention_list in found])
        return
    echo_table(("NAME", "MEMBERS", "WHERE"), [(x.name, x.size, x.where) for x in found])


@lists_group.command(name="show")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@json_option(help="As JSON (a list for several names).")
@pass_context
def lists_show(obj: Context, names: tuple[str, ...], as_json: bool) -> None:
    """The members a list expands to, in order (opted-out members left out).

    Example: anniversary-bot mentions lists show reference-fyi-1
    """
    from bot.operations.listings import mention_listings

    found = mention_listings(obj.store, obj.config.lists, list(names))
    if as_json:
        echo_json(found[0].to_json() if len(found) == 1 else [x.to_json() for x in found])
        return
    if len(found) == 1:
        echo_table(("ID", "NAME"), found[0].members)
    else:
        echo_table(("ID", "NAME", "LIST"), [(*m, x.name) for x in found for m in x.members])


@lists_group.command(name="create")
@click.argument("name")
@click.option("--description")
@click.option(
    "--include-tag",
    "include_tags",
    multiple=True,
    help="Also every member following these tags, comma-separated (repeatable).",
)
@pass_context
def lists_create(
    obj: Context, name: str, description: str | None, include_tags: tuple[str, ...]
) -> None:
    """Create an empty list.

    Example: anniversary-bot mentions lists create space-fans --include-tag space
    """
    from bot.events.mentions import MentionAdmin

    tags = comma_names(*include_tags)
    MentionAdmin(obj.store).create_list(name, description, tags)
    click.echo(f"created list {name}")


@lists_group.command(name="add")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def lists_add(obj: Context, name: str, members: tuple[str, ...]) -> None:
    """Add members (ids or exact display names) to a list, at its end.

    Example: anniversary-bot mentions lists add space-fans jane-doe
    """
    from bot.events.mentions import MentionAdmin

    added = MentionAdmin(obj.store).add_to_list(name, list(members))
    click.echo(f"{name}: added {', '.join(m.id for m in added)}")


@lists_group.command(name="remove")
@click.argument("name")
@click.argument("members", nargs=-1, required=True)
@pass_context
def lists_remove(obj: Context, name: str, members: tuple[str, ...]) -> None:
    """Take members off a list.

    Example: anniversary-bot mentions lists remove space-fans jane-doe
    """
    from bot.events.mentions import MentionAdmin

    removed = MentionAdmin(obj.store).remove_from_list(name, list(members))
    click.echo(f"{name}: removed {', '.join(m.id for m in removed)}")


@lists_group.command(name="delete")
@click.argument("name")
@pass_context
def lists_delete(obj: Context, name: str) -> None:
    """Delete a list no event uses.

    Example: anniversary-bot mentions lists delete space-fans
    """
    from bot.events.mentions import MentionAdmin

    MentionAdmin(obj.store).delete_list(name)
    click.echo(f"deleted list {name}")


@mentions.command(name="import")
@click.argument("path", type=click.Path())
@click.option(
    "--replace",
    is_flag=True,
    help="Give each member in the file exactly the record the file has (absent columns empty).",
)
@pass_context
def mentions_import(obj: Context, path: str, replace: bool) -> None:
    """Import members from CSV (id,name and any of tags,lists,opted_out,discourse,mastodon,
    discord,slack,matrix) or YAML (members:/lists:), all or nothing. It merges: a column the
    file lacks keeps the stored value, an empty cell clears it.

    Example: anniversary-bot mentions import members.csv
    """
    from bot.events.mentions import MentionAdmin

    count, lists = MentionAdmin(obj.store).import_file(path, replace=replace)
    click.echo(
        f"imported {count} member{'s' if count != 1 else ''}, {lists} list{'s' if lists != 1 else ''}"
    )


@mentions.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "csv"]),
    default="yaml",
    help="csv: members and their list memberships only.",
)
@pass_context
def mentions_export(obj: Context, fmt: str) -> None:
    """Members and lists as YAML (or members as CSV) that `mentions import` reads back.

    Example: anniversary-bot mentions export > members.yaml
    """
    if fmt == "csv":
        from bot.events.mentions import MentionAdmin

        MentionAdmin(obj.store).export_csv(sys.stdout)
        return
    from bot.operations.listings import mentions_document

    click.echo(mentions_document(obj.store), nl=False)
