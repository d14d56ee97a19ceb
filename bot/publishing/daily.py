"""A destination's day: its threads with the drafts a person made applied, and sending them.

``day_plan`` is what the destination publishes on a day (``bot.threads.day.fresh_day_threads``, then
``bot.drafts.threads_to_publish``: approved drafts as they are, held threads beside them);
``publish_day`` sends them through the publish log (``bot.publishing.log``) holding the store's
publishing lock."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection

from bot.config.channel import Channel
from bot.drafts import DayPlan, threads_to_publish
from bot.errors import EventRenderError
from bot.locks import DEFAULT_WAIT_SECONDS, publishing_lock
from bot.posters.base import Poster
from bot.publishing.log import (
    Clock,
    PostResult,
    PublishLog,
    ThreadResult,
    make_poster,
    outgoing_posts,
    publish_thread,
    utc_now,
)
from bot.secrets_filter import mask
from bot.store import Store
from bot.threads.day import fresh_day_threads
from bot.threads.render import Thread

log = logging.getLogger("bot.publishing.log")


def day_plan(
    store: Store,
    channel: Channel,
    day: dt.date,
    failures: list[EventRenderError] | None = None,
) -> DayPlan:
    """What the channel publishes on ``day``, fitted to its platform, with the day's drafts
    applied: approved drafts as they are, held threads beside them with why.
    ``failures``: see ``bot.app.threads_for_day``."""
    destination = channel.destination
    fresh = fresh_day_threads(store, channel, day, failures)
    plan = threads_to_publish(store, destination, day, fresh)
    if failures:
        # an event whose draft was approved or is held needs no rendering now: what goes out
        # (or waits) is the draft, so its failure to render today is no failure of the day
        drafted = set(plan.drafts)
        untouched = {
            event_id
            for event_id, draft in plan.drafts.items()
            if draft.state != "approved" and draft.hold(destination.require_approval) is None
        }
        failures[:] = [f for f in failures if f.event_id not in drafted - untouched]
    return plan


def day_threads(store: Store, channel: Channel, day: dt.date, drafts: bool = True) -> list[Thread]:
    """The threads the channel sends on ``day``: with the drafts applied (``day_plan``), or
    (``drafts=False``) as rendered now."""
    if not drafts:
        return fresh_day_threads(store, channel, day)
    return day_plan(store, channel, day).threads


def publish_day(
    store: Store,
    channel: Channel,
    day: dt.date,
    *,
    clock: Clock = utc_now,
    retry_now: bool = False,
    reconcile_unconfirmed: bool = False,
    resend: Collection[str] = (),
    lock_wait: float = DEFAULT_WAIT_SECONDS,
    on_wait: Callable[[str], None] | None = None,
) -> list[ThreadResult]:
    """Send the channel's threads for ``day``, holding the store's publishing lock (waiting
    ``lock_wait`` seconds at most for another process that holds it; ``on_wait`` is told who).
    The channel's adapter is closed at the end; a channel given the adapter's class gets an
    instance made from the destination's settings."""
    with publishing_lock(store.path).hold(lock_wait, on_wait):
        return _publish_day(
            store, channel, day, clock=clock, retry_now=retry_now,
            reconcile_unconfirmed=reconcile_unconfirmed, resend=resend,
        )  # fmt: skip


def _publish_day(
    store: Store,
    channel: Channel,
    day: dt.date,
    *,
    clock: Clock,
    retry_now: bool,
    reconcile_unconfirmed: bool,
    resend: Collection[str],
) -> list[ThreadResult]:
    destination = channel.destination
    poster = channel.poster if isinstance(channel.poster, Poster) else make_poster(destination)
    channel = channel.with_poster(poster)
    publish_log = PublishLog(store, clock)
    try:
        poster.load_limits()
        failures: list[EventRenderError] = []
        plan = day_plan(store, channel, day, failures=failures)
        threads = plan.threads
        unrendered = []
        for error in failures:  # recorded, so the day shows as failed, and retried
            row = publish_log.record_render_failure(
                destination.name, error.event_id, day, str(error)
            )
            log.error("%s: %s: %s", destination.name, day, mask(str(error)))
            failed = ThreadResult(destination.name, error.event_id, day)
            failed.posts.append(
                PostResult(row["key"], row["number"], row["state"], error=row["last_error"])
            )
            unrendered.append(failed)
        # every thread of the day is planned before any is sent: a crash after the first
        # thread must not let a later pick change which threads the day has
        publish_log.plan(
            [post for thread in threads for post in outgoing_posts(thread, destination.name)],
            destination.name,
        )
        from bot.app import destination_pick

        pick = destination_pick(store, destination)
        results = []
        for thread in threads:
            event = store.get_event(thread.event_id)
            # a content warning where the event says so, or the pick's tags/keywords do
            sensitive = event.sensitive or (pick is not None and pick.is_sensitive(event))
            results.append(
                publish_thread(
                    store,
                    poster,
                    destination.name,
                    thread,
                    clock=clock,
                    sensitive=sensitive,
                    retry_now=retry_now,
                    reconcile_unconfirmed=reconcile_unconfirmed,
                    resend=resend,
                )  # fmt: skip
            )
        return [*unrendered, *results, *plan.held]
    finally:
        poster.close()
