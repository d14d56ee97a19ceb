"""The library API the CLI calls: open the store, import, export, pick and render a day."""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import gc
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.config.channel import Channel
from bot.errors import BotError, EventRenderError, InputError, RepeatedRecordError
from bot.events.directory import MentionDirectory
from bot.i18n import DEFAULT_LANGUAGE
from bot.model import Event
from bot.paths import data_dir, default_store_path
from bot.store import ImportResult, Store
from bot.threads.render import Thread, render_thread
from bot.threads.select import (
    anniversary_events,
    first_in_order,
    order_events,
)

if TYPE_CHECKING:
    from bot.content.pick import DailyPick
    from bot.events.loader import ImportBatch


def open_store(path: str | Path | None = None, seed: bool = True) -> Store:
    """Open the store at ``path`` (default: the user's data directory).

    A store created here is seeded with the bundled sample data so that a new user's first
    command has something real to show (``ANNIVERSARY_BOT_SEED=0`` creates it empty).
    """
    target = Path(path) if path is not None else default_store_path()
    seed = seed and os.environ.get("ANNIVERSARY_BOT_SEED", "1") != "0"
    # seeded before the new store is linked into place: a second process opening it at the
    # same moment never sees it empty
    return Store(target, initialise=seed_store if seed else None)


def seed_store(store: Store) -> ImportResult:
    return import_paths(store, [data_dir()])[1]


