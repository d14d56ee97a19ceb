"""Coverage as a destination sees it (``anniversary-bot calendar --to DEST``): only the events
its pick's tag rules let it post, with February 29 counted where it posts them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.content.calendar import DayCount, day_counts

if TYPE_CHECKING:
    from bot.store import Store


@dataclass
class Coverage:
    year: int
    destination: str | None  # None: every event, whoever may post it
    leap_day: str  # where a common year counts the February 29 events: feb28 or mar1
    days: list[DayCount]

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "destination": self.destination,
            "days": [count.to_json() for count in self.days],
        }


def destination_coverage(store: Store, year: int, destination: Any = None) -> Coverage:
    """Every day of ``year`` with its curated and candidate events: all of them, or those
    ``destination`` (a ``bot.config.Destination``) may post."""
    if destination is None:
        return Coverage(year, None, "feb28", day_counts(store, year, "feb28"))
    from bot.content.pick import pick_settings  # its tag rules: the pick is imported for them alone

    settings = pick_settings(destination)
    counts = day_counts(
        store, year, destination.leap_day, settings.include_tags, settings.exclude_tags
    )
    return Coverage(year, destination.name, destination.leap_day, counts)
