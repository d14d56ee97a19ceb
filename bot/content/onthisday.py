"""The Wikimedia on-this-day feed as candidate events.

``GET {feed_url}/feed/v1/wikipedia/{lang}/onthisday/{type}/{MM}/{DD}`` answers a mapping of
lists (``selected``, ``events``, ``births``, ``deaths``, ``holidays``); each item has ``text``,
``year`` (not for holidays) and ``pages`` (page summaries: titles, ``content_urls``,
``extract``, sometimes a ``thumbnail``). Each item becomes a short event of origin "wikipedia"
(a candidate: see ``bot.content``) whose part 1 holds the first page's extract as background,
a thumbnail where a page has one, and the links: every page, the day page, and the license
(CC BY-SA 4.0). Ids follow the JSON-lines data set's scheme (date, kind, hash of the text), so
the same item from either source is one event.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from bot.content import CANDIDATE_ORIGIN
from bot.content.importance import PERSON_KINDS, event_facts, page_names
from bot.content.text import cut_text, strip_html
from bot.content.wording import (
    HEADLINE_CHARS,
    after_formula,
    clean_feed_text,
    headline,
    one_line,
    person_wording,
)
from bot.errors import InputError
from bot.input_rules import MAX_YEAR, MIN_YEAR, text_problem
from bot.model import Event, id_prefix
from bot.model.dates import MONTH_NAMES, AnniversaryDate, check_month_day
from bot.safe_load import format_path

if TYPE_CHECKING:
    from bot.content.fetching import Fetcher
    from bot.store import Store

FEED_KINDS = ("selected", "events", "births", "deaths", "holidays")
KIND_TAGS = {
    "selected": ["event", "selected"],
    "events": ["event"],
    "births": ["birth"],
    "deaths": ["death"],
    "holidays": ["holiday"],
}
# the kind in the id: a "selected" item is an event (the same text under "events" is one event)
ID_KIND = {"selected": "event", "events": "event", "births": "birth", "deaths": "death",
           "holidays": "holiday"}  # fmt: skip
LICENSE_NAME = "CC BY-SA 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
ATTRIBUTION = f"From Wikipedia ({LICENSE_NAME})"
_URL = re.compile(r'^https?://[^\s<>"|]+$')
_DAY_IN_NAME = re.compile(r"(?<!\d)(\d{2})-(\d{2})(?!\d)")
_ITEM = re.compile(r"^([a-z]+)\[(\d+)\]")
MAX_EXCERPT = 1500


def feed_url(base: str, lang: str, kind: str, month: int, day: int) -> str:
    return f"{base.rstrip('/')}/feed/v1/wikipedia/{lang}/onthisday/{kind}/{month:02d}/{day:02d}"


def day_page_url(lang: str, month: int, day: int) -> str | None:
    """The Wikipedia page the day's lists come from (English titles only: other languages
    name their day pages differently)."""
    if lang != "en":
        return None
    return f"https://en.wikipedia.org/wiki/{MONTH_NAMES[month]}_{day}"


def feed_text(text: str) -> str:
    """The item's text on one line: "Christian feast day:\\nRené d'Angers" ->
    "Christian feast day: René d'Angers"; other line breaks become "; "."""
    lines = [one_line(line) for line in text.splitlines()]
    out = ""
    for line in filter(None, lines):
        if out:
            out += " " if out.endswith(":") else "; "
        out += line
    return out


# --- the shape ----------------------------------------------------------------------------


def is_feed_document(data: Any) -> bool:
    """A saved feed answer: a mapping of some of selected/events/births/deaths/holidays to
    lists of items with ``text`` and ``pages`` (a curated file's ``events:`` items have
    ``title`` and ``lead`` instead)."""
    if not isinstance(data, dict) or not data or not set(data) <= set(FEED_KINDS):
        return False
    items = [item for value in data.values() if isinstance(value, list) for item in value]
    return bool(items) and all(
        isinstance(item, dict) and "text" in item and "pages" in item for item in items
    )


def feed_problem(data: Any) -> str | None:
    """What is wrong with a feed answer's shape, as "path: problem"; None when it is usable."""
    found = feed_problem_at(data)
    if found is None:
        return None
    field, problem = found
    return f"{format_path(field)}: {problem}" if field else problem


