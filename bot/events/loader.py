"""Read event files (YAML, JSON, and the Wikipedia on-this-day JSON lines) into validated events.

Every problem becomes an ``InputError`` naming the file, the line where the parser knows it, the
field path and what was expected. Nothing here writes: the store takes the result in one
transaction, so one bad record anywhere means nothing is written.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib
import json
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.content.importance import PERSON_KINDS, facts, page_names
from bot.content.wording import (
    HEADLINE_CHARS,
    after_formula,
    clean_feed_text,
    headline,
    one_line,
    person_wording,
)
from bot.errors import BotError, InputError
from bot.input_rules import (
    MAX_TEXT_CHARS,
    MAX_URL_CHARS,
    MAX_YEAR,
    MIN_YEAR,
    PLAIN_URL,
    problem_in_words,
    text_problem,
    url_problem,
)
from bot.model import EVENT_COLUMNS, Event, derive_id, title_key, with_variants
from bot.model.dates import MONTH_NAMES, check_month_day, parse_date
from bot.safe_load import (
    MAX_LINE_BYTES,
    Location,
    TextLoader,
    format_path,
    json_document,
    json_record,
    read_text,
    yaml_documents,
)

if TYPE_CHECKING:
    from pydantic import ValidationError

EVENT_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".jsonl.gz", ".ndjson")
WIKI_KINDS = ("event", "birth", "death")

__all__ = [
    "TextLoader", "format_path", "load_files", "wiki_record_row", "wiki_record_to_event",
    "wiki_record_pieces", "first_record_place",
]  # fmt: skip

Path_ = tuple[str | int, ...]


@dataclass
class ImportBatch:
    events: list[Event] = field(default_factory=list)
    locations: dict[str, Location] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    lists: list[dict[str, Any]] = field(default_factory=list)
    records_read: int = 0
    duplicates_merged: int = 0
    # records that go straight to store rows (see wiki_record_row), from saved feed answers:
    # id -> (file, line, index)
    wiki_rows: list[tuple] = field(default_factory=list)
    wiki_lines: dict[str, tuple[Path, int, int]] = field(default_factory=dict)
    # JSON-lines files: read, checked and written a piece at a time as the store imports them
    # (``wiki_record_pieces``), never held whole: ten times the data set is 1.3 million records
    wiki_files: list[Path] = field(default_factory=list)
    # ids of rows from a saved on-this-day feed answer (bot.content.onthisday): richer than
    # the same record in the JSON lines, so they win over it
    feed_ids: set[str] = field(default_factory=set)
    # ids derived from a title (no ``id:`` key) -> where that title is: such an id must not
    # overwrite a stored event of another title (Store.import_events); a given id updates
    derived_ids: dict[str, str] = field(default_factory=dict)

    @property
    def event_count(self) -> int:
        return len(self.events) + len(self.wiki_rows)


def find_event_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(EVENT_SUFFIXES)
            )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return files


def load_files(
    paths: Iterable[str | Path], progress: Callable[[int], None] | None = None
) -> ImportBatch:
    """Read and validate every event in ``paths`` (files or folders); JSON-lines files are
    only named in ``wiki_files``: ``wiki_record_pieces`` reads them (``progress``: its bytes)."""
    batch = ImportBatch()
    for path in find_event_files(paths):
        name = path.name.lower()
        if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            batch.wiki_files.append(path)
        elif name.endswith((".yaml", ".yml", ".json")):
            _load_document_file(path, batch)
        else:
            raise InputError(
                f"{path}: unknown kind of file: expected .yaml, .yml, .json or .jsonl(.gz)"
            )
    return batch


# --- YAML and JSON -----------------------------------------------------------------------


def _documents(path: Path, text: str) -> Iterable[tuple[Any, Mapping[Path_, int]]]:
    if path.suffix.lower() == ".json":
        return [json_document(path, text)]
    return list(yaml_documents(path, text))


def _load_document_file(path: Path, batch: ImportBatch) -> None:
    text = read_text(path, "YAML or JSON events")
    documents = _documents(path, text)
    if not any(doc is not None for doc, _ in documents):
        raise InputError(f"{path}: the file is empty: expected one or more events")
    for data, lines in documents:
        location = Location(str(path), lines)
        if data is None:
            continue
        if isinstance(data, list):
            for index, item in enumerate(data):
                _add_event(item, path, Location(str(path), lines, (index,)), batch)
        elif isinstance(data, dict) and _is_feed_document(data):
            # a saved answer of the Wikimedia on-this-day feed (bot.content.onthisday)
            from bot.content.onthisday import load_feed_document

            load_feed_document(data, path, batch, lines)
        elif isinstance(data, dict) and not {"events", "members", "lists"} & set(data):
            _add_event(data, path, location, batch)
        elif isinstance(data, dict):
            unknown = sorted(set(data) - {"events", "members", "lists"})
            if unknown or not data:
                raise InputError(
                    f"{location.at((unknown[0],) if unknown else ())}: {format_path(unknown[:1])}: "
                    "unknown key: expected an event (with title), or the keys events, members, lists"
                )
            for key in ("events", "members", "lists"):
                items = data.get(key) or []
                if not isinstance(items, list):
                    raise InputError(f"{location.at((key,))}: {key}: expected a list")
                for index, item in enumerate(items):
                    item_location = Location(str(path), lines, (key, index))
                    if key == "events":
                        _add_event(item, path, item_location, batch)
                    else:
                        _add_mention_item(key, item, item_location, batch)
        else:
            raise InputError(
                f"{location.at(())}: expected an event, a list of events or a mapping with "
                f"'events:', got {type(data).__name__}"
            )


def _is_feed_document(data: dict) -> bool:
    from bot.content.onthisday import is_feed_document

    return is_feed_document(data)


def _has_field(node: Any, item: str | int) -> bool:
    """Whether ``item`` is a key of the mapping ``node`` or an index of the list ``node``."""
    if isinstance(node, dict):
        return item in node
    return isinstance(node, list) and isinstance(item, int) and item < len(node)


def _validation_error(
    error: ValidationError, data: Any, location: Location, prefix: Path_ = ()
) -> InputError:
    first = error.errors()[0]
    path: list[str | int] = []
    node = data
    loc = list(first["loc"])
    skipped_tag_at = -1
    for position, item in enumerate(loc):
        if (
            isinstance(node, dict)
            and len(path) >= 2
            and path[-2] == "blocks"
            and item == node.get("type")
            and (position < len(loc) - 1 or first["type"] != "missing")
            and skipped_tag_at != len(path)
        ):
            skipped_tag_at = len(path)
            continue  # pydantic names the block type (the union member) before the field
        if _has_field(node, item):
            node = node[item]
            path.append(item)
        elif position == len(loc) - 1 or first["type"] == "missing":
            path.append(item)
            break
        # otherwise the item names a union member (a block type): not a field of the input
    if first["type"] == "union_tag_invalid":
        expected = first.get("ctx", {}).get("expected_tags", "")
        path.append("type")
        message = f"unknown block type {first['ctx']['tag']!r}: expected one of {expected}"
    else:
        message = problem_in_words(dict(first))
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this record)" if more else ""
    field_path = format_path(prefix + tuple(path))
    return InputError(f"{location.at(tuple(path))}: {field_path}: {message}{suffix}")


def _add_event(data: Any, path: Path, location: Location, batch: ImportBatch) -> None:
    from pydantic import ValidationError

    from bot.events.schema import EventIn

    batch.records_read += 1
    if not isinstance(data, dict):
        raise InputError(
            f"{location.at(())}: {format_path(location.root)}: expected an event (a mapping "
            f"with date, title, lead, parts), got {type(data).__name__}"
        )
    try:
        # image files resolve in the folder of the event file (bot.local_files)
        validated = EventIn.model_validate(data, context={"folder": path.parent})
    except ValidationError as error:
        raise _validation_error(error, data, location, location.root) from None
    normalised = with_variants(validated.model_dump())
    date = parse_date(normalised["date"])
    derived = not normalised["id"]
    if derived:
        normalised["id"] = derive_id(date, normalised["title"])
    for part in normalised["parts"]:
        for block in part["blocks"]:
            if block["type"] == "images":
                for image in block["images"]:
                    if image["file"]:
                        image["file"] = str((path.parent / image["file"]).resolve())
    _add(Event.from_dict(normalised), location, batch, derived)


def _add(event: Event, location: Location, batch: ImportBatch, derived: bool = False) -> None:
    if event.id in batch.wiki_lines:
        where = batch.wiki_lines[event.id]
        raise InputError(
            f"{location.at(('id',))}: id: duplicate id {event.id!r}, also at {where[0]}:{where[1]}"
        )
    earlier = batch.locations.get(event.id)
    if earlier is not None:
        previous = next(e for e in batch.events if e.id == event.id)
        if previous == event:
            batch.duplicates_merged += 1
            return
        earlier_derived = event.id in batch.derived_ids
        if (derived or earlier_derived) and title_key(previous.title) != title_key(event.title):
            # an id nobody wrote: name the titles that made it, at their lines
            here = location.at(("title",) if derived else ("id",))
            there = earlier.at(("title",) if earlier_derived else ("id",))
            what = "derives the id" if derived else "has the id"
            raise InputError(
                f"{here}: {'title' if derived else 'id'}: {what} {event.id!r}, as does "
                f"{previous.title!r} at {there}: two different events: give one of them an "
                "id of its own (id: ...)"
            )
        raise InputError(
            f"{location.at(('id',))}: id: duplicate id {event.id!r}, also at "
            f"{earlier.at(('id',))}: give one of them another id"
        )
    batch.locations[event.id] = location
    batch.events.append(event)
    if derived:
        batch.derived_ids[event.id] = location.at(("title",))


def _add_mention_item(key: str, data: Any, location: Location, batch: ImportBatch) -> None:
    from pydantic import ValidationError

    from bot.events.list_schema import MentionListIn
    from bot.events.schema import MemberIn

    model = MemberIn if key == "members" else MentionListIn
    if not isinstance(data, dict):
        raise InputError(f"{location.at(())}: {format_path(location.root)}: expected a mapping")
    try:
        # only the keys the file has: a key it lacks keeps the stored value (merge_member)
        item = model.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as error:
        raise _validation_error(error, data, location, location.root) from None
    target = batch.members if key == "members" else batch.lists
    id_key = "id" if key == "members" else "name"
    if any(existing[id_key] == item[id_key] for existing in target):
        raise InputError(
            f"{location.at((id_key,))}: {format_path(location.root + (id_key,))}: "
            f"duplicate {id_key} {item[id_key]!r} in this import"
        )
    target.append(item)


# --- Wikipedia on-this-day JSON lines ------------------------------------------------------

# read in pieces, so that a file of any size (or a gzip bomb) takes bounded memory: a piece
# of 1 MB is some 2,500 records, read, checked and made into rows in 25 MB (4 MB took 100 MB)
_CHUNK_BYTES = 1024 * 1024
# a string as JSON (quoted and escaped): what json.dumps(ensure_ascii=False) writes for it
_json_string = encode_basestring
_TAGS = {kind: json.dumps([kind]) for kind in WIKI_KINDS}
_CREDIT = "From Wikipedia (CC BY-SA)"
# the parts of a record without links, and the start of those of a record with links, as
# json.dumps([{"blocks": [block]}], ensure_ascii=False, separators=(",", ":")) writes them
_PARTS_WITHOUT_LINKS = f'[{{"blocks":[{{"type":"text","text":{_json_string(_CREDIT + ".")}}}]}}]'
_PARTS_LINKS_START = '[{"blocks":[{"type":"links","links":['
_PARTS_LINKS_END = f'],"title":{_json_string(_CREDIT)}}}]}}]'


def wiki_record_row(record: dict[str, Any], event_id: str | None = None) -> tuple:
    """One on-this-day record as the store row of a short event (``EVENT_COLUMNS`` and the
    ``FACT_COLUMNS`` of ``bot.content.importance``): one part with its links and the day page
    as attribution (CC BY-SA), its kind as a tag; a birth or death titled from its subject's
    page ("William I, Count of Burgundy, dies"), an event from its first clause
    (``bot.content.wording``).

    This path skips the general validator and the Event object: it runs 133,026 times for the
    shared data set. ``_wiki_record_problem`` checked the record against the same rules
    (``bot.events.schema.EventIn``), so the row is an event an event file could hold.
    ``event_id``: the record's id when it is known already (``wiki_record_pieces``).
    """
    year, month, day = record["year"], record["month"], record["day"]
    kind, raw = record["kind"], one_line(record["text"])
    links = record.get("links") or ()
    pages = page_names([link["url"] for link in links])
    text = clean_feed_text(raw) or raw
    if kind in PERSON_KINDS:
        title, lead = person_wording(kind, text, pages[0] if pages else None)
        if len(title) > HEADLINE_CHARS:
            title = headline(title, HEADLINE_CHARS)
    else:
        title = headline(text, HEADLINE_CHARS)
        lead = after_formula(text, [link["title"] for link in links])
    # the JSON of one part: a links block (the day page last), or a text block naming the
    # licence; written piece by piece, byte for byte what json.dumps writes for it
    encoded = [
        f'{{"title":{_json_string(link["title"])},"url":{_json_string(link["url"])}}}'
        for link in links
    ]
    source = record.get("source") or None
    if source:
        day_page = _json_string(f"Wikipedia: {MONTH_NAMES[month]} {day}")
        encoded.append(f'{{"title":{day_page},"url":{_json_string(source)}}}')
    if encoded:
        parts = f"{_PARTS_LINKS_START}{','.join(encoded)}{_PARTS_LINKS_END}"
    else:
        parts = _PARTS_WITHOUT_LINKS
    event_id = event_id or _wiki_record_id(year, month, day, kind, raw)
    return (event_id, month, day, year, title, lead, None,
            _TAGS[kind], 0, 0, source, "wikipedia", parts, None,
            *facts((kind,), pages, text=text))  # fmt: skip


def _wiki_record_id(year: int, month: int, day: int, kind: str, text: str) -> str:
    """The id of a record of the data set (``text``: its text with white space collapsed)."""
    prefix = f"{-year}bc" if year < 0 else f"{year:04d}"
    # crc32, not a cryptographic hash: it only tells apart records of one day and kind; of
    # the text as given, so that ids stay what they were before the wording was cleaned
    month_day = (
        _MONTH_DAYS[month][day] if 0 < month < 13 and 0 < day < 32 else f"-{month:02d}-{day:02d}-"
    )
    return f"{prefix}{month_day}{kind}-{zlib.crc32(text.encode()):08x}"


# "-01-10-" for January 10: formatted once, not once per record
_MONTH_DAYS = [[f"-{month:02d}-{day:02d}-" for day in range(32)] for month in range(13)]


def wiki_record_to_event(record: dict[str, Any]) -> Event:
    row = wiki_record_row(record)[: len(EVENT_COLUMNS)]  # without the facts that follow
    return Event.from_row(dict(zip(EVENT_COLUMNS, row, strict=True)))


_checked_urls: dict[str, str | None] = {}


def _url_problem(url: Any) -> str | None:
    """``url_problem``, remembered: the data set repeats the same day pages and articles."""
    try:
        return _checked_urls[url]
    except (KeyError, TypeError):
        pass
    problem = url_problem(url)
    if type(url) is str and len(_checked_urls) < 100_000:
        _checked_urls[url] = problem
    return problem


def _wiki_record_problem(record: Any) -> str | None:
    """What keeps a JSON-lines record from being an event, as "field: problem"; None if it is
    fine. The rules are those ``bot.events.schema.EventIn`` applies to the event it becomes."""
    if type(record) is not dict:
        return "expected a JSON object per line"
    for key, kind in (("year", int), ("month", int), ("day", int), ("text", str), ("kind", str)):
        value = record.get(key)
        if value is None:
            return f"{key}: required field is missing"
        if type(value) is not kind:
            return f"{key}: expected {'an integer' if kind is int else 'text'}, got {value!r}"
    if record["kind"] not in _TAGS:
        return f"kind: expected one of {', '.join(WIKI_KINDS)}, got {record['kind']!r}"
    problem = text_problem(record["text"])
    if problem:
        return f"text: {problem}"
    year = record["year"]
    if year == 0:
        return "year: there is no year 0 (1 BC is -1)"
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"year: expected a year from {MIN_YEAR} to {MAX_YEAR} (negative for BC)"
    try:
        check_month_day(record["month"], record["day"], year)
    except ValueError as error:
        return f"month/day: {error}"
    source = record.get("source")
    if source is not None and source != "":
        problem = _url_problem(source)
        if problem:
            return f"source: {problem}"
    links = record.get("links", ())
    if not isinstance(links, list | tuple):
        return "links: expected a list of {title, url}"
    for index, link in enumerate(links):
        if type(link) is not dict:
            return f"links[{index}]: expected {{title, url}}, got {link!r}"
        problem = text_problem(link.get("title"))
        if problem:
            return f"links[{index}].title: {problem}"
        problem = _url_problem(link.get("url"))
        if problem:
            return f"links[{index}].url: {problem}"
    return None


# a record of a JSON-lines file, checked: (line, event id, source digest, record, values);
# its values are its row (``wiki_entry_row(record)``) and digest, as the store writes them,
# made here when asked (``make_rows``: the record is then None), else the row is made by the
# store only when it does not hold the record unchanged already. The record is the decoded
# record, or its line (from a worker process: a line is cheaper to hand over than the
# record, and most are never decoded again)
WikiRecord = tuple[int, str, int, dict[str, Any] | str | None, tuple[Any, ...] | None]
# files of this many bytes or more are read and checked (and their rows made) by worker
# processes, while the store writes the pieces read before (the shared data set is 7 MB)
BACKGROUND_BYTES = 2 * 1024 * 1024
# pieces handed to the workers ahead of the one the store writes, per worker: each worker has
# the next piece waiting when it finishes one, and the memory stays that of a few pieces
_AHEAD_PER_WORKER = 2


def wiki_record_pieces(
    paths: Iterable[Path], progress: Callable[[int], None] | None = None, make_rows: bool = False
) -> Iterator[tuple[str, list[WikiRecord]]]:
    """The records of JSON-lines files (``.gz`` too; each line one record), checked, a piece
    of a file at a time: (file, [(line, id, digest, record, values), ...]). A bad record raises
    InputError naming its file and line; duplicates are the store's to find
    (``Store.import_events``), across pieces. The digest is of the line and of the code that
    makes its row (``source_digest``): the same digest, the same row. ``make_rows``: every
    row made (for a store that holds none of them). Large files are checked by worker
    processes, one per processor (at most 3), a few pieces ahead of the store, so that
    reading and writing take the time of the longer of the two."""
    paths = list(paths)
    workers = _worker_count()
    if workers and sum(path.stat().st_size for path in paths) >= BACKGROUND_BYTES:
        yield from _pieces_checked_by_workers(paths, progress, make_rows, workers)
        return
    for path, first, lines, done in _file_pieces(paths):
        piece = _wiki_lines(lines, first, path, make_rows=make_rows)
        if progress is not None:
            progress(done)
        if piece:
            yield str(path), piece


def first_record_place(paths: Iterable[Path], event_id: str) -> str | None:
    """Where the first record of id ``event_id`` is in JSON-lines files ("file:line"), read
    again: for the message of a repeated id (an import keeps no list of the lines it read)."""
    for path, first, lines, _ in _file_pieces(list(paths)):
        for line, found, *_ in _wiki_lines(lines, first, path, keep_lines=True):
            if found == event_id:
                return f"{path}:{line}"
    return None


def _worker_count() -> int:
    """How many worker processes check a large file: none where ``fork`` is not safe (macOS's
    system libraries are not safe in a forked child, why Python spawns there by default;
    Windows has no fork); one per processor this process may use, at most 3 (more would wait
    for the store, which writes in this process)."""
    if not sys.platform.startswith("linux"):
        return 0
    return min(3, len(os.sched_getaffinity(0)))


def wiki_entry_row(record: dict[str, Any] | str, event_id: str) -> tuple[Any, ...]:
    """The row of a record of ``wiki_record_pieces``, given as the record or as its line
    (checked when it was read: the plain parser reads it as the strict one did)."""
    return wiki_record_row(json.loads(record) if isinstance(record, str) else record, event_id)


def _pieces_checked_by_workers(
    paths: list[Path], progress: Callable[[int], None] | None, make_rows: bool, workers: int
) -> Iterator[tuple[str, list[WikiRecord]]]:
    """``wiki_record_pieces``: this process reads the files and cuts them into pieces of
    lines; worker processes check them (and make their rows), a few pieces ahead; the pieces
    come back in the order of the file. A record is handed back as its line (cheaper to hand
    over than the record; most are never decoded again). A piece's error is raised here when
    the store reaches that piece: the first bad line of the file, as read in one process;
    a worker that dies is an error too. On any error the pieces not begun are dropped."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _row_code()  # worked out once here, before the workers are forked, not once by each
    # fork, not spawn: a worker starts at once, with this process's modules; it touches only
    # the lines it is given
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_interrupts
    )
    pending: deque[tuple[Path, Future[list[WikiRecord]], int]] = deque()

    def next_piece() -> tuple[str, list[WikiRecord]]:
        path, checked, done = pending.popleft()
        try:
            piece = checked.result()
        except BrokenProcessPool:
            raise BotError(
                f"{path}: a process checking the file stopped: nothing was imported"
            ) from None
        if progress is not None:
            progress(done)
        return str(path), piece

    try:
        try:
            for path, first, lines, done in _file_pieces(paths):
                pending.append(
                    (path, pool.submit(_wiki_lines, lines, first, path, True, make_rows), done)
                )
                if len(pending) > workers * _AHEAD_PER_WORKER:
                    file, piece = next_piece()
                    if piece:
                        yield file, piece
        except InputError:
            # the file is unreadable further on: a bad record in a piece read before it is
            # the first problem of the file (as one process reading it would say)
            while pending:
                next_piece()
            raise
        while pending:
            file, piece = next_piece()
            if piece:
                yield file, piece
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts() -> None:
    """A worker's start: Ctrl-C stops the import in this process, which stops the workers;
    no second traceback from each of them."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def source_digest(line: str) -> int:
    """A 64-bit digest of a record's line and of the code that makes its row: a row stored
    with the same digest is the row this line would make (SQLite's INTEGER: signed)."""
    digest = _row_code().copy()  # a copy of the keyed state: cheaper than keying anew
    digest.update(line.encode())
    return int.from_bytes(digest.digest(), "big", signed=True)


@functools.cache
def _row_code() -> hashlib.blake2b:
    """A digest of the code that checks a record and makes its row (this module and those it
    takes the rules, the wording and the facts from): after an upgrade that changes any of
    it, every record's row is made again instead of being taken for unchanged."""
    code = hashlib.blake2b(digest_size=32)
    for name in (__name__, "bot.input_rules", "bot.content.wording", "bot.content.importance",
                 "bot.model", "bot.model.dates"):  # fmt: skip
        try:
            code.update(Path(importlib.import_module(name).__file__ or "").read_bytes())
        except OSError:
            code.update(os.urandom(16))  # code that cannot be read: nothing counts as unchanged
    return hashlib.blake2b(digest_size=8, key=code.digest())


def _file_pieces(paths: list[Path]) -> Iterator[tuple[Path, int, list[str], int]]:
    """The lines of JSON-lines files a piece at a time: (file, lines before the piece, its
    lines, bytes of the file read since the piece before). What makes a whole file unreadable
    (not gzip, not UTF-8, a NUL byte, a line too long, no record at all) raises InputError
    here; a record's own problems are ``_wiki_lines``'s."""
    for path in paths:
        line_number = 0
        reported = 0
        records = False

        def refuse(line: int, problem: str, path: Path = path) -> InputError:
            return InputError(f"{path}:{line}: {problem}")

        def too_long(line: int) -> InputError:
            return refuse(
                line,
                f"a line of more than {MAX_LINE_BYTES // 2**20} MB: expected one JSON record "
                "per line",
            )

        try:
            with path.open("rb") as raw:
                handle = gzip.GzipFile(fileobj=raw) if path.name.lower().endswith(".gz") else raw
                carry = b""
                while True:
                    chunk = handle.read(_CHUNK_BYTES)
                    data = carry + chunk if carry else chunk
                    if chunk:
                        cut = data.rfind(b"\n") + 1
                        data, carry = data[:cut], data[cut:]
                        if len(carry) > MAX_LINE_BYTES:
                            raise too_long(line_number + data.count(b"\n") + 1)
                    else:
                        carry = b""
                    if b"\x00" in data:
                        line = line_number + data.count(b"\n", 0, data.index(b"\x00")) + 1
                        raise refuse(line, "not a text file (a NUL byte): expected JSON lines")
                    try:
                        # one decode per piece: json of str skips its per-line encoding sniffing
                        text = data.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise refuse(
                            line_number + data.count(b"\n", 0, error.start) + 1, "not UTF-8 text"
                        ) from None
                    lines = text.split("\n")
                    if text.endswith("\n"):
                        lines.pop()
                    if lines and max(map(len, lines)) > MAX_LINE_BYTES:
                        long = next(n for n, line in enumerate(lines) if len(line) > MAX_LINE_BYTES)
                        raise too_long(line_number + long + 1)
                    records = records or any(line and not line.isspace() for line in lines)
                    done = raw.tell()  # in bytes of the file as given
                    yield path, line_number, lines, done - reported
                    reported = done
                    line_number += len(lines)
                    if not chunk:
                        break
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise InputError(f"{path}: cannot read the file: {error}") from None
        if not records:
            raise InputError(f"{path}: the file is empty: expected one JSON record per line")


_RECORD = json.JSONDecoder()
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_SPACE_BEFORE_COLON = re.compile(r'"[ \t\r]+:').search


# URLs found plain (``_new_plain``): the data set links the same pages again and again; at most
# this many kept, so that a file of distinct ones cannot grow it without end
_PLAIN_URLS: set[str] = set()
_PLAIN_URLS_KEPT = 100_000


def _new_plain(url: str) -> bool:
    """Whether ``url`` is a plain URL of at most ``MAX_URL_CHARS`` (remembered when it is)."""
    if len(url) > MAX_URL_CHARS or not PLAIN_URL.match(url):
        return False
    if len(_PLAIN_URLS) < _PLAIN_URLS_KEPT:
        _PLAIN_URLS.add(url)
    return True


def _plainly_fine(record: Any, raw: str, plain: set[str] = _PLAIN_URLS) -> bool:
    """Whether a record passes every rule of ``_wiki_record_problem``, checked the quick way
    (no function per field): True for the common record; False sends it to the full check.

    Keys given twice: ``json`` keeps the last one silently, so the keys in the text (each is
    a string followed by ``:``) are counted against the keys read; more in the text, a space
    before a colon, or a false alarm sends the record to the strict reader.
    """
    if type(record) is not dict:
        return False
    year, month, day = record.get("year"), record.get("month"), record.get("day")
    text = record.get("text")
    if (
        type(year) is not int
        or type(month) is not int
        or type(day) is not int
        or type(text) is not str
        or record.get("kind") not in _TAGS
        or not (MIN_YEAR <= year <= MAX_YEAR and year and 0 < month < 13)
        or not 0 < day <= _DAYS_IN_MONTH[month]
        or (month == 2 and day == 29)  # leap years: the full check
        or not 0 < len(text) <= MAX_TEXT_CHARS
        or text.isspace()
    ):
        return False
    source = record.get("source")
    if source and (type(source) is not str or (source not in plain and not _new_plain(source))):
        return False
    keys = len(record)
    links = record.get("links", ())
    if type(links) is not list:
        return False
    for link in links:
        if type(link) is not dict:
            return False
        title, url = link.get("title"), link.get("url")
        if (
            type(title) is not str
            or not 0 < len(title) <= MAX_TEXT_CHARS
            or title.isspace()
            or type(url) is not str
            or (url not in plain and not _new_plain(url))
        ):
            return False
        keys += len(link)
    if raw.count('":') > keys:
        return False
    # a quote before white space is rare (an escaped quote in a text): the pattern only then
    spaced = '" ' in raw or '"\t' in raw or '"\r' in raw
    return not (spaced and _SPACE_BEFORE_COLON(raw))


def _wiki_lines(
    lines: list[str], first: int, path: Path, keep_lines: bool = False, make_rows: bool = False
) -> list[WikiRecord]:
    """The records of ``lines`` (a piece of the file, from line ``first`` + 1), each read,
    checked, given its id and digest and (``make_rows``) its row in one pass."""
    decode = _RECORD.raw_decode
    rows: list[WikiRecord] = []
    for line_number, raw in enumerate(lines, first + 1):
        if not raw or raw.isspace():
            continue
        try:
            # raw_decode is the plain parser without the whitespace checks around it; a
            # record it refuses, with anything after it, or not plainly fine goes to the
            # strict reader and the full check, which say why
            record, end = decode(raw)
            if end != len(raw) and not raw[end:].isspace():
                raise ValueError
            fine = _plainly_fine(record, raw)
        except (ValueError, RecursionError):
            fine = False
        if not fine:
            try:
                record = json_record(raw.strip())
            except ValueError as error:
                raise InputError(f"{path}:{line_number}: {error}") from None
            problem = _wiki_record_problem(record)
            if problem:
                raise InputError(f"{path}:{line_number}: {problem}")
        event_id = _wiki_record_id(
            record["year"], record["month"], record["day"], record["kind"],
            one_line(record["text"]),
        )  # fmt: skip
        if make_rows:
            digest = source_digest(raw)
            rows.append(
                (line_number, event_id, digest, None, (*wiki_record_row(record, event_id), digest))
            )
        else:
            rows.append(
                (line_number, event_id, source_digest(raw), raw if keep_lines else record, None)
            )
    return rows
