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