def feed_problem_at(data: Any) -> tuple[tuple[str | int, ...], str] | None:
    """What is wrong with a feed answer's shape: (the field, the problem); None if usable."""
    if not isinstance(data, dict):
        return (), f"expected a JSON object with {', '.join(FEED_KINDS)}, got {type(data).__name__}"
    unknown = sorted(set(data) - set(FEED_KINDS) - {"onthisday"})
    if unknown and not set(data) & set(FEED_KINDS):
        return (unknown[0],), f"unknown key: expected {', '.join(FEED_KINDS)}"
    for key in FEED_KINDS:
        items = data.get(key, [])
        if not isinstance(items, list):
            return (key,), "expected a list"
        for index, item in enumerate(items):
            where: tuple[str | int, ...] = (key, index)
            if not isinstance(item, dict):
                return where, "expected an object with text, year and pages"
            problem = text_problem(item.get("text"))
            if problem is not None:
                return where + ("text",), f"expected non-empty text ({problem})"
            year = item.get("year")
            if year is not None and (type(year) is not int or year == 0):
                return where + ("year",), (
                    f"expected a year (negative for BC, never 0), got {year!r}"[:200]
                )
            if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
                return where + ("year",), f"expected a year from {MIN_YEAR} to {MAX_YEAR}"
            pages = item.get("pages", [])
            if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
                return where + ("pages",), "expected a list of page summaries"
    return None


# --- items as events -----------------------------------------------------------------------


@dataclass
class Page:
    title: str
    url: str | None
    extract: str
    timestamp: str | None
    thumbnail: str | None
    image_file: str | None
    description: str = ""  # the page's short description ("Count of Burgundy")


def _page(page: dict[str, Any], lang: str) -> Page:
    titles = _dict(page.get("titles"))
    title = (
        _str(titles.get("normalized"))
        or _str(page.get("normalizedtitle"))
        or strip_html(_str(page.get("displaytitle")) or _str(titles.get("display")))
        or _str(page.get("title")).replace("_", " ")
    )
    title = one_line(title)
    urls = _dict(page.get("content_urls"))
    desktop = _dict(urls.get("desktop"))
    url = _str(desktop.get("page"))
    if not _URL.match(url):
        canonical = _str(titles.get("canonical")) or _str(page.get("title"))
        url = (
            f"https://{lang}.wikipedia.org/wiki/{quote(canonical.replace(' ', '_'), safe='')}"
            if canonical
            else ""
        )
    extract = one_line(_str(page.get("extract"))) or strip_html(_str(page.get("extract_html")))
    thumbnail = _dict(page.get("thumbnail"))
    original = _dict(page.get("originalimage"))
    thumb = _str(thumbnail.get("source"))
    return Page(
        title=title,
        url=url if _URL.match(url) else None,
        extract=extract,
        timestamp=_str(page.get("timestamp")) or None,
        thumbnail=thumb if _URL.match(thumb) else None,
        image_file=_commons_file(_str(original.get("source")) or thumb),
        description=one_line(_str(page.get("description"))),
    )


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _commons_file(image_url: str) -> str | None:
    """``.../commons/thumb/7/72/Name.jpg/241px-Name.jpg`` or ``.../commons/7/72/Name.jpg``
    -> ``Name.jpg`` (its file page holds the image's own license)."""
    parts = urlsplit(image_url).path.split("/")
    if "thumb" in parts:
        index = parts.index("thumb")
        name = parts[index + 3] if len(parts) > index + 3 else ""
    else:
        name = parts[-1] if parts else ""
    return unquote(name) or None


def candidate_id(date: AnniversaryDate, kind: str, text: str) -> str:
    """The id scheme of the JSON-lines import (``bot.events.loader.wiki_record_row``): the same item
    from the data set and from the feed is one event."""
    return f"{id_prefix(date)}-{kind}-{zlib.crc32(text.encode()):08x}"


def item_event(key: str, item: dict[str, Any], month: int, day: int, lang: str = "en") -> Event:
    """One feed item (of list ``key``) as a candidate event."""
    kind = ID_KIND[key]
    raw = feed_text(item["text"])
    year = item.get("year") if key != "holidays" else None
    date = AnniversaryDate(month, day, year)
    pages = [_page(p, lang) for p in item.get("pages") or ()]
    # some pages have no thumbnail; an image needs a caption (its page's title)
    pictured = next((p for p in pages if p.thumbnail and p.title), None)
    text = clean_feed_text(raw, pictured=pictured is not None) or raw
    names = page_names(p.url for p in pages if p.url)
    if kind in PERSON_KINDS:
        subject = next((p for p in pages if p.url and page_names([p.url]) == names[:1]), None)
        title, lead = person_wording(kind, text, names[0] if names else None,
                                     subject.description if subject else "")  # fmt: skip
    elif kind == "holiday":
        title, lead = text, f"{text.rstrip('.')} is observed."
    else:
        title, lead = text, after_formula(text, [p.title for p in pages])
    title = headline(title, HEADLINE_CHARS)
    day_page = day_page_url(lang, month, day)
    blocks: list[dict[str, Any]] = []
    described = next((p for p in pages if p.extract and p.url), None)
    if described is not None:
        as_of = f", as of {described.timestamp[:10]}" if described.timestamp else ""
        blocks.append(
            {
                "type": "background",
                "url": described.url,
                "excerpt": cut_text(described.extract, MAX_EXCERPT),
                "source": f"Wikipedia ({LICENSE_NAME}){as_of}",
            }
        )
    if pictured is not None:
        credit = f" (Wikimedia Commons, File:{pictured.image_file})" if pictured.image_file else ""
        blocks.append(
            {"type": "images", "images": [{"caption": f"{pictured.title}{credit}",
                                           "url": pictured.thumbnail, "file": None}]}
        )  # fmt: skip
    links: list[dict[str, str]] = []
    for page in pages:
        if page.url and page.title and all(link["url"] != page.url for link in links):
            links.append({"title": page.title, "url": page.url})
    if day_page:
        links.append({"title": f"Wikipedia: {MONTH_NAMES[month]} {day}", "url": day_page})
    links.append({"title": f"License: {LICENSE_NAME}", "url": LICENSE_URL})
    blocks.append({"type": "links", "title": ATTRIBUTION, "links": links})
    return Event(
        id=candidate_id(date, kind, raw),
        date=date,
        title=title,
        lead=lead,
        parts=[{"blocks": blocks}],
        tags=list(KIND_TAGS[key]),
        source=day_page or (pages[0].url if pages and pages[0].url else None),
        origin=CANDIDATE_ORIGIN,
    )


