"""Which events a day has, and their simple order: below the daily pick (bot.content.pick),
which ranks the same events by its own rules, and below the rendering of a day (bot.app)."""

from __future__ import annotations

import calendar
import datetime as dt
import gc
import json
import weakref
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from bot.content import CURATED
from bot.model import Event
from bot.model.dates import MAX_YEAR, MIN_YEAR, AnniversaryDate, years_between
from bot.store import Store

MILESTONE_EVERY = 25


def anniversary_events(store: Store, day: dt.date, leap_day: str = "feb28") -> list[Event]:
    """The events whose anniversary falls on ``day``.

    February 29 events are posted on February 28 (``leap_day="feb28"``) or March 1
    (``"mar1"``) in common years.
    """
    return [event for month, of in anniversary_days(day, leap_day)
            for event in store.events_on(month, of)]  # fmt: skip


def anniversary_days(day: dt.date, leap_day: str = "feb28") -> list[tuple[int, int]]:
    """The (month, day) whose events have their anniversary on ``day``: February 29 with
    its stand-in in a common year (``anniversary_events``)."""
    stand_in = (2, 28) if leap_day == "feb28" else (3, 1)
    if not calendar.isleap(day.year) and (day.month, day.day) == stand_in:
        return [(day.month, day.day), (2, 29)]
    return [(day.month, day.day)]


# an event's light facts as stored: importance, subject, pages (bot.content.pick.Facts)
LightFacts = tuple[int, "str | None", str]


def light_events(
    store: Store, days: Iterable[tuple[int, int]], important: int | None = None, top: int = 0
) -> tuple[dict[tuple[int, int], list[Event]], dict[str, LightFacts], dict[tuple[int, int], int]]:
    """The events of ``days`` without their text and parts (read whole only the events that
    are chosen: ``Store.get_event``), by month and day; the light facts of each; the number
    of events of each day. With ``important`` and ``top``: only the events that can be a
    day's best (``Store.light_events_on``)."""
    rows_by_day, totals = light_rows(store, days, important, top)
    by_day: dict[tuple[int, int], list[Event]] = defaultdict(list)
    facts: dict[str, LightFacts] = {}
    tag_lists: dict[str, list[str]] = {}  # a few distinct tag lists: parse each once
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles: collecting while building costs half
    try:
        for key, rows in rows_by_day.items():
            for row in rows:
                event, facts[row[0]] = light_event(row, tag_lists)
                by_day[key].append(event)
    finally:
        if gc_was_enabled:
            gc.enable()
    return by_day, facts, totals


def light_event(row: tuple[Any, ...], tag_lists: dict[str, list[str]]) -> tuple[Event, LightFacts]:
    """An event without its text and parts, and its light facts, from a row of
    ``Store.light_events_on``; ``tag_lists``: the tag lists parsed so far, by their JSON."""
    (event_id, month, day, year, tags, priority, sensitive, origin, importance,
     subject, pages) = row[:11]  # fmt: skip
    parsed = tag_lists.get(tags)
    if parsed is None:
        parsed = tag_lists[tags] = json.loads(tags)
    date = AnniversaryDate(month, day, year)
    event = Event(event_id, date, "", "", (), None, parsed, priority, bool(sensitive), None, origin)
    return event, (importance or 0, subject, pages or "")


def light_rows(
    store: Store, days: Iterable[tuple[int, int]], important: int | None = None, top: int = 0
) -> tuple[dict[tuple[int, int], list[tuple[Any, ...]]], dict[tuple[int, int], int]]:
    """``light_events`` as the rows of ``Store.light_events_on``, by month and day, and the
    number of events of each day: for a caller that makes events (``light_event``) of only
    a few of them."""
    by_day: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    totals: dict[tuple[int, int], int] = {}
    for row in store.light_events_on(days, important, top):
        by_day[(row[1], row[2])].append(row)
        totals[(row[1], row[2])] = row[-1]
    return by_day, totals


def light_anniversary_events(
    store: Store, day: dt.date, leap_day: str = "feb28", important: int | None = None, top: int = 0
) -> tuple[list[Event], dict[str, LightFacts], bool]:
    """``anniversary_events`` without text and parts, in the same order, and their light
    facts: what the simple order and the daily pick choose on; and whether that is the whole
    day. With ``important`` and ``top``: only the events that can be the day's best
    (``light_events``)."""
    keys = anniversary_days(day, leap_day)
    mark = (store.change_mark(), keys, important, top)
    cached = _LAST_DAY.get(store)
    if cached is None or cached[0] != mark:  # each destination of a day reads the same
        by_day, facts, totals = light_events(store, keys, important, top)
        pool = [e for key in keys for e in sorted(by_day.get(key, ()), key=lambda e: e.id)]
        whole = all(len(by_day.get(key, ())) == totals.get(key, 0) for key in keys)
        cached = _LAST_DAY[store] = (mark, pool, facts, whole)
    return list(cached[1]), cached[2], cached[3]


# each store's last day read by light_anniversary_events, and the store's mark then
_LAST_DAY: weakref.WeakKeyDictionary[
    Store, tuple[Any, list[Event], dict[str, LightFacts], bool]
] = weakref.WeakKeyDictionary()


def is_milestone(date: AnniversaryDate, day: dt.date, every: int = MILESTONE_EVERY) -> bool:
    return _is_milestone_year(date.year, day, every)


def _is_milestone_year(year: int | None, day: dt.date, every: int = MILESTONE_EVERY) -> bool:
    if year is None:
        return False
    years = years_between(year, day.year)
    return years > 0 and years % every == 0


def _order_key(origin: str, priority: int, year: int | None, event_id: str, day: dt.date):
    return (
        origin != "curated",
        -priority,
        not _is_milestone_year(year, day),
        year if year is not None else 10**6,
        event_id,
    )


def order_events(events: list[Event], day: dt.date) -> list[Event]:
    """A stable order: curated events before imported candidates (which post only on a day
    without a curated one), then priority, then milestone anniversaries."""
    return sorted(events, key=lambda e: _order_key(e.origin, e.priority, e.date.year, e.id, day))


def first_in_order(store: Store, day: dt.date, limit: int, leap_day: str = "feb28") -> list[str]:
    """The ids of the first ``limit`` of ``anniversary_events`` in ``order_events``'s order,
    ranked on the four columns the order reads, among the few events of the day that can be
    first (``Store.first_in_order_candidates``; the rest of the day is not read)."""
    years = milestone_years(day.year)
    rows = {row[0]: row for month, of in anniversary_days(day, leap_day)
            for row in store.first_in_order_candidates(month, of, years, limit, CURATED)}  # fmt: skip
    ranked = sorted(rows.values(), key=lambda row: _order_key(row[2], row[3], row[1], row[0], day))
    return [row[0] for row in ranked[:limit]]


@lru_cache(maxsize=4)
def milestone_years(year: int) -> tuple[int, ...]:
    """The years whose anniversary in ``year`` is a milestone (``is_milestone``), of those an
    event may have."""
    day = dt.date(year, 1, 1)
    # a milestone is a whole number of periods before ``year``, counted with or without the
    # missing year zero: two arithmetic series, checked by the rule itself (not all 19,999
    # years of the range: this runs at every start-up of ``preview``)
    candidates = {
        first - periods * MILESTONE_EVERY
        for first in (year, year - 1)
        for periods in range(1, (first - MIN_YEAR) // MILESTONE_EVERY + 1)
    }
    return tuple(
        y for y in sorted(candidates) if MIN_YEAR <= y <= MAX_YEAR and _is_milestone_year(y, day)
    )