def import_paths(
    store: Store,
    paths: Iterable[str | Path],
    progress: Callable[[int], None] | None = None,
    store_progress: Callable[[int], None] | None = None,
    batch: ImportBatch | None = None,
) -> tuple[ImportBatch, ImportResult]:
    """Validate every event file, then write all of it in one transaction, the JSON-lines
    files read, checked and written a piece at a time inside it (``progress``: their bytes;
    a bad record anywhere writes nothing). ``batch``: the files already read by
    ``bot.events.loader.load_files``."""
    from bot.events.loader import first_record_place, load_files, wiki_record_pieces

    batch = batch or load_files(paths)

    def locate(event_id: str, path: tuple) -> str:
        return batch.locations[event_id].at(path)

    store.check_mention_references(batch.events, batch.members, batch.lists, locate)
    # a JSON-lines record may repeat a saved feed answer's (the feed's is richer: it stays),
    # never an event of an event file
    taken: dict[str, str | None] = dict.fromkeys(batch.wiki_lines)
    taken.update((event_id, where.at(("id",))) for event_id, where in batch.locations.items())
    try:
        with _collector_paused():
            result = store.import_events(
                batch.events, batch.members, batch.lists, store_progress, rows=batch.wiki_rows,
                derived_ids=batch.derived_ids, taken=taken,
                # a store without records of the data set has none unchanged: their rows are
                # made while the store writes (bot.events.loader.wiki_record_pieces)
                pieces=wiki_record_pieces(
                    batch.wiki_files, progress, make_rows=not store.holds_source_digests()
                ),
            )  # fmt: skip
    except RepeatedRecordError as error:
        first = error.first or first_record_place(batch.wiki_files, error.event_id)
        raise RepeatedRecordError(error.file, error.line, error.event_id, first) from None
    # curated events only: the data set's 133k records would cost an update each
    store.record_sources(
        {e.id: batch.locations[e.id].file for e in batch.events if e.id in batch.locations}
    )
    return batch, result


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the length of an import: its objects (records,
    rows, pieces) hold no cycles and are freed by their reference counts, and the millions of
    tuples it makes had the collector run some thousands of times for nothing (ten times the
    data set: 2.5 s of the import's process, which the rest waits for)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def export_events(store: Store, out: TextIO, fmt: str = "yaml") -> int:
    """Write every event (and the mention members and lists) in a form ``import`` reads back,
    each event as it is read: the output of ten times the data set is the same size, the
    memory is not."""
    if fmt not in ("yaml", "json"):
        raise InputError(f"unknown export format {fmt!r}: expected yaml or json")
    events = (event.to_dict() for event in store.iter_events())
    document: dict[str, Any] = {}
    members = [_compact_member(m) for m in store.members()]
    lists = [_compact_list(x) for x in store.mention_lists()]
    if members:
        document["members"] = members
    if lists:
        document["lists"] = lists
    if fmt == "json":
        import json

        out.write("{\n")
        for key, items in document.items():
            out.write(f"  {json.dumps(key)}: ")
            write_json_list(items, out, level=1, ensure_ascii=False)
            out.write(",\n")
        out.write('  "events": ')
        count = write_json_list(events, out, level=1, ensure_ascii=False)
        out.write("\n}\n")
        return count
    import yaml

    dumper = _yaml_dumper()

    def dump(data: Any) -> None:
        yaml.dump(data, out, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)

    if document:
        dump(document)
    count = 0
    for event in events:  # a list under "events:" is written unindented: "- id: ..."
        out.write("events:\n" if not count else "")
        dump([event])
        count += 1
    if not count:
        out.write("events: []\n")
    return count


def write_json_list(
    items: Iterable[Any], out: TextIO, indent: int = 2, level: int = 0, ensure_ascii: bool = True
) -> int:
    """``items`` as the JSON list ``json.dump(list(items), out, indent=indent)`` writes, nested
    ``level`` deep, each item written as it is read (no list of them all); how many."""
    import json

    margin = " " * (indent * (level + 1))
    count = 0
    for item in items:
        text = json.dumps(item, ensure_ascii=ensure_ascii, indent=indent)
        text = text.replace("\n", "\n" + margin)  # a newline in a string is written "\\n"
        out.write(("[\n" if not count else ",\n") + margin + text)
        count += 1
    out.write("\n" + " " * (indent * level) + "]" if count else "[]")
    return count


def _compact_member(member: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in member.items() if v not in (None, [], {})}


def _compact_list(mention_list: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mention_list.items() if v not in (None, [])}


def _yaml_dumper():
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    def represent_str(dumper, value: str):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper


def destination_pick(store: Store, destination):
    """The destination's daily pick, or None when its config does not enable one (checked
    here so that a destination without one never imports the pick's code)."""
    if not (getattr(destination, "pick", None) or {}).get("enabled"):
        return None
    from bot.content.pick import pick_for

    return pick_for(store, destination)


def threads_for_day(
    store: Store,
    day: dt.date,
    fmt: str = "text",
    limit: int | None = 1,
    platform: str | None = None,
    user_templates: str | Path | None = None,
    config_lists: Iterable[dict[str, Any]] = (),
    leap_day: str = "feb28",
    dedupe_mentions: bool = False,
    rotate_mentions: bool = False,
    pick: DailyPick | None = None,
    failures: list[EventRenderError] | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> list[Thread]:
    """The day's threads: the simple order, or ``pick(events, day, limit)`` when given (the
    destination's daily pick: ``bot.content.pick.pick_for(store, destination)``).
    ``failures``: where given, an event that cannot be rendered is left out and its error
    appended there (publishing records it and sends the day's other threads); else it raises.
    ``language``: the bot's words and the events' variants (bot.i18n)."""
    if limit is None:  # every event is rendered: read them whole
        events = anniversary_events(store, day, leap_day)
        events = pick(events, day, limit) if pick is not None else order_events(events, day)
    else:  # chosen on the light columns; only the chosen events are read whole
        if pick is None:
            events = [store.get_event(i) for i in first_in_order(store, day, limit, leap_day)]
        else:
            whole = lambda event: store.get_event(event.id)  # noqa: E731
            events = pick.for_day(day, limit, leap_day, prepare=whole)[:limit]
    directory = MentionDirectory.from_store(store, list(config_lists)) if events else None
    threads = []
    for event in events:
        try:
            threads.append(
                _render(
                    store,
                    event,
                    day,
                    fmt,
                    directory,
                    platform,
                    user_templates,
                    dedupe_mentions,
                    rotate_mentions,
                    language,
                )  # fmt: skip
            )
        except EventRenderError as error:
            if failures is None:
                raise
            failures.append(error)
    return threads


def _render(store: Store, event: Event, day: dt.date, *args: Any) -> Thread:
    """``render_thread``, with a failure named after the event and the file it came from."""
    try:
        return render_thread(event, day, *args)
    except EventRenderError:
        raise
    except BotError as error:
        raise EventRenderError(event.id, store.event_source(event.id), str(error)) from None


def fresh_threads(
    store: Store,
    channel: Channel,
    day: dt.date,
    fmt: str | None = None,
    show_all: bool = False,
    failures: list[EventRenderError] | None = None,
) -> list[Thread]:
    """The day's pick rendered now for the channel and fitted to its adapter; ``fmt`` and
    ``show_all`` (every event, no pick) are for previews."""
    from bot.threads.fitting import fit_for

    config, destination, poster = channel.config, channel.destination, channel.poster
    threads = threads_for_day(
        store,
        day,
        fmt or destination.format,
        limit=None if show_all else destination.max_threads_per_day,
        platform=poster.platform,
        user_templates=config.templates,
        config_lists=config.lists,
        leap_day=destination.leap_day,
        dedupe_mentions=destination.dedupe_mentions,
        rotate_mentions=destination.rotate_mentions,
        pick=None if show_all else destination_pick(store, destination),
        failures=failures,
        language=channel.language,
    )
    return [fit_for(thread, channel) for thread in threads]


def event_thread(
    store: Store,
    channel: Channel,
    event: Event,
    day: dt.date,
    directory: MentionDirectory | None = None,
) -> Thread:
    """One given event rendered for the channel and fitted to its adapter: a day already
    begun, or a draft rendered again."""
    from bot.threads.fitting import fit_for

    config, destination, poster = channel.config, channel.destination, channel.poster
    directory = directory or MentionDirectory.from_store(store, config.lists)
    thread = _render(
        store, event, day, destination.format, directory, poster.platform, config.templates,
        destination.dedupe_mentions, destination.rotate_mentions, channel.language,
    )  # fmt: skip
    return fit_for(thread, channel)


def nearest_days_with_events(store: Store, day: dt.date) -> list[str]:
    """The closest month-days before and after ``day`` that have events, in words."""
    days = store.days_with_events()
    if not days:
        return []

    def position(month_day: tuple[int, int]) -> int:
        return dt.date(2000, *month_day).timetuple().tm_yday  # 2000: a leap year

    target = position((day.month, day.day))
    after = min(days, key=lambda md: (position(md) - target) % 367)
    before = min(days, key=lambda md: (target - position(md)) % 367)
    names = []
    for month, day_of_month in dict.fromkeys([before, after]):
        names.append(
            f"{calendar.month_name[month]} {day_of_month} ({month:02d}-{day_of_month:02d})"
        )
    return names