@dataclass
class FeedDay:
    month: int
    day: int
    events: list[Event] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # id -> "births[3]"
    counts: dict[str, int] = field(default_factory=dict)  # list -> items
    skipped: list[str] = field(default_factory=list)  # "births[3]: February 29 ..."


def feed_events(
    data: dict[str, Any],
    month: int,
    day: int,
    lang: str = "en",
    kinds: Iterable[str] = FEED_KINDS,
    strict: bool = True,
) -> FeedDay:
    """The candidate events of one day's feed answer (already checked by ``feed_problem``).

    An item whose date cannot exist (February 29 of a common year) is an error when
    ``strict``, else skipped and listed. The same text under "selected" and "events" is one
    event, tagged "selected"."""
    result = FeedDay(month, day)
    by_id: dict[str, Event] = {}
    for key in FEED_KINDS:
        if key not in kinds:
            continue
        items = data.get(key) or []
        result.counts[key] = len(items)
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            year = item.get("year") if key != "holidays" else None
            try:
                check_month_day(month, day, year)
            except ValueError as error:
                if strict:
                    raise InputError(f"{where}: {error}") from None
                result.skipped.append(f"{where}: {error}")
                continue
            event = item_event(key, item, month, day, lang)
            problem = event_problem(event)
            if problem is not None:
                if strict:
                    raise InputError(f"{where}: {problem}")
                result.skipped.append(f"{where}: {problem}")
                continue
            earlier = by_id.get(event.id)
            if earlier is not None:
                earlier.tags = list(dict.fromkeys(earlier.tags + event.tags))
                continue
            by_id[event.id] = event
            result.where[event.id] = where
            result.events.append(event)
    return result


def event_problem(event: Event) -> str | None:
    """Why an item's event is not one an event file could hold (``bot.events.schema.EventIn``, the
    validation of every way in), as "field: problem"; None when it is fine."""
    from pydantic import ValidationError

    from bot.events.schema import EventIn

    try:
        EventIn.model_validate(event.to_dict())
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        return f"{format_path(first['loc'])}: {message}"
    return None


def feed_language(data: dict[str, Any], default: str = "en") -> str:
    for key in FEED_KINDS:
        for item in data.get(key) or ():
            for page in item.get("pages") or ():
                lang = page.get("lang") if isinstance(page, dict) else None
                if isinstance(lang, str) and re.fullmatch(r"[a-z][a-z-]{1,20}", lang):
                    return lang
    return default


def day_from_name(path: Path) -> tuple[int, int] | None:
    """``wikimedia-onthisday-feed-11-12.json`` -> (11, 12): the feed's answer does not say
    its day, so a saved one carries it in its name."""
    matches = list(_DAY_IN_NAME.finditer(path.name))
    if not matches:
        return None
    month, day = int(matches[-1].group(1)), int(matches[-1].group(2))
    try:
        check_month_day(month, day)
    except ValueError:
        return None
    return month, day


