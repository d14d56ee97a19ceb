"""Retrying by hand (``anniversary-bot retry``): a person's word about unconfirmed posts, then
the days that have posts still open sent again.

An unconfirmed post (it may have been published, and the platform cannot be asked) is never
sent again without a person's word: ``mark_sent`` records that they found it, ``resend`` that
they found it missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.config.channel import Channel
from bot.errors import InputError
from bot.posters.base import Published
from bot.publishing.daily import publish_day
from bot.publishing.log import PostState, PublishLog, ThreadResult
from bot.store import Store

# the states a retry picks up: failed, unconfirmed, sending (an outcome never learnt), and held
# for moderators (looked up: approved since?)
OPEN_FOR_RETRY = (PostState.FAILED, PostState.UNCONFIRMED, PostState.SENDING, PostState.HELD)
BY_HAND = "(confirmed by hand)"  # the remote id of a post a person marked sent


@dataclass(frozen=True)
class MarkedSent:
    key: str
    failed = False

    def summary(self) -> str:
        return f"marked sent: {self.key}"


@dataclass(frozen=True)
class NothingToRetry:
    failed = False

    def summary(self) -> str:
        return "Nothing to retry."


@dataclass(frozen=True)
class DestinationGone:
    """A day with open posts for a destination the config no longer has."""

    destination: str
    day: str
    failed = False

    def summary(self) -> str:
        return f"{self.destination}: {self.day}: not in the config any more: skipped"


RetryStep = MarkedSent | NothingToRetry | DestinationGone | ThreadResult


def retry(
    store: Store,
    config: Any,
    destination: str | None = None,
    mark_sent: tuple[str, ...] = (),
    resend: tuple[str, ...] = (),
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[RetryStep]:
    """Record the posts of ``mark_sent`` as sent; then, unless that was all that was asked,
    publish again every day with posts open for ``destination`` (or every destination), or only
    the days of the unconfirmed posts to ``resend``. Yields each step as it is done, so that a
    person sees each destination's result when it comes; a key that names no such post is an
    InputError (the marks before it stand: each is a person's word about one post)."""
    log = PublishLog(store)
    for key in mark_sent:
        row = log.row(key)
        if row is None or row["state"] not in OPEN_FOR_RETRY:
            raise InputError(
                f"--mark-sent: no failed or unconfirmed post with key {key!r}: see 'anniversary-bot history --failed'"
            )
        log.mark_sent(key, Published(remote_id=BY_HAND))
        yield MarkedSent(key)
    for key in resend:
        row = log.row(key)
        if row is None or row["state"] != PostState.UNCONFIRMED:
            raise InputError(
                f"--resend: no unconfirmed post with key {key!r}: see 'anniversary-bot history --failed'"
            )
    if mark_sent and not resend:
        return  # a person's word about these posts only: nothing else is touched
    rows = (
        [log.row(key) for key in resend] if resend else log.rows(destination, None, OPEN_FOR_RETRY)
    )
    targets = sorted({(row["destination"], row["day"]) for row in rows if row is not None})
    if not targets:
        yield NothingToRetry()
    for name, day_text in targets:
        dest = config.destinations.get(name)
        if dest is None:
            yield DestinationGone(name, day_text)
            continue
        yield from publish_day(
            store, Channel.of(config, dest), dt.date.fromisoformat(day_text), retry_now=True,
            reconcile_unconfirmed=True, resend=frozenset(resend), on_wait=on_wait,
        )  # fmt: skip
