"""Candidates and their promotion to curated events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import clock
from bot.content import CURATED
from bot.errors import InputError
from bot.model import Event

if TYPE_CHECKING:
    from bot.store import Store


def promote(store: Store, event_ids: list[str]) -> list[Event]:
    """Make the candidates ``event_ids`` curated, all or none (an unknown or already curated
    id changes nothing)."""
    events = [store.get_event(event_id) for event_id in event_ids]
    for event in events:
        if event.origin == CURATED:
            raise InputError(f"{event.id} is already curated: nothing promoted")
    now = clock.now().isoformat(timespec="seconds")
    store.set_origin([event.id for event in events], CURATED, now)
    for event in events:
        event.origin = CURATED
    return events


def candidates(
    store: Store,
    month: int | None = None,
    day: int | None = None,
    search: str | None = None,
    limit: int | None = 50,
) -> list[Event]:
    return store.events_not_of_origin(CURATED, month, day, search, limit)