def load_feed_document(
    data: dict[str, Any], path: Path, batch, lines: Mapping[tuple, int] | None = None
) -> None:
    """``import`` of a saved feed answer: its items join ``batch`` as ready-made rows.
    ``lines``: the line of each field of the file, for the error messages."""

    def at(field: tuple) -> str:
        for cut in range(len(field), -1, -1):
            if lines and field[:cut] in lines:
                return f"{path}:{lines[field[:cut]]}"
        return str(path)

    found = day_from_name(path)
    if found is None:
        raise InputError(
            f"{path}: a saved on-this-day feed answer does not say its day: put it in the file "
            "name as MM-DD (e.g. onthisday-11-12.json)"
        )
    problem = feed_problem_at(data)
    if problem:
        field, message = problem
        raise InputError(f"{at(field)}: {format_path(field)}: {message}")
    month, day = found
    try:
        feed_day = feed_events(data, month, day, feed_language(data))
    except InputError as error:
        item = _ITEM.match(str(error))
        field = (item.group(1), int(item.group(2))) if item else ()
        raise InputError(f"{at(field)}: {error}") from None
    for event in feed_day.events:
        where = (path, feed_day.where[event.id])
        if event.id in batch.locations:
            raise InputError(
                f"{path}: {where[1]}: duplicate id {event.id!r}, also at "
                f"{batch.locations[event.id].at(('id',))}"
            )
        row = (*event.to_row(), *event_facts(event.tags, event.parts, event.lead))
        earlier = batch.wiki_lines.get(event.id)
        if earlier is not None:
            # the same item from the JSON lines or another saved answer: the feed's is richer
            batch.wiki_rows[earlier[2]] = row
            batch.duplicates_merged += 1
        else:
            batch.wiki_lines[event.id] = (*where, len(batch.wiki_rows))
            batch.wiki_rows.append(row)
        batch.feed_ids.add(event.id)
        batch.records_read += 1


# --- fetching -------------------------------------------------------------------------------


@dataclass
class FetchReport:
    days: int = 0
    items: int = 0
    added: int = 0
    updated: int = 0
    kept_curated: int = 0
    skipped: list[str] = field(default_factory=list)
    from_cache: int = 0

    def summary(self) -> str:
        text = (
            f"Fetched {self.items:,} item{'s' if self.items != 1 else ''} for {self.days} "
            f"day{'s' if self.days != 1 else ''}: {self.added:,} new candidates, "
            f"{self.updated:,} updated"
        )
        if self.kept_curated:
            text += f", {self.kept_curated:,} left alone (already curated)"
        if self.from_cache:
            text += f" ({self.from_cache} day{'s' if self.from_cache != 1 else ''} from the cache)"
        return text


def fetch_onthisday(
    store: Store,
    fetcher: Fetcher,
    days: list[tuple[int, int]],
    kinds: Iterable[str] = FEED_KINDS,
    progress: Callable[[int], None] | None = None,
) -> FetchReport:
    """Fetch each day's feed, then write every candidate in one transaction: a failure on any
    day writes nothing. Events already curated (promoted) are left as they are; a candidate
    fetched again keeps any background a curator fetched for it."""
    from bot.content.fetching import FetchError

    kinds = [k for k in FEED_KINDS if k in set(kinds)]
    settings = fetcher.settings
    feed_type = "all" if len(kinds) > 1 else kinds[0]
    report = FetchReport()
    events: list[Event] = []
    for month, day in days:
        url = feed_url(settings.feed_url, settings.language, feed_type, month, day)
        what = f"the on-this-day feed for {month:02d}-{day:02d}"
        fetched = fetcher.get(url, what, settings.feed_max_bytes, accept="application/json")
        data = fetched.json(what)
        problem = feed_problem(data)
        if problem:
            raise FetchError(f"{what}: unexpected answer: {problem} ({url})")
        feed_day = feed_events(data, month, day, settings.language, kinds, strict=False)
        report.days += 1
        report.from_cache += fetched.from_cache
        report.items += sum(feed_day.counts.values())
        report.skipped += [f"{month:02d}-{day:02d} {s}" for s in feed_day.skipped]
        events += feed_day.events
        if progress is not None:
            progress(1)
    existing = _existing(store, [e.id for e in events])
    kept: list[Event] = []
    seen: set[str] = set()
    for event in events:
        if event.id in seen:
            continue
        seen.add(event.id)
        old = existing.get(event.id)
        if old is not None and old[0] == "curated":
            report.kept_curated += 1
            continue
        if old is not None:
            _keep_backgrounds(event, old[1])
        kept.append(event)
    result = store.import_events(kept)
    report.added, report.updated = result.added, result.updated
    return report


def _existing(store: Store, ids: list[str]) -> dict[str, tuple[str, str]]:
    return store.origins_and_parts(ids)


def _keep_backgrounds(event: Event, old_parts: str) -> None:
    import json

    urls = {b.get("url") for p in event.parts for b in p["blocks"] if b["type"] == "background"}
    extra = [
        block
        for part in json.loads(old_parts)
        for block in part.get("blocks", [])
        if block.get("type") == "background" and block.get("url") not in urls
    ]
    if extra:
        blocks = event.parts[0]["blocks"]
        blocks[len(blocks) - 1 : len(blocks) - 1] = extra  # before the links
