"""Members and mention lists, and their expansion into the members a post names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.errors import InputError


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    handles: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()
    opted_out: str | None = None

    def handle(self, platform: str | None) -> str | None:
        return self.handles.get(platform) if platform else None


class MentionDirectory:
    """Who can be named: the store's members and lists, with the config's lists on top.

    A list defined in the config wins over a store list of the same name: the config is what
    the operator of this bot wrote for these destinations, the store is shared curation data.
    """

    def __init__(
        self, members: list[dict[str, Any]] = (), lists: list[dict[str, Any]] = ()
    ) -> None:
        self.members: dict[str, Member] = {}
        self.by_name: dict[str, list[Member]] = {}
        for data in members:
            member = Member(
                id=data["id"],
                name=data["name"],
                handles=dict(data.get("handles") or {}),
                tags=tuple(data.get("tags") or ()),
                opted_out=data.get("opted_out"),
            )
            self.members[member.id] = member
            self.by_name.setdefault(member.name, []).append(member)
        self.lists: dict[str, dict[str, Any]] = {x["name"]: x for x in lists}

    @classmethod
    def from_store(cls, store, config_lists: list[dict[str, Any]] = ()) -> MentionDirectory:
        lists = {x["name"]: x for x in store.mention_lists()}
        lists.update({x["name"]: x for x in config_lists})
        return cls(store.members(), list(lists.values()))

    def member(self, reference: str) -> Member:
        """A member by id, or by exact display name when that name is unique."""
        if reference in self.members:
            return self.members[reference]
        matches = self.by_name.get(reference, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(m.id for m in matches)
            raise InputError(f"member name {reference!r} is ambiguous: use one of the ids {ids}")
        raise InputError(
            f"unknown member {reference!r}: see 'anniversary-bot mentions members list'"
        )

    def expand_list(self, name: str) -> list[Member]:
        if name not in self.lists:
            raise InputError(
                f"unknown mention list {name!r}: see 'anniversary-bot mentions lists list'"
            )
        mention_list = self.lists[name]
        members = [self.member(ref) for ref in mention_list.get("members") or []]
        include_tags = set(mention_list.get("include_tags") or ())
        if include_tags:
            members += [m for m in self.members.values() if include_tags & set(m.tags)]
        return members

    def expand(self, lists: list[str], members: list[str]) -> list[Member]:
        """Lists in order, then named members; each member once; opted-out members never."""
        expanded: list[Member] = []
        seen: set[str] = set()
        for member in [m for name in lists for m in self.expand_list(name)] + [
            self.member(ref) for ref in members
        ]:
            if member.id in seen or member.opted_out:
                continue
            seen.add(member.id)
            expanded.append(member)
        return expanded


# --- managing members and lists in the store --------------------------------------------------

PLATFORMS = ("discourse", "mastodon", "discord", "slack", "matrix")


def validate_member(data: dict[str, Any], where: str) -> dict[str, Any]:
    """Check one member as a curator gave it; errors name ``where`` and the field."""
    from pydantic import ValidationError

    from bot.schema import MemberIn

    try:
        return MemberIn.model_validate(data).model_dump()
    except ValidationError as error:
        first = error.errors()[0]
        field_name = ".".join(str(x) for x in first["loc"]) or "member"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        raise InputError(f"{where}: {field_name}: {message}") from None


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

    def add_member(self, data: dict[str, Any], where: str = "member") -> dict[str, Any]:
        member = validate_member(data, where)
        if any(m["id"] == member["id"] for m in self.store.members()):
            raise InputError(
                f"{where}: id: member {member['id']!r} exists: use 'mentions members edit'"
            )
        self._check_handles(member, where)
        self.store.save_members([member])
        return member

    def edit_member(self, reference: str, changes: dict[str, Any]) -> dict[str, Any]:
        current = next(m for m in self.store.members() if m["id"] == self.resolve(reference).id)
        updated = {**current, **{k: v for k, v in changes.items() if k != "handles"}}
        updated["handles"] = {**current["handles"], **changes.get("handles", {})}
        updated["handles"] = {k: v for k, v in updated["handles"].items() if v}
        member = validate_member(updated, f"member {current['id']}")
        self._check_handles(member, f"member {current['id']}")
        self.store.save_members([member])
        return member

    def remove_member(self, reference: str) -> Member:
        member = self.resolve(reference)
        with self.store.db.atomic():
            for mention_list in self.store.mention_lists():
                if member.id in mention_list["members"]:
                    mention_list["members"] = [m for m in mention_list["members"] if m != member.id]
                    self.store.save_lists([mention_list])
            self.store.delete_member(member.id)
        return member

    def opt_out(self, reference: str, today: str) -> Member:
        member = self.resolve(reference)
        current = next(m for m in self.store.members() if m["id"] == member.id)
        self.store.save_members([{**current, "opted_out": today}])
        return member

    def create_list(self, name: str, description: str | None, include_tags: list[str]) -> None:
        from bot.schema import MentionListIn

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

    def add_to_list(self, name: str, references: list[str]) -> list[Member]:
        mention_list = self.mention_list(name)
        members = [self.resolve(ref) for ref in references]
        for member in members:
            if member.id not in mention_list["members"]:
                mention_list["members"].append(member.id)
        self.store.save_lists([mention_list])
        return members

    def remove_from_list(self, name: str, references: list[str]) -> list[Member]:
        mention_list = self.mention_list(name)
        members = [self.resolve(ref) for ref in references]
        for member in members:
            if member.id not in mention_list["members"]:
                raise InputError(f"{member.id} ({member.name}) is not on list {name!r}")
            mention_list["members"].remove(member.id)
        self.store.save_lists([mention_list])
        return members

    def delete_list(self, name: str) -> None:
        self.mention_list(name)
        used = self.store.conn.execute(
            "select id from events where parts like ? limit 1", [f'%"{name}"%']
        ).fetchone()
        if used:
            raise InputError(f"list {name!r} is used by event {used[0]}: change that event first")
        self.store.delete_list(name)

    def import_file(self, path: str) -> tuple[int, int]:
        """Members (and lists) from CSV or YAML, all or nothing."""
        from pathlib import Path

        file = Path(path)
        if not file.is_file():
            raise InputError(f"{file}: no such file")
        if file.suffix.lower() == ".csv":
            members, lists = _read_members_csv(file, self.store.mention_lists())
        else:
            from bot.loader import load_files

            batch = load_files([file])
            if batch.events:
                raise InputError(f"{file}: has events: import it with 'anniversary-bot import'")
            members, lists = batch.members, batch.lists
        with self.store.db.atomic():
            for index, member in enumerate(members):
                self._check_handles(member, f"{file}: member {member['id']}")
                clash = [
                    m["id"]
                    for m in members[:index]
                    for p, h in member["handles"].items()
                    if m["handles"].get(p) == h
                ]
                if clash:
                    raise InputError(
                        f"{file}: member {member['id']}: a handle is also given to {clash[0]}"
                    )
            self.store.save_members(members)
            self.store.check_mention_references([], [], lists)
            self.store.save_lists(lists)
        return len(members), len(lists)


def _read_members_csv(path, existing_lists: list[dict[str, Any]]):
    """CSV with a header: id, name, tags, lists, and one column per platform handle.
    ``tags`` and ``lists`` hold names separated by spaces or semicolons."""
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text: save the CSV as UTF-8") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise InputError(f"{path}: the file is empty: expected a header line and members")
    header = [h.strip().lower() for h in rows[0]]
    allowed = {"id", "name", "tags", "lists", "opted_out", *PLATFORMS}
    unknown = [h for h in header if h not in allowed]
    if unknown:
        raise InputError(
            f"{path}:1: unknown column {unknown[0]!r}: expected {', '.join(sorted(allowed))}"
        )
    for required in ("id", "name"):
        if required not in header:
            raise InputError(f"{path}:1: the header has no {required!r} column")
    members: list[dict[str, Any]] = []
    lists = {x["name"]: {**x, "members": list(x["members"])} for x in existing_lists}
    touched: set[str] = set()
    for line_number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(
                f"{path}:{line_number}: {len(row)} columns, the header has {len(header)}"
            )
        cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
        data = {
            "id": cells["id"],
            "name": cells["name"],
            "handles": {p: cells[p] for p in PLATFORMS if cells.get(p)},
            "tags": cells.get("tags", "").replace(";", " ").split(),
            "opted_out": cells.get("opted_out") or None,
        }
        member = validate_member(data, f"{path}:{line_number}")
        if any(m["id"] == member["id"] for m in members):
            raise InputError(
                f"{path}:{line_number}: id: {member['id']!r} appears twice in this file"
            )
        members.append(member)
        for name in cells.get("lists", "").replace(";", " ").split():
            mention_list = lists.setdefault(
                name, {"name": name, "description": None, "members": [], "include_tags": []}
            )
            if member["id"] not in mention_list["members"]:
                mention_list["members"].append(member["id"])
            touched.add(name)
    return members, [lists[name] for name in sorted(touched)]
