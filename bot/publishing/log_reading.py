"""The publish log as its readers see it: the states of its rows, the results of a thread's
posts, and the rows read back (``status``, ``history``, drafts, the day's plan).

The sending side (``bot.publishing.log``: claiming, sending, reconciling) builds on this one;
kept apart so that a command which only reads the log (``status``, ``history``) imports no
adapter, template or HTTP stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot import clock

if TYPE_CHECKING:
    from bot.store import Store


class PostState(StrEnum):
    """A publish-log row's state."""

    PLANNED = "planned"
    SENDING = "sending"  # claimed; or sent with no answer: its outcome is looked up first
    SENT = "sent"
    FAILED = "failed"  # refused, or not sent: retried at next_retry_at (None: by a person)
    UNCONFIRMED = "unconfirmed"  # may have been sent and cannot be looked up: a person decides
    MISSED = "missed"  # its day ended before it could be sent
    # accepted by the platform and held for its moderators (Discourse's review queue): neither
    # sent nor failed; looked up on each run, and the thread's later posts wait for it
    HELD = "held"


SENT, SENDING, PLANNED, FAILED, UNCONFIRMED, MISSED = (
    PostState.SENT, PostState.SENDING, PostState.PLANNED, PostState.FAILED,
    PostState.UNCONFIRMED, PostState.MISSED,
)  # fmt: skip
HELD = PostState.HELD
OPEN_STATES = (PLANNED, SENDING, FAILED, UNCONFIRMED, HELD)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return clock.now()


@dataclass
class PostResult:
    key: str
    number: int
    state: str
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None


@dataclass
class ThreadResult:
    destination: str
    event_id: str
    day: dt.date
    posts: list[PostResult] = field(default_factory=list)
    sent_now: int = 0

    @property
    def state(self) -> str:
        states = {p.state for p in self.posts}
        for state in (UNCONFIRMED, FAILED, SENDING, HELD, PLANNED):
            if state in states:
                return state
        return SENT if states == {SENT} else (MISSED if MISSED in states else "mixed")

    @property
    def failed(self) -> bool:
        """Something of this thread did not go out, or may not have: a person should look."""
        return self.state in (FAILED, UNCONFIRMED, SENDING, MISSED)

    def summary(self) -> str:
        done = sum(1 for p in self.posts if p.state == SENT)
        text = f"{self.destination}: {self.event_id}: {done}/{len(self.posts)} posts sent"
        if self.sent_now == 0 and done == len(self.posts):
            text += " (already sent earlier)"
        elif self.sent_now:
            text += f" ({self.sent_now} now)"
        problems = [
            p for p in self.posts if p.state in (FAILED, UNCONFIRMED, SENDING, MISSED, HELD)
        ]
        if problems:
            first = problems[0]
            what = "outcome unknown" if first.state == SENDING else first.state
            text += f"; post {first.number} {what}: {first.error}"
        elif self.sent_now and self.posts and self.posts[0].url:
            text += f"; see {self.posts[0].url}"
        return text


class PublishLogReader:
    """The publish log's rows, read (``bot.publishing.log.PublishLog`` also writes them)."""

    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def rows(
        self,
        destination: str | None = None,
        day: dt.date | None = None,
        states: tuple[str, ...] | None = None,
        event_id: str | None = None,
        since: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        return self.store.publish_log_rows(destination, day, states, event_id, since)

    def iter_rows(
        self,
        destination: str | None = None,
        day: dt.date | None = None,
        states: tuple[str, ...] | None = None,
        columns: Sequence[str] = ("*",),
    ) -> Iterator[dict[str, Any]]:
        """``rows``, read as they are used, with only ``columns``."""
        return self.store.iter_publish_log_rows(destination, day, states, columns=columns)

    def last_day(self, destination: str) -> tuple[str | None, int, int]:
        """The last day ``destination``'s log has (ISO), its posts sent and all its posts."""
        return self.store.last_logged_day_counts(destination, PostState.SENT)

    def row(self, key: str) -> dict[str, Any] | None:
        return self.store.publish_log_row(key)

    def planned_event_ids(self, destination: str, day: dt.date) -> list[str]:
        return self.store.planned_event_ids(destination, day)
