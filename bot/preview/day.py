"""A day's threads for a person to read before they go out (``anniversary-bot preview``): as
text, Markdown or HTML, or as JSON for scripts; or, for a day without events, where the
nearest events are."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bot.app import fresh_threads, nearest_days_with_events
from bot.config.channel import Channel
from bot.posters import poster_class
from bot.preview.text import format_preview, format_preview_html
from bot.store import Store
from bot.threads.render import Thread


@dataclass
class DayPreview:
    threads: list[Thread]
    text: str  # the page, the JSON document, or the note that the day has no events


def preview_day(
    store: Store,
    config: Any,
    destination: Any,
    day: dt.date,
    fmt: str | None = None,
    show_all: bool = False,
    as_json: bool = False,
) -> DayPreview:
    """``destination``'s threads for ``day`` rendered now, in ``fmt`` (default: the
    destination's format); ``show_all``: every event of the day, not only its pick."""
    fmt = fmt or destination.format
    channel = Channel(config, destination, poster_class(destination.type))
    threads = fresh_threads(store, channel, day, fmt, show_all)
    if as_json:
        text = json.dumps(
            {"day": day.isoformat(), "destination": destination.name, "format": fmt,
             "threads": [t.to_json() for t in threads]},
            ensure_ascii=False, indent=2,
        ) + "\n"  # fmt: skip
    elif not threads:
        nearest = nearest_days_with_events(store, day)
        hint = (
            f" Nearest days with events: {', '.join(nearest)}."
            if nearest
            else " The store is empty: see 'anniversary-bot import'."
        )
        text = f"No events for {day:%B} {day.day} ({day:%m-%d}).{hint}\n"
    elif fmt == "html":
        text = format_preview_html(threads, destination.name)
    else:
        text = format_preview(threads, destination.name)
    return DayPreview(threads, text)
