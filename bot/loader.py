"""Read event files (YAML, JSON, and the Wikipedia on-this-day JSON lines) into validated events.

Every problem becomes an ``InputError`` naming the file, the line where the parser knows it, the
field path and what was expected. Nothing here writes: the store takes the result in one
transaction, so one bad record anywhere means nothing is written.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.dates import MONTH_NAMES, check_month_day, parse_date
from bot.errors import InputError
from bot.model import EVENT_COLUMNS, Event, derive_id

EVENT_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".jsonl.gz", ".ndjson")
WIKI_KINDS = ("event", "birth", "death")


class TextLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe YAML that keeps dates as the text the curator wrote (no timestamp conversion)."""


TextLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Path_ = tuple[str | int, ...]


@dataclass
class Location:
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    root: Path_ = ()
    line: int | None = None  # for a JSON-lines record

    def at(self, path: Path_) -> str:
        """``file:line`` for the deepest part of ``path`` whose line is known."""
        line = self.line
        if self.lines:
            full = self.root + tuple(path)
            for cut in range(len(full), -1, -1):
                if full[:cut] in self.lines:
                    line = self.lines[full[:cut]]
                    break
        return f"{self.file}:{line}" if line else self.file


@dataclass
class ImportBatch:
    events: list[Event] = field(default_factory=list)
    locations: dict[str, Location] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    lists: list[dict[str, Any]] = field(default_factory=list)
    records_read: int = 0
    duplicates_merged: int = 0
    # JSON-lines records go straight to store rows (see wiki_record_row): id -> (file, line, index)
    wiki_rows: list[tuple] = field(default_factory=list)
    wiki_lines: dict[str, tuple[Path, int, int]] = field(default_factory=dict)
    # ids of rows from a saved on-this-day feed answer (bot.content.onthisday): richer than
    # the same record in the JSON lines, so they win over it
    feed_ids: set[str] = field(default_factory=set)

    @property
    def event_count(self) -> int:
        return len(self.events) + len(self.wiki_rows)


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text or "(top level)"


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


def load_files(paths: Iterable[str | Path], progress=None) -> ImportBatch:
    """Read and validate every event in ``paths`` (files or folders)."""
    batch = ImportBatch()
    for path in find_event_files(paths):
        name = path.name.lower()
        if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            _load_wiki_lines(path, batch, progress)
        elif name.endswith((".yaml", ".yml", ".json")):
            _load_document_file(path, batch)
        else:
            raise InputError(
                f"{path}: unknown kind of file: expected .yaml, .yml, .json or .jsonl(.gz)"
            )
    return batch


# --- YAML and JSON -----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot read the file: {error.strerror}") from None
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: not a text file (binary data): expected YAML or JSON events")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not UTF-8 text (bad byte at offset {error.start}): save it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty: expected one or more events")
    return text


def _line_map(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            _line_map(value_node, path + (key,), lines)
            # the key's line, not its value's: where a reader looks for "parts:" or "date:"
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, path + (index,), lines)


def _documents(path: Path, text: str) -> Iterator[tuple[Any, dict[Path_, int]]]:
    if path.suffix.lower() == ".json":
        try:
            yield json.loads(text), {}
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{error.lineno}: JSON syntax error: {error.msg}") from None
        return
    loader = TextLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            lines: dict[Path_, int] = {}
            _line_map(node, (), lines)
            yield loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = " ".join(str(error.problem or error.context or "syntax error").split())
        raise InputError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: YAML error: {' '.join(str(error).split())}") from None
    finally:
        loader.dispose()


def _load_document_file(path: Path, batch: ImportBatch) -> None:
    text = _read_text(path)
    documents = list(_documents(path, text))
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

            load_feed_document(data, path, batch)
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


def _validation_error(error, data: Any, location: Location, prefix: Path_ = ()) -> InputError:
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
        if (
            isinstance(node, dict)
            and item in node
            or isinstance(node, list)
            and isinstance(item, int)
            and item < len(node)
        ):
            node = node[item]
            path.append(item)
        elif position == len(loc) - 1 or first["type"] == "missing":
            path.append(item)
            break
        # otherwise the item names a union member (a block type): not a field of the input
    message = first["msg"]
    if first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "union_tag_invalid":
        expected = first.get("ctx", {}).get("expected_tags", "")
        path.append("type")
        message = f"unknown block type {first['ctx']['tag']!r}: expected one of {expected}"
    elif first["type"] == "string_pattern_mismatch" and "http" in str(first.get("ctx")):
        message = f"expected an http(s) URL, got {first['input']!r}"
    elif first["type"] == "string_pattern_mismatch":
        message = f"{first['input']!r} is not allowed: use lower-case letters, digits and dashes"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif "input" in first and not isinstance(first["input"], dict | list):
        message = f"{message}, got {first['input']!r}"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''} in this record)" if more else ""
    field_path = format_path(prefix + tuple(path))
    return InputError(f"{location.at(tuple(path))}: {field_path}: {message}{suffix}")


def _add_event(data: Any, path: Path, location: Location, batch: ImportBatch) -> None:
    from pydantic import ValidationError

    from bot.schema import EventIn

    batch.records_read += 1
    if not isinstance(data, dict):
        raise InputError(
            f"{location.at(())}: {format_path(location.root)}: expected an event (a mapping "
            f"with date, title, lead, parts), got {type(data).__name__}"
        )
    try:
        validated = EventIn.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, data, location, location.root) from None
    normalised = validated.model_dump()
    date = parse_date(normalised["date"])
    normalised["id"] = normalised["id"] or derive_id(date, normalised["title"])
    for part in normalised["parts"]:
        for block in part["blocks"]:
            if block["type"] == "images":
                for image in block["images"]:
                    if image["file"]:
                        image["file"] = str((path.parent / image["file"]).resolve())
    _add(Event.from_dict(normalised), location, batch)


