"""Members and mention lists, and their expansion into the members a post names."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.errors import InputError
from bot.events.directory import MentionDirectory
from bot.model import Member

# --- managing members and lists in the store --------------------------------------------------

MEMBER_COLUMNS = ("id", "name", "tags", "lists", "opted_out")


def platforms() -> tuple[str, ...]:
    """The platforms members can have handles on: those of the installed adapters (a plugin
    that declares a ``platform`` adds one), in the order ``posters`` lists them."""
    from bot.posters import handle_formats

    return tuple(handle_formats())


def csv_columns() -> tuple[str, ...]:
    """The columns a members CSV may have: one per platform after the member's own."""
    return (*MEMBER_COLUMNS, *platforms())


def __getattr__(name: str) -> Any:
    # PLATFORMS asks the installed adapters, which this module must not import when it is
    # imported (preview starts without them)
    if name == "PLATFORMS":
        return platforms()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# a members CSV of a large community is a few megabytes; far more is the wrong file or an attack
MAX_CSV_BYTES = 20 * 1024 * 1024
# the longest sane cell: a display name, a handle, or a few tags or list names
MAX_CELL_CHARS = 1000
# how many event ids an error names before "and N more"
SHOWN_EVENTS = 5

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_SPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def merge_member(
    stored: dict[str, Any] | None, given: dict[str, Any], replace: bool = False
) -> dict[str, Any]:
    """A member record from what an input gave (only the keys it had) on top of the stored one.

    A key the input lacks keeps the stored value; a key it has replaces it. Handles merge per
    platform, and a platform given empty (None or "") loses its handle. ``replace``: the
    stored record is ignored, so a key the input lacks is empty."""
    base = stored if stored is not None and not replace else _empty_member(given["id"])
    merged = {**base, **{key: value for key, value in given.items() if key != "handles"}}
    handles = {**base.get("handles", {}), **(given.get("handles") or {})}
    merged["handles"] = {platform: handle for platform, handle in handles.items() if handle}
    return merged


def merge_list(
    stored: dict[str, Any] | None, given: dict[str, Any], replace: bool = False
) -> dict[str, Any]:
    """A mention list from what an input gave on top of the stored one (as ``merge_member``)."""
    base = stored if stored is not None and not replace else _empty_list(given["name"])
    return {**base, **given}


def _empty_member(member_id: str) -> dict[str, Any]:
    return {"id": member_id, "name": None, "handles": {}, "tags": [], "opted_out": None}


def _empty_list(name: str) -> dict[str, Any]:
    return {"name": name, "description": None, "members": [], "include_tags": []}


