"""What the store holds, written for people: an event as its curator would write it, members
and mention lists in the shape ``mentions import`` reads back, the lists with their sizes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from bot.app import _compact_list, _compact_member, _yaml_dumper
from bot.events.mentions import MentionDirectory
from bot.store import Store


def event_document(store: Store, event_id: str, as_json: bool = False) -> str:
    """One event as YAML (or JSON) that ``import`` reads back."""
    event = store.get_event(event_id).to_dict()
    if as_json:
        return json.dumps(event, ensure_ascii=False, indent=2) + "\n"
    return yaml.dump(event, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False, width=100)


def mentions_document(store: Store) -> str:
    """Every member and list as YAML that ``mentions import`` reads back."""
    document = {
        "members": [_compact_member(m) for m in store.members()],
        "lists": [_compact_list(x) for x in store.mention_lists()],
    }
    return yaml.dump(document, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class MentionListSize:
    name: str
    size: int  # members it expands to, opted-out members left out
    where: str  # "config" or "store": a list in the config wins over the store's

    def line(self) -> str:
        return f"{self.name}\t{self.size} member{'s' if self.size != 1 else ''}\t{self.where}"


def mention_list_sizes(store: Store, config_lists: list[dict[str, Any]]) -> list[MentionListSize]:
    directory = MentionDirectory.from_store(store, config_lists)
    in_config = {x["name"] for x in config_lists}
    return [
        MentionListSize(
            name, len(directory.expand([name], [])), "config" if name in in_config else "store"
        )
        for name in directory.lists
    ]


def member_line(member: dict[str, Any]) -> str:
    """A member as ``mentions members list`` prints it: id, name, handles, tags, opted out."""
    handles = " ".join(f"{p}={h}" for p, h in member["handles"].items()) or "-"
    flags = f"  opted out {member['opted_out']}" if member["opted_out"] else ""
    return f"{member['id']}\t{member['name']}\t{handles}\t{','.join(member['tags']) or '-'}{flags}"
