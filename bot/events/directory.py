"""Who a post can name: the store's members and mention lists, with the config's lists on
top, expanded into the members a post names. Kept apart from managing them (``mentions.py``:
the CSV, the integrity rules, the changes), which rendering never needs."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from bot.errors import InputError
from bot.model import Member

# each store's last directory and the mark it was built at (MentionDirectory.from_store)
_DIRECTORIES: weakref.WeakKeyDictionary[Any, tuple[Any, MentionDirectory]] = (
    weakref.WeakKeyDictionary()
)


class MentionDirectory:
    """Who can be named: the store's members and lists, with the config's lists on top.

    A list defined in the config wins over a store list of the same name: the config is what
    the operator of this bot wrote for these destinations, the store is shared curation data.
    """

    def __init__(
        self, members: Iterable[dict[str, Any]] = (), lists: Iterable[dict[str, Any]] = ()
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
    def from_store(cls, store, config_lists: Iterable[dict[str, Any]] = ()) -> MentionDirectory:
        """Built once per store while neither the store nor the lists change (a preview of
        many days, with 10,000 members, renders every day with the same directory)."""
        config_lists = list(config_lists)
        mark = (store.change_mark(), repr(config_lists))
        cached = _DIRECTORIES.get(store)
        if cached is not None and cached[0] == mark:
            return cached[1]
        lists = {x["name"]: x for x in store.mention_lists()}
        lists.update({x["name"]: x for x in config_lists})
        directory = cls(store.members(), list(lists.values()))
        _DIRECTORIES[store] = (mark, directory)
        return directory

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

    def credited(self, credit: str) -> Member | None:
        """The member an event's ``credit`` names (an id, or an exact display name only one
        member has), or None: then the credit is a plain string, printed as written."""
        if credit in self.members:
            return self.members[credit]
        matches = self.by_name.get(credit, [])
        return matches[0] if len(matches) == 1 else None

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