def _add(event: Event, location: Location, batch: ImportBatch) -> None:
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
        raise InputError(
            f"{location.at(('id',))}: id: duplicate id {event.id!r}, also at "
            f"{earlier.at(('id',))}: give one of them another id"
        )
    batch.locations[event.id] = location
    batch.events.append(event)


def _add_mention_item(key: str, data: Any, location: Location, batch: ImportBatch) -> None:
    from pydantic import ValidationError

    from bot.schema import MemberIn, MentionListIn

    model = MemberIn if key == "members" else MentionListIn
    if not isinstance(data, dict):
        raise InputError(f"{location.at(())}: {format_path(location.root)}: expected a mapping")
    try:
        item = model.model_validate(data).model_dump()
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


def _open_lines(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode
_TAGS = {kind: json.dumps([kind]) for kind in WIKI_KINDS}


def wiki_record_row(record: dict[str, Any]) -> tuple:
    """One on-this-day record as the store row of a short event: one part with its links and
    the day page as attribution (CC BY-SA), its kind as a tag.

    This path skips the general validator and the Event object: it runs 133,026 times for the
    shared data set, and the record's shape was already checked by ``_wiki_record_problem``.
    """
    year, month, day = record["year"], record["month"], record["day"]
    kind, text = record["kind"], " ".join(record["text"].split())
    name = text.split(",", 1)[0].strip()
    if kind == "birth":
        title, lead = f"{name} is born", f"{text.rstrip('.')}, was born."
    elif kind == "death":
        title, lead = f"{name} dies", f"{text.rstrip('.')}, died."
    else:
        title = text if len(text) <= 90 else text[:90].rsplit(" ", 1)[0] + "…"
        lead = text
    source = record.get("source") or None
    links = [{"title": link["title"], "url": link["url"]} for link in record.get("links") or ()]
    if source:
        links.append({"title": f"Wikipedia: {MONTH_NAMES[month]} {day}", "url": source})
    if links:
        block = {"type": "links", "links": links, "title": "From Wikipedia (CC BY-SA)"}
    else:
        block = {"type": "text", "text": "From Wikipedia (CC BY-SA)."}
    prefix = f"{-year}bc" if year < 0 else f"{year:04d}"
    # crc32, not a cryptographic hash: it only tells apart records of one day and kind
    event_id = f"{prefix}-{month:02d}-{day:02d}-{kind}-{zlib.crc32(text.encode()):08x}"
    parts = _encode([{"blocks": [block]}])
    return (event_id, month, day, year, title, lead, None, _TAGS[kind], 0, 0, source,
            "wikipedia", parts)  # fmt: skip


def wiki_record_to_event(record: dict[str, Any]) -> Event:
    return Event.from_row(dict(zip(EVENT_COLUMNS, wiki_record_row(record), strict=True)))


def _wiki_record_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "expected a JSON object per line"
    for key, kind in (("year", int), ("month", int), ("day", int), ("text", str), ("kind", str)):
        value = record.get(key)
        if value is None:
            return f"{key}: required field is missing"
        if type(value) is not kind:
            return f"{key}: expected {'an integer' if kind is int else 'text'}, got {value!r}"
    if record["kind"] not in _TAGS:
        return f"kind: expected one of {', '.join(WIKI_KINDS)}, got {record['kind']!r}"
    if not record["text"].strip():
        return "text: must not be empty"
    if record["year"] == 0:
        return "year: there is no year 0 (1 BC is -1)"
    try:
        check_month_day(record["month"], record["day"], record["year"])
    except ValueError as error:
        return f"month/day: {error}"
    links = record.get("links", ())
    if not isinstance(links, list):
        return "links: expected a list of {title, url}"
    for link in links:
        if not (
            type(link) is dict
            and type(link.get("title")) is str
            and type(link.get("url")) is str
            and link["url"].startswith(("http://", "https://"))
        ):
            return "links: expected a list of {title, url} with http(s) URLs"
    return None


def _load_wiki_lines(path: Path, batch: ImportBatch, progress=None) -> None:
    loads = json.loads
    seen = batch.wiki_lines
    rows = batch.wiki_rows
    try:
        with _open_lines(path) as handle:
            data = handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(f"{path}: cannot read the file: {error}") from None
    file_size = path.stat().st_size
    reported = 0
    if not data.strip():
        raise InputError(f"{path}: the file is empty: expected one JSON record per line")
    if b"\x00" in data:
        raise InputError(f"{path}: not a text file (binary data): expected JSON lines")
    try:
        # one decode for the whole file: json.loads of str skips its per-line encoding sniffing
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None
    lines = text.split("\n")
    for line_number, raw in enumerate(lines, 1):
        if progress is not None and line_number % 5000 == 0:
            done = file_size * line_number // len(lines)  # in bytes of the file as given
            progress(done - reported)
            reported = done
        if not raw.strip():
            continue
        try:
            record = loads(raw)
        except ValueError as error:
            raise InputError(f"{path}:{line_number}: not a JSON object: {error}") from None
        problem = _wiki_record_problem(record)
        if problem:
            raise InputError(f"{path}:{line_number}: {problem}")
        batch.records_read += 1
        row = wiki_record_row(record)
        earlier = seen.get(row[0])
        if earlier is not None:
            if row[0] in batch.feed_ids or rows[earlier[2]] == row:
                batch.duplicates_merged += 1
                continue
            raise InputError(
                f"{path}:{line_number}: duplicate record id {row[0]!r}, also at "
                f"{earlier[0]}:{earlier[1]}"
            )
        seen[row[0]] = (path, line_number, len(rows))
        rows.append(row)
    if progress is not None:
        progress(file_size - reported)
