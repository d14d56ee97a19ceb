"""What the store holds, written for people: an event as its curator would write it, members
and mention lists in the shape ``mentions import`` reads back, the lists with their sizes; and
each object's ``--json`` shape (README, "JSON output")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.content import is_candidate
from bot.model import Event

if TYPE_CHECKING:
    from bot.store import Store

# the YAML documents' helpers (bot.app) and the mention directory are imported where they are
# used: `events list` needs neither, and starts without the library's front door


def event_kind(event: Event) -> str:
    """The kind of event: "candidate" (found by the bot, posts only as a fallback) or
    "curated"."""
    return "candidate" if is_candidate(event.origin) else "curated"


def event_json(event: Event) -> dict[str, Any]:
    """An event's JSON shape: the curator's form (``import`` reads it back) with ``tags`` and
    ``origin`` always there, and ``kind``."""
    data = event.to_dict()
    data.setdefault("tags", [])
    data["origin"] = event.origin
    data["kind"] = event_kind(event)
    data["parts"] = data.pop("parts")  # last, as in the curator's form
    return data


def event_document(store: Store, event_id: str, as_json: bool = False) -> str:
    """One event as YAML that ``import`` reads back (or its JSON shape)."""
    event = store.get_event(event_id)
    if as_json:
        return json.dumps(event_json(event), ensure_ascii=False, indent=2) + "\n"
    import yaml

    from bot.app import _yaml_dumper

    return yaml.dump(
        event.to_dict(), Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False, width=100
    )


def mentions_document(store: Store) -> str:
    """Every member and list as YAML that ``mentions import`` reads back."""
    import yaml

    from bot.app import _compact_list, _compact_member, _yaml_dumper

    document = {
        "members": [_compact_member(m) for m in store.members()],
        "lists": [_compact_list(x) for x in store.mention_lists()],
    }
    return yaml.dump(document, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class MentionListing:
    """A mention list as ``mentions lists list`` and ``show`` give it."""

    name: str
    where: str  # "config" or "store": a list in the config wins over the store's
    members: list[tuple[str, str]]  # (id, name) it expands to, in order, opted-out left out

    @property
    def size(self) -> int:
        return len(self.members)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "where": self.where,
            "size": self.size,
            "members": [{"id": i, "name": n} for i, n in self.members],
        }


def mention_listings(
    store: Store, config_lists: list[dict[str, Any]], names: list[str] | None = None
) -> list[MentionListing]:
    """Every list (or those ``names``, each of which must exist) with the members it expands
    to."""
    from bot.events.directory import MentionDirectory

    directory = MentionDirectory.from_store(store, config_lists)
    in_config = {x["name"] for x in config_lists}
    chosen = list(directory.lists) if names is None else names
    return [
        MentionListing(
            name,
            "config" if name in in_config else "store",
            [(m.id, m.name) for m in directory.expand([name], [])],
        )
        for name in chosen
    ]


def member_json(member: dict[str, Any]) -> dict[str, Any]:
    """A member's JSON shape: id, name, handles (platform -> handle), tags, opted_out (the day
    the member opted out, or null)."""
    return {key: member[key] for key in ("id", "name", "handles", "tags", "opted_out")}


def member_cells(member: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """A member as ``mentions members list`` shows it: id, name, tags, opted out, handles."""
    handles = " ".join(f"{p}={h}" for p, h in member["handles"].items()) or "-"
    tags = ",".join(member["tags"]) or "-"
    return member["id"], member["name"], tags, member["opted_out"] or "-", handles


@dataclass(frozen=True)
class PosterListing:
    """An installed adapter as ``posters`` shows it."""

    name: str
    origin: str  # "built-in", or the plugin's distribution and entry point
    max_length: int | None
    description: str
    test_only: bool  # a plugin for tests (such as the example plugin): shown with --all

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "max_length": self.max_length,
            "description": self.description,
            "test_only": self.test_only,
        }


def poster_listings(include_test_only: bool = False) -> list[PosterListing]:
    from bot.posters import available_posters, poster_class

    found = []
    for name, origin in sorted(available_posters().items()):
        cls = poster_class(name)
        listing = PosterListing(
            name, origin, cls.capabilities.max_length, cls.description, cls.test_only
        )
        if include_test_only or not listing.test_only:
            found.append(listing)
    return found
