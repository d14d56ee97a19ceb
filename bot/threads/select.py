"""Which events a day has, and their simple order: below the daily pick (bot.content.pick),
which ranks the same events by its own rules, and below the rendering of a day (bot.app)."""

from __future__ import annotations

import calendar
import datetime as dt

from bot.model import Event
from bot.model.dates import AnniversaryDate, years_between
from bot.store import Store

MILESTONE_EVERY = 25


def anniversary_events(store: Store, day: dt.date, leap_day: str = "feb28") -> list[Event]:
    """The events whose anniversary falls on ``day``.

    February 29 events are posted on February 28 (``leap_day="feb28"``) or March 1
    (``"mar1"``) in common years.
    """
    events = store.events_on(day.month, day.day)
    stand_in = (2, 28) if leap_day == "feb28" else (3, 1)
    if not calendar.isleap(day.year) and (day.month, day.day) == stand_in:
        events += store.events_on(2, 29)
    return events


def is_milestone(date: AnniversaryDate, day: dt.date, every: int = MILESTONE_EVERY) -> bool:
    if date.year is None:
        return False
    years = years_between(date.year, day.year)
    return years > 0 and years % every == 0


def order_events(events: list[Event], day: dt.date) -> list[Event]:
    """A stable order: curated events before imported candidates (which post only on a day
    without a curated one), then priority, then milestone anniversaries."""

    def key(event: Event):
        return (
            event.origin != "curated",
            -event.priority,
            not is_milestone(event.date, day),
            event.date.year if event.date.year is not None else 10**6,
            event.id,
        )

    return sorted(events, key=key)
