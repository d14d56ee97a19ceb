"""``config check``: each destination's credentials tested where its adapter can, and the
members of each mention list that a destination's platform names without notifying."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.errors import PostError
from bot.events.directory import MentionDirectory
from bot.model import Member
from bot.posters import poster_class
from bot.publishing.log import make_poster
from bot.store import Store
from bot.threads.fitting import unnotified, unnotified_note


@dataclass(frozen=True)
class DestinationCheck:
    destination: str
    type: str
    answer: str  # what the adapter's check said, or the error
    failed: bool

    def line(self) -> str:
        what = f"FAILED: {self.answer}" if self.failed else self.answer
        return f"{self.destination} ({self.type}): {what}"


def check_destinations(config: Any) -> Iterator[DestinationCheck]:
    """Ask each destination's adapter to check its settings and credentials, one at a time
    (yielded as each answers: a slow platform does not hide the others' answers)."""
    for destination in config.destinations.values():
        poster = make_poster(destination)
        try:
            answer = poster.check()
        except PostError as error:
            yield DestinationCheck(destination.name, destination.type, str(error), True)
        else:
            yield DestinationCheck(destination.name, destination.type, answer, False)
        finally:
            poster.close()


@dataclass(frozen=True)
class UnnotifiedMembers:
    """Members of a mention list with no handle on a destination's platform."""

    destination: str
    type: str
    platform: str
    mention_list: str
    members: tuple[Member, ...]
    of: int  # the list's members, opted-out ones left out

    def line(self) -> str:
        note = unnotified_note(list(self.members), self.platform)
        return (
            f"{self.destination} ({self.type}): list {self.mention_list!r} "
            f"({self.of} member{'s' if self.of != 1 else ''}): {note}"
        )


def unnotified_list_members(config: Any, store: Store) -> Iterator[UnnotifiedMembers]:
    """For each destination whose platform has handles and each mention list (the store's and
    the config's), the members who would be named there but not notified."""
    directory = MentionDirectory.from_store(store, config.lists)
    for destination in config.destinations.values():
        platform = poster_class(destination.type).platform
        if platform is None:  # nobody is mentioned there: a name is all anyone expects
            continue
        for name in sorted(directory.lists):
            members = directory.expand([name], [])
            silent = unnotified(members, platform)
            if silent:
                yield UnnotifiedMembers(
                    destination.name,
                    destination.type,
                    platform,
                    name,
                    tuple(silent),
                    len(members),
                )
