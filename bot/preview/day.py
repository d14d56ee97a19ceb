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
from bot.posters import Poster, poster_class
from bot.preview.text import format_preview, format_preview_html
from bot.store import Store
from bot.threads.render import Thread


@dataclass
class DayPreview:
    """A day as ``preview`` shows it: the threads, and their text."""

    threads: list[Thread]
    text: str  # the page, the JSON document, or the note that the day has no events
    # for an adapter that reads its platform's own limits when it posts: that this did not
    note: str | None = None


def limits_note(destination: Any) -> str | None:
    """Where the platform's own limits are read when posting (Mastodon's character limit, say)
    a preview, which never talks to the platform (nor reads the secrets that would take),
    counts against the adapter's defaults: said, since a post may then be split differently."""
    cls = poster_class(destination.type)
    if cls.load_limits is Poster.load_limits:
        return None
    limit = cls.capabilities.max_length
    default = f" ({limit:,} characters a post)" if limit else ""
    return (
        f"{destination.name}: live limits were not read: lengths are counted against the "
        f"{cls.name} adapter's defaults{default}; the platform's own are read when it posts"
    )


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
    note = limits_note(destination)
    if as_json:
        text = json.dumps(
            {"day": day.isoformat(), "destination": destination.name, "format": fmt,
             "live_limits_read": False if note else None,
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
    return DayPreview(threads, text, note)
