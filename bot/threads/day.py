"""What a destination sends on a day, as rendered now and fitted to its platform, before any
draft a person made is applied (``bot.publishing.daily.day_threads`` applies them): the events already in
its publish log for that day if any (a later import must not change a day half-posted), else
the day's pick."""

from __future__ import annotations

import datetime as dt

from bot.app import event_thread, fresh_threads
from bot.config.channel import Channel
from bot.errors import EventRenderError
from bot.events.directory import MentionDirectory
from bot.publishing.log import PublishLog
from bot.store import Store
from bot.threads.render import Thread


def fresh_day_threads(
    store: Store,
    channel: Channel,
    day: dt.date,
    failures: list[EventRenderError] | None = None,
) -> list[Thread]:
    """The channel's threads for ``day``, rendered now. ``failures``: see
    ``bot.app.threads_for_day``."""
    planned = PublishLog(store).planned_event_ids(channel.name, day)
    if planned:
        directory = MentionDirectory.from_store(store, channel.config.lists)
        threads = []
        for event_id in planned:
            event = store.get_event(event_id)
            try:
                threads.append(event_thread(store, channel, event, day, directory))
            except EventRenderError as error:
                if failures is None:
                    raise
                failures.append(error)
        return threads
    return fresh_threads(store, channel, day, failures=failures)
