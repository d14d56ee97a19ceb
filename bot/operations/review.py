"""The review a curator does on the web page (``anniversary-bot serve``), as library functions:
a day's state for the calendar, the draft of one thread (made when there is none yet, as
``drafts generate`` makes it), and what happened on a day (its publish log and its changes).

The web layer only calls these and the functions the CLI calls (``bot.drafts.Drafts``,
``bot.events.mentions.MentionAdmin``, ``bot.operations.retry``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.drafts import Draft, Drafts
from bot.errors import InputError
from bot.preview.html import APPROVAL, NOTHING, WARNING, Builder, DayView
from bot.publishing.log import PostState, PublishLog
from bot.store import Store


class DayState(StrEnum):
    """A day's colour on the calendar, worst first where a day has several."""

    FAILED = "failed"  # a post failed, is unconfirmed, or waits for the platform's moderators
    MISSED = "missed"  # its day ended with threads not sent
    APPROVAL = "approval"  # a thread waits for a person (approval, stale, edited)
    HELD = "held"  # some threads skipped, the others go out
    WARNING = "warning"
    SKIPPED = "skipped"  # every thread skipped
    SENT = "sent"
    READY = "ready"
    NOTHING = "nothing"


DAY_STATE_LABELS = {
    DayState.READY: "ready",
    DayState.APPROVAL: "needs approval",
    DayState.WARNING: "warning",
    DayState.HELD: "held",
    DayState.SKIPPED: "skipped",
    DayState.SENT: "sent",
    DayState.FAILED: "failed",
    DayState.MISSED: "missed",
    DayState.NOTHING: "nothing to post",
}
_OPEN = (PostState.FAILED, PostState.UNCONFIRMED, PostState.SENDING, PostState.HELD)


@dataclass
class CalendarDay:
    day: dt.date
    state: DayState
    view: DayView
    log: list[dict[str, Any]] = field(default_factory=list)  # the day's publish-log rows

    @property
    def label(self) -> str:
        return DAY_STATE_LABELS[self.state]


def day_state(view: DayView, rows: Sequence[dict[str, Any]], today: dt.date) -> DayState:
    """The day's colour: what its publish log says once it began to go out, else what its
    threads wait for (the preview's states, with skipped threads told apart)."""
    if rows:
        if any(r["state"] in _OPEN for r in rows):
            return DayState.FAILED
        if any(r["state"] == PostState.MISSED for r in rows):
            return DayState.MISSED
        if all(r["state"] == PostState.SENT for r in rows):
            return DayState.SENT
    threads = [t for d in view.destinations for t in d.threads]
    if view.day < today and threads and not rows:
        return DayState.MISSED
    skipped = [t for t in threads if t.status == "skipped"]
    if view.state == APPROVAL:
        return DayState.APPROVAL
    if threads and len(skipped) == len(threads):
        return DayState.SKIPPED
    if skipped:
        return DayState.HELD
    if view.state == WARNING:
        return DayState.WARNING
    return DayState.NOTHING if view.state == NOTHING else DayState.READY


def calendar_days(
    store: Store, config: Any, start: dt.date, count: int, today: dt.date
) -> list[CalendarDay]:
    """``count`` days from ``start``, each with its state, for every destination."""
    builder = Builder(store, config)
    publish_log = PublishLog(store)
    destinations = list(config.destinations.values())
    days = []
    for offset in range(count):
        day = start + dt.timedelta(days=offset)
        days.append(review_day(builder, publish_log, destinations, day, today))
    return days


def review_day(
    builder: Builder,
    publish_log: PublishLog,
    destinations: Iterable[Any],
    day: dt.date,
    today: dt.date,
) -> CalendarDay:
    view = builder.day(destinations, day)
    rows = publish_log.rows(None, day)
    return CalendarDay(day, day_state(view, rows, today), view, rows)


def one_day(store: Store, config: Any, day: dt.date, today: dt.date) -> CalendarDay:
    """One day as the day page shows it."""
    builder = Builder(store, config)
    return review_day(builder, PublishLog(store), config.destinations.values(), day, today)


def thread_draft(store: Store, config: Any, destination: str, day: dt.date, event_id: str) -> Draft:
    """The draft of ``destination``'s thread of ``event_id`` on ``day``: the one there is, else
    the day's drafts made (``drafts generate``) and that one taken. An InputError when the
    event is not among the day's threads (or the day already went out)."""
    drafts = Drafts(store)
    dest = config.destination(destination)
    found = [d for d in drafts.for_day(dest.name, day) if d.event_id == event_id]
    if not found:
        done = drafts.generate(config, dest, day)
        found = [g.draft for g in done if g.draft is not None and g.draft.event_id == event_id]
        if not found:
            notes = "; ".join(g.note for g in done if g.note) or "not among the day's threads"
            raise InputError(f"{destination} {day} {event_id}: no draft: {notes}")
    return found[0]