def merged_records(
    store, members: list[dict[str, Any]], lists: list[dict[str, Any]], replace: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Members and lists as an import gave them, merged with the store's (see ``merge_member``)."""
    if not members and not lists:
        return [], []
    stored_members = {m["id"]: m for m in store.members()} if members else {}
    stored_lists = {x["name"]: x for x in store.mention_lists()} if lists else {}
    return (
        [merge_member(stored_members.get(m["id"]), m, replace) for m in members],
        [merge_list(stored_lists.get(x["name"]), x, replace) for x in lists],
    )


def validate_member(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Check one member as a curator gave it; errors name ``where`` and the field."""
    from pydantic import ValidationError

    from bot.events.schema import MemberIn

    try:
        return MemberIn.model_validate(data).model_dump()
    except ValidationError as error:
        from bot.input_rules import problem_in_words
        from bot.safe_load import format_path

        first = error.errors()[0]
        field_name = format_path(first["loc"]) or "member"
        raise InputError(f"{where}: {field_name}: {problem_in_words(dict(first))}") from None


# --- what names a member ----------------------------------------------------------------------


class Roster:
    """Who a reference names among some members: a member id, else an exact display name."""

    def __init__(self, members: Iterable[tuple[str, str]]) -> None:
        self.ids: set[str] = set()
        self.names: dict[str, list[str]] = {}
        for member_id, name in members:
            self.ids.add(member_id)
            self.names.setdefault(name, []).append(member_id)

    def resolve(self, reference: str) -> tuple[str, ...]:
        """The ids ``reference`` names: one when it resolves, none or several when it does not."""
        if reference in self.ids:
            return (reference,)
        return tuple(self.names.get(reference, ()))


def mention_blocks(parts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for part in parts:
        for block in part["blocks"]:
            if block["type"] == "mentions":
                yield block


@dataclass
class MentionUses:
    """Where the store names members: ``events`` maps each reference in an event's mentions
    blocks or its ``credit`` (a member id or display name) to the ids of those events; ``lists``
    maps a member id to the store lists that list it."""

    events: dict[str, list[str]]
    lists: dict[str, list[str]]

    @classmethod
    def from_store(cls, store, skip_events: Iterable[str] = ()) -> MentionUses:
        skip = set(skip_events)
        events: dict[str, list[str]] = {}
        for event_id, parts in store.events_with_mentions():
            if event_id in skip:
                continue
            references = {
                reference
                for block in mention_blocks(json.loads(parts))
                for reference in block.get("members") or ()
            }
            for reference in references:
                events.setdefault(reference, []).append(event_id)
        # a credit that names nobody is plain text: broken_references leaves it out
        for event_id, credit in store.event_credits():
            if event_id not in skip and event_id not in events.get(credit, ()):
                events.setdefault(credit, []).append(event_id)
        lists: dict[str, list[str]] = {}
        for mention_list in store.mention_lists():
            for member_id in mention_list["members"]:
                lists.setdefault(member_id, []).append(mention_list["name"])
        return cls(events, lists)


@dataclass(frozen=True)
class BrokenReference:
    """A reference in events that names ``meant`` today and would name ``would_name`` after a
    change: nobody, several members, or someone else."""

    reference: str
    events: tuple[str, ...]
    meant: str
    would_name: tuple[str, ...]

    def describe(self) -> str:
        if not self.would_name:
            after = "would name no member"
        elif len(self.would_name) > 1:
            after = f"would be ambiguous ({', '.join(self.would_name)})"
        else:
            after = f"would name {self.would_name[0]} instead"
        plural = "s" if len(self.events) > 1 else ""
        return f"event{plural} {few(self.events)} name {self.reference!r} ({self.meant}), which {after}"


def few(items: Iterable[str], limit: int = SHOWN_EVENTS) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 7 more``."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def broken_references(uses: MentionUses, before: Roster, after: Roster) -> list[BrokenReference]:
    """The references that name one member ``before`` and not that same one ``after``.
    References that were already unresolvable are not this change's doing and are left out."""
    broken = []
    for reference, event_ids in uses.events.items():
        was = before.resolve(reference)
        if len(was) != 1:
            continue
        now = after.resolve(reference)
        if now != was:
            broken.append(BrokenReference(reference, tuple(event_ids), was[0], now))
    return broken


def _more_names(broken: list[BrokenReference]) -> str:
    return f" (and {len(broken) - 1} more names)" if len(broken) > 1 else ""


def check_imported_names(
    store,
    events: list,
    members: list[dict[str, Any]],
    locate: Callable[[str, tuple], str] | None = None,
) -> None:
    """An import may not leave a member reference naming several members, nor change whom a
    stored event names: by bringing an event that names a shared display name, by giving a
    member a display name another member has, or by renaming a member an event names by name."""
    references = [
        (event, (part_index, block_index), reference)
        for event in events
        for part_index, part in enumerate(event.parts)
        for block_index, block in enumerate(part["blocks"])
        if block["type"] == "mentions"
        for reference in block.get("members") or ()
    ]
    if not members and not references:
        return
    stored = store.member_names()
    after = Roster({**stored, **{m["id"]: m["name"] for m in members}}.items())
    for event, (part_index, block_index), reference in references:
        named = after.resolve(reference)
        if len(named) > 1:
            path = ("parts", part_index, "blocks", block_index)
            where = locate(event.id, path) if locate else event.id
            raise InputError(
                f"{where}: parts[{part_index}].blocks[{block_index}].members: member name "
                f"{reference!r} is ambiguous ({', '.join(named)}): give the member's id instead"
            )
    if not any(stored.get(m["id"]) != m["name"] for m in members):
        return  # no new member and no new name: nothing can name someone else now
    uses = MentionUses.from_store(store, skip_events=(e.id for e in events))
    broken = broken_references(uses, Roster(stored.items()), after)
    if broken:
        first = broken[0]
        given = {m["id"] for m in members}
        who = sorted(given & {first.meant, *first.would_name})
        raise InputError(
            f"members: {', '.join(who)}: {first.describe()}{_more_names(broken)}: keep display "
            f"names unique, or make those events name {first.meant} by its id"
        )


# --- the `mentions` commands ------------------------------------------------------------------


@dataclass
class MemberChange:
    """What a member command did: the member, the lists it was taken off, and the events whose
    mentions blocks were changed (``rewrites``: reference -> member id, or None when dropped)."""

    member: Member
    lists: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    rewrites: dict[str, str | None] = field(default_factory=dict)


def _as_member(data: dict[str, Any]) -> Member:
    return Member(
        id=data["id"],
        name=data["name"],
        handles=dict(data.get("handles") or {}),
        tags=tuple(data.get("tags") or ()),
        opted_out=data.get("opted_out"),
    )


class MentionAdmin:
    """What `anniversary-bot mentions ...` does, on the store."""

    def __init__(self, store) -> None:
        self.store = store

    def directory(self) -> MentionDirectory:
        return MentionDirectory(self.store.members(), self.store.mention_lists())

    def resolve(self, reference: str) -> Member:
        return self.directory().member(reference)

    def _check_handles(self, member: dict[str, Any], where: str) -> None:
        for other in self.store.members():
            if other["id"] == member["id"]:
                continue
            for platform, handle in member["handles"].items():
                if other["handles"].get(platform) == handle:
                    raise InputError(
                        f"{where}: handles.{platform}: {handle!r} is already the handle of "
                        f"{other['id']} ({other['name']})"
                    )

    def _check_names(
        self, member: dict[str, Any], where: str, force: bool, stored_name: str | None = None
    ) -> list[BrokenReference]:
        """Refuse (unless ``force``) a new or renamed member that changes whom an event names;
        with ``force``, what would change, to be rewritten to the member the events meant."""
        if stored_name == member["name"]:
            return []
        names = self.store.member_names()
        before = Roster(names.items())
        names[member["id"]] = member["name"]
        broken = broken_references(
            MentionUses.from_store(self.store), before, Roster(names.items())
        )
        if broken and not force:
            first = broken[0]
            raise InputError(
                f"{where}: name: {first.describe()}{_more_names(broken)}: choose another name, "
                f"or use --force to make those events name {first.meant} by its id"
            )
        return broken

    def add_member(
        self, data: dict[str, Any], where: str = "member", force: bool = False
    ) -> MemberChange:
        member = validate_member(merge_member(None, data), where)
        if self.store.has_member(member["id"]):
            raise InputError(
                f"{where}: id: member {member['id']!r} exists: use 'mentions members edit'"
            )
        self._check_handles(member, where)
        broken = self._check_names(member, where, force)
        rewrites: dict[str, str | None] = {b.reference: b.meant for b in broken}
        with self.store.atomic():
            self.store.save_members([member])
            events = self._rewrite_events(rewrites, (e for b in broken for e in b.events))
        return MemberChange(_as_member(member), events=events, rewrites=rewrites)

    def edit_member(
        self, reference: str, changes: dict[str, Any], force: bool = False
    ) -> MemberChange:
        current = self._stored(self.resolve(reference).id)
        where = f"member {current['id']}"
        member = validate_member(merge_member(current, {**changes, "id": current["id"]}), where)
        self._check_handles(member, where)
        broken = self._check_names(member, where, force, stored_name=current["name"])
        rewrites: dict[str, str | None] = {b.reference: b.meant for b in broken}
        with self.store.atomic():
            self.store.save_members([member])
            events = self._rewrite_events(rewrites, (e for b in broken for e in b.events))
        return MemberChange(_as_member(member), events=events, rewrites=rewrites)

    def remove_member(self, reference: str, force: bool = False) -> MemberChange:
        """Remove a member nothing names; with ``force``, take it off the lists and out of the
        mentions blocks that name it."""
        member = self.resolve(reference)
        uses = MentionUses.from_store(self.store)
        names = self.store.member_names()
        before = Roster(names.items())
        del names[member.id]
        broken = broken_references(uses, before, Roster(names.items()))
        events = sorted({e for b in broken for e in b.events})
        lists = uses.lists.get(member.id, [])
        if (events or lists) and not force:
            users = []
            if events:
                users.append(f"event{'s' if len(events) > 1 else ''} {few(events)}")
            if lists:
                users.append(f"list{'s' if len(lists) > 1 else ''} {', '.join(lists)}")
            raise InputError(
                f"member {member.id} ({member.name}) is named by {' and '.join(users)}: take it "
                "out of them first, or use --force to remove it from them too"
            )
        # the references go: one that would now name someone else must not silently move
        rewrites: dict[str, str | None] = {b.reference: None for b in broken}
        with self.store.atomic():
            changed_lists = []
            for mention_list in self.store.mention_lists():
                if member.id in mention_list["members"]:
                    mention_list["members"] = [m for m in mention_list["members"] if m != member.id]
                    changed_lists.append(mention_list)
            self.store.save_lists(changed_lists)
            self.store.delete_member(member.id)
            changed_events = self._rewrite_events(rewrites, events, member.name)
        return MemberChange(member, lists, changed_events, rewrites)

    def _stored(self, member_id: str) -> dict[str, Any]:
        return next(m for m in self.store.members() if m["id"] == member_id)

    def _rewrite_events(
        self, rewrites: dict[str, str | None], event_ids: Iterable[str], removed: str = ""
    ) -> list[str]:
        """Replace each reference in ``rewrites`` in the events' mentions blocks and credits by
        the id it maps to, or drop it (None); a block left naming nobody goes, and so does a
        part left empty; a credit naming a ``removed`` member becomes their name, plain text.
        The events are written back through the store; returns their ids."""
        if not rewrites:
            return []
        changed = []
        for event_id in sorted(set(event_ids)):
            event = self.store.get_event(event_id)
            if event.credit is not None and event.credit in rewrites:
                event.credit = rewrites[event.credit] or removed or event.credit
            parts = []
            for part in event.parts:
                blocks = []
                for block in part["blocks"]:
                    if block["type"] == "mentions":
                        named = (rewrites.get(r, r) for r in block["members"])
                        members = list(dict.fromkeys(r for r in named if r is not None))
                        block = {**block, "members": members}
                        if not members and not block.get("lists"):
                            continue
                    blocks.append(block)
                if blocks:
                    parts.append({**part, "blocks": blocks})
            if not parts:
                raise InputError(
                    f"event {event_id}: would be left with nothing but its mentions removed: "
                    "edit or delete the event first"
                )
            event.parts = parts
            changed.append(event)
        self.store.import_events(changed)
        return [event.id for event in changed]

    def opt_out(self, reference: str, today: str) -> Member:
        member = self.resolve(reference)
        current = self._stored(member.id)
        self.store.save_members([{**current, "opted_out": today}])
        return member

    def create_list(self, name: str, description: str | None, include_tags: list[str]) -> None:
        from bot.events.list_schema import MentionListIn

        if any(x["name"] == name for x in self.store.mention_lists()):
            raise InputError(f"list {name!r} exists")
        try:
            data = MentionListIn(name=name, description=description, include_tags=include_tags)
        except Exception:
            raise InputError(
                f"list name {name!r}: use lower-case letters, digits and dashes"
            ) from None
        self.store.save_lists([data.model_dump()])

    def mention_list(self, name: str) -> dict[str, Any]:
        for mention_list in self.store.mention_lists():
            if mention_list["name"] == name:
                return mention_list
        raise InputError(
            f"unknown mention list {name!r}: see 'anniversary-bot mentions lists list'"
        )

    def _resolve_all(self, references: list[str]) -> list[Member]:
        """Members by reference, from one directory (one per reference read every member each
        time: minutes for 10,000)."""
        directory = self.directory()
        return [directory.member(reference) for reference in references]

    def add_to_list(self, name: str, references: list[str]) -> list[Member]:
        mention_list = self.mention_list(name)
        members = self._resolve_all(references)
        listed = set(mention_list["members"])  # a set: a list of 10,000 is searched per member
        for member in members:
            if member.id not in listed:
                mention_list["members"].append(member.id)
                listed.add(member.id)
        self.store.save_lists([mention_list])
        return members

    def remove_from_list(self, name: str, references: list[str]) -> list[Member]:
        mention_list = self.mention_list(name)
        members = self._resolve_all(references)
        # counted, not searched and removed one by one (each a pass over the list): an id
        # named n times takes its first n places on the list
        left = Counter(mention_list["members"])
        taken: Counter[str] = Counter()
        for member in members:
            if not left[member.id]:
                raise InputError(f"{member.id} ({member.name}) is not on list {name!r}")
            left[member.id] -= 1
            taken[member.id] += 1
        kept = []
        for member_id in mention_list["members"]:
            if taken[member_id]:
                taken[member_id] -= 1
            else:
                kept.append(member_id)
        mention_list["members"] = kept
        self.store.save_lists([mention_list])
        return members

    def delete_list(self, name: str) -> None:
        self.mention_list(name)
        used = self.store.event_naming_list(name)
        if used:
            raise InputError(f"list {name!r} is used by event {used}: change that event first")
        self.store.delete_list(name)

    # --- import and export ------------------------------------------------------------------

    def import_file(self, path: str, replace: bool = False) -> tuple[int, int]:
        """Members (and lists) from CSV or YAML, all or nothing, merged with the store's: a
        column (or key) the file lacks keeps the stored value, an empty one clears it;
        ``replace``: each member in the file gets exactly the record the file gives."""
        file = Path(path)
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        stored = {m["id"]: m for m in self.store.members()}
        stored_lists = {x["name"]: x for x in self.store.mention_lists()}
        where: dict[str, str] = {}
        members: list[dict[str, Any]] = []
        if file.suffix.lower() == ".csv":
            memberships: dict[str, list[str]] = {}
            for row in read_members_csv(file):
                member_id = row.given["id"]
                location = f"{file}:{row.line}"
                if member_id in where:
                    raise InputError(
                        f"{location}: id: {member_id!r} appears twice in this file (also "
                        f"{where[member_id].rpartition(':')[2]}): keep one"
                    )
                where[member_id] = location
                merged = merge_member(stored.get(member_id), row.given, replace)
                members.append(validate_member(merged, location))
                if row.lists is not None:
                    memberships[member_id] = row.lists
            lists = _apply_memberships(stored_lists, memberships)
        else:
            from bot.events.loader import load_files

            batch = load_files([file])
            if batch.events:
                raise InputError(f"{file}: has events: import it with 'anniversary-bot import'")
            for given in batch.members:
                where[given["id"]] = f"{file}: member {given['id']}"
                merged = merge_member(stored.get(given["id"]), given, replace)
                members.append(validate_member(merged, where[given["id"]]))
            lists = [merge_list(stored_lists.get(x["name"]), x, replace) for x in batch.lists]
        _check_unique_handles(stored, members, where)
        self._check_imported_names(stored, members, where)
        with self.store.atomic():
            self.store.save_members(members)
            self.store.check_mention_references([], [], lists)
            self.store.save_lists(lists)
        return len(members), len(lists)

    def _check_imported_names(
        self, stored: dict[str, dict[str, Any]], members: list[dict[str, Any]], where: dict
    ) -> None:
        if not any(m["id"] not in stored or stored[m["id"]]["name"] != m["name"] for m in members):
            return
        before = Roster((m["id"], m["name"]) for m in stored.values())
        names = {member_id: m["name"] for member_id, m in stored.items()}
        names.update((m["id"], m["name"]) for m in members)
        broken = broken_references(
            MentionUses.from_store(self.store), before, Roster(names.items())
        )
        if broken:
            first = broken[0]
            order = {member_id: index for index, member_id in enumerate(where)}
            culprits = [i for i in (first.meant, *first.would_name) if i in order]
            culprit = min(culprits, key=order.__getitem__)
            raise InputError(
                f"{where[culprit]}: name: {first.describe()}{_more_names(broken)}: keep display "
                f"names unique, or make those events name {first.meant} by its id"
            )

    def export_csv(self, out: TextIO) -> int:
        """Every member as a CSV line that `mentions import` reads back: its handles, tags,
        opt-out and the store lists that list it (a list's description and include_tags are
        in the YAML export only)."""
        import csv

        from bot.input_rules import join_names

        on_lists: dict[str, list[str]] = {}
        for mention_list in self.store.mention_lists():
            for member_id in mention_list["members"]:
                on_lists.setdefault(member_id, []).append(mention_list["name"])
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(csv_columns())
        known_platforms = platforms()
        members = self.store.members()
        for m in members:
            writer.writerow(
                [
                    m["id"],
                    m["name"],
                    join_names(m["tags"]),
                    join_names(on_lists.get(m["id"], [])),
                    m["opted_out"] or "",
                    *(m["handles"].get(platform, "") for platform in known_platforms),
                ]
            )
        return len(members)


def _check_unique_handles(
    stored: dict[str, dict[str, Any]], members: list[dict[str, Any]], where: dict[str, str]
) -> None:
    """No two members end up with the same handle on a platform (one pass, an index)."""
    given = {m["id"] for m in members}
    owners: dict[tuple[str, str], dict[str, Any]] = {}
    for other in stored.values():
        if other["id"] not in given:
            for platform, handle in other["handles"].items():
                owners[platform, handle] = other
    for member in members:
        for platform, handle in member["handles"].items():
            other = owners.setdefault((platform, handle), member)
            if other["id"] != member["id"]:
                raise InputError(
                    f"{where[member['id']]}: handles.{platform}: {handle!r} is already the "
                    f"handle of {other['id']} ({other['name']})"
                )


def _apply_memberships(
    stored_lists: dict[str, dict[str, Any]], memberships: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The lists after each member in ``memberships`` is on exactly the lists named there
    (added at the end of a list, a list created when new); returns the lists that changed."""
    lists = {name: dict.fromkeys(x["members"]) for name, x in stored_lists.items()}
    on_lists: dict[str, set[str]] = {}
    for name, member_ids in lists.items():
        for member_id in member_ids:
            on_lists.setdefault(member_id, set()).add(name)
    changed: dict[str, None] = {}
    for member_id, names in memberships.items():
        current = on_lists.get(member_id, set())
        for name in names:
            if name not in current:
                lists.setdefault(name, {})[member_id] = None
                changed[name] = None
        for name in current.difference(names):
            del lists[name][member_id]
            changed[name] = None
    return [
        {**stored_lists.get(name, _empty_list(name)), "members": list(lists[name])}
        for name in sorted(changed)
    ]


# --- the members CSV --------------------------------------------------------------------------


@dataclass
class CsvMember:
    """One line of a members CSV: ``given`` holds only the columns the file has; ``lists`` the
    list names, or None when the file has no ``lists`` column."""

    line: int
    given: dict[str, Any]
    lists: list[str] | None


def read_members_csv(path: Path) -> Iterator[CsvMember]:
    """CSV with a header: id, name, and any of tags, lists, opted_out and one column per
    platform handle. ``tags`` and ``lists`` hold names separated by spaces or semicolons.
    Errors name the file, the line a record starts on, and the column."""
    import csv
    import io

    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(
            f"{path}: {size:,} bytes, over the {MAX_CSV_BYTES:,} bytes a members CSV may have: "
            "split it into several files"
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text: save the CSV as UTF-8") from None
    # newline="": the csv module splits records itself, so a line break (or U+2028, which
    # str.splitlines would split on) inside a quoted field stays in the field
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = _csv_records(reader, path)
    header_line, header = next(
        ((line, row) for line, row in records if any(cell.strip() for cell in row)), (0, None)
    )
    if header is None:
        raise InputError(f"{path}: the file is empty: expected a header line and members")
    columns = _csv_header(header, f"{path}:{header_line}")
    known_platforms = platforms()
    from bot.events.list_schema import NAME_PATTERN

    name_pattern = re.compile(NAME_PATTERN)
    for line, row in records:
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}:{line}"
        if len(row) != len(columns):
            raise InputError(f"{where}: {len(row)} columns, the header has {len(columns)}")
        cells = {}
        for column, cell in zip(columns, row, strict=True):
            cell = cell.strip()
            if len(cell) > MAX_CELL_CHARS:
                raise InputError(
                    f"{where}: {column}: {len(cell):,} characters, more than the "
                    f"{MAX_CELL_CHARS:,} a cell may have: is this the right file?"
                )
            pattern = _CONTROL_BUT_SPACE if column in ("tags", "lists") else _CONTROL
            control = pattern.search(cell)
            if control:
                raise InputError(
                    f"{where}: {column}: control character U+{ord(control.group()):04X}: remove it"
                )
            cells[column] = cell
        given: dict[str, Any] = {"id": cells["id"], "name": cells["name"]}
        if "tags" in cells:
            given["tags"] = _names(cells["tags"], "tags", where, name_pattern)
        if "opted_out" in cells:
            given["opted_out"] = cells["opted_out"] or None
        handles = {p: cells[p] or None for p in known_platforms if p in cells}
        if handles:
            given["handles"] = handles
        lists = _names(cells["lists"], "lists", where, name_pattern) if "lists" in cells else None
        yield CsvMember(line, given, lists)


def _csv_records(reader, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line a record starts on, its cells); csv errors as one line naming that line."""
    import csv

    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            message = str(error)
            if "field limit" in message:
                reason = (
                    f"a field is over {csv.field_size_limit():,} characters: is this the right "
                    "file?"
                )
            elif "unexpected end of data" in message:
                reason = 'a quoted field is not closed: add the closing quote (")'
            else:
                reason = f"not valid CSV ({message}): check the quotes on this line"
            raise InputError(f"{path}:{start}: {reason}") from None
        yield start, row


def _csv_header(header: list[str], where: str) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    known = csv_columns()
    seen: set[str] = set()
    for index, column in enumerate(columns, 1):
        if not column:
            raise InputError(
                f"{where}: column {index} has no name: name it ({', '.join(known)}) or remove it"
            )
        if column not in known:
            raise InputError(
                f"{where}: unknown column {column!r}: expected {', '.join(sorted(known))}"
            )
        if column in seen:
            raise InputError(f"{where}: column {column!r} appears twice: keep one")
        seen.add(column)
    for required in ("id", "name"):
        if required not in seen:
            raise InputError(f"{where}: the header has no {required!r} column")
    return columns


def _names(cell: str, column: str, where: str, pattern: re.Pattern) -> list[str]:
    """Tag or list names in a cell, each checked as event files check them."""
    from bot.input_rules import split_names

    names = split_names(cell)
    for name in names:
        if len(name) > 64 or not pattern.fullmatch(name):
            raise InputError(
                f"{where}: {column}: {name!r}: use lower-case letters, digits and dashes, "
                "starting with a letter or digit (at most 64)"
            )
    return names
