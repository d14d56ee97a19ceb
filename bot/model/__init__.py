"""The event as the rest of the program sees it, read from the store or from files."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.model.dates import AnniversaryDate, parse_date

EVENT_COLUMNS = (
    "id", "month", "day", "year", "title", "lead", "credit", "tags", "priority", "sensitive",
    "source", "origin", "parts", "topic_title",
)  # fmt: skip
BLOCK_TYPES = ("text", "quote", "video", "images", "background", "links", "mentions")
# A block's presentation options and what each is when left out. The stored form leaves out
# an option at its default (bot.events.schema), so an event written before the options existed
# is stored, hashed and drawn as it was; the renderer fills them in (``with_options``).
BLOCK_OPTIONS: dict[str, dict[str, Any]] = {
    "background": {"headline": None, "header": True, "marks": False},
    "quote": {"headline": None, "marks": True, "url": None},
    "links": {"style": None},  # None: the classic "Title:" and a dash list of "title: url"
}
ALL_BLOCKS_OPTIONS: dict[str, Any] = {"attach": False}  # True: right under the block before
LINK_OPTIONS: dict[str, Any] = {"title": None, "text": None}
LINK_STYLES = ("numbered", "bulleted", "bare")
DEFAULT_LINKS_TITLE = "Links"
# what may have variants by language: the event's titles and lead, a text block's text
VARIANT_FIELDS = ("title", "topic_title", "lead")
ORIGINS = ("curated", "wikipedia")


def slugify(text: str, max_length: int = 60) -> str:
    """The Latin letters and digits of ``text``, lower-case, joined by dashes ("event" when
    there are none). Accents are dropped; letters of other scripts are lost."""
    return _latin_slug(text, max_length) or "event"


def _latin_slug(text: str, max_length: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug


def title_key(title: str) -> str:
    """What tells two titles apart: case, accents' composition, spacing and punctuation do not
    (so fixing a capital letter or a full stop is the same event, as it is for the slug)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


def _has_letters(text: str) -> bool:
    return any(character.isalpha() for character in text)


def id_prefix(date: AnniversaryDate) -> str:
    # "44bc-03-15" rather than "-0044-03-15": an id starting with "-" reads as a CLI option
    if date.year is None:
        return date.month_day
    if date.year < 0:
        return f"{-date.year}bc-{date.month_day}"
    return f"{date.year:04d}-{date.month_day}"


def slug_id(date: AnniversaryDate, title: str) -> str:
    """The id every title was given before titles without Latin letters had ids of their own:
    what stores in use may hold for such a title (``<date>-event``, or its digits)."""
    return f"{id_prefix(date)}-{slugify(title)}"


def derive_id(date: AnniversaryDate, title: str) -> str:
    """The id of an event that does not give one: ``<date>-<slug of the title>``.

    A title with Latin letters (or with no letters at all, "1812") keeps its slug, the id it
    has always had. A title whose letters are all of other scripts (Cyrillic, Greek, CJK, ...)
    would lose them all (and every such title of a day would get ``<date>-event``), so it gets
    a hash of its words instead: stable across versions, where a transliteration table is not.
    """
    slug = _latin_slug(title)
    if re.search("[a-z]", slug) or (slug and not _has_letters(title)):
        return f"{id_prefix(date)}-{slug}"
    digest = hashlib.sha256(title_key(title).encode("utf-8")).hexdigest()[:10]
    return f"{id_prefix(date)}-{digest}"


@dataclass
class Event:
    """An event as the store keeps it: its date, its words and its parts' blocks."""

    id: str
    date: AnniversaryDate
    title: str
    lead: str
    # a tuple in the light events the daily pick ranks (bot.content.pick): their parts are
    # never read, and one shared empty tuple costs nothing per event
    parts: Sequence[dict[str, Any]]
    credit: str | None = None
    tags: list[str] = field(default_factory=list)
    priority: int = 0
    sensitive: bool = False
    source: str | None = None
    origin: str = "curated"
    # the topic's own title instead of the generated "DATE: title (Nth anniversary)"
    topic_title: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "curated") -> Event:
        """From the normalised form the validator produces (all optional keys present)."""
        return cls(
            id=data["id"],
            date=parse_date(data["date"]),
            title=data["title"],
            lead=data["lead"],
            parts=data["parts"],
            credit=data.get("credit"),
            tags=list(data.get("tags") or []),
            priority=data.get("priority", 0),
            sensitive=bool(data.get("sensitive", False)),
            source=data.get("source"),
            origin=data.get("origin", origin),
            topic_title=data.get("topic_title"),
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(
            id=row["id"],
            date=AnniversaryDate(row["month"], row["day"], row["year"]),
            title=row["title"],
            lead=row["lead"],
            parts=json.loads(row["parts"]),
            credit=row["credit"],
            tags=json.loads(row["tags"]),
            priority=row["priority"],
            sensitive=bool(row["sensitive"]),
            source=row["source"],
            origin=row["origin"],
            topic_title=row.get("topic_title"),
        )

    def to_row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.date.month,
            self.date.day,
            self.date.year,
            self.title,
            self.lead,
            self.credit,
            json.dumps(self.tags),
            self.priority,
            int(self.sensitive),
            self.source,
            self.origin,
            json.dumps(self.parts, ensure_ascii=False),
            self.topic_title,
        )

    def to_dict(self) -> dict[str, Any]:
        """The curator's form, without keys left at their defaults, for export."""
        data: dict[str, Any] = {"id": self.id, "date": self.date.iso(), "title": self.title}
        if self.topic_title is not None:
            data["topic_title"] = self.topic_title
        data["lead"] = self.lead
        if self.credit is not None:
            data["credit"] = self.credit
        if self.tags:
            data["tags"] = self.tags
        if self.priority:
            data["priority"] = self.priority
        if self.sensitive:
            data["sensitive"] = True
        if self.source is not None:
            data["source"] = self.source
        if self.origin != "curated":
            data["origin"] = self.origin
        data["parts"] = [
            {"blocks": [_compact(_curators_block(block)) for block in part["blocks"]]}
            for part in self.parts
        ]
        for name, variants in self.variants.items():
            data[name] = dict(variants)
        return data

    @property
    def variants(self) -> dict[str, dict[str, str]]:
        """The title's and the lead's variants by language (``{"lead": {"en": ..., "fr":
        ...}}``), kept with the first part so that the store's row and an event without any
        are what they always were."""
        if not self.parts:
            return {}
        return dict(self.parts[0].get("variants") or {})


def with_variants(data: dict[str, Any]) -> dict[str, Any]:
    """A validated event whose title, lead or text blocks are given by language (``lead: {en:
    ..., fr: ...}``) as the rest of the program reads it: each is its default (the first
    variant), and the variants are kept beside it (``Event.variants``, a block's
    ``variants``)."""
    variants = {name: data[name] for name in VARIANT_FIELDS if isinstance(data.get(name), dict)}
    if not variants and not any(
        isinstance(block.get("text"), dict) for part in data["parts"] for block in part["blocks"]
    ):
        return data
    data = dict(data)
    for name, texts in variants.items():
        data[name] = next(iter(texts.values()))
    parts = []
    for index, part in enumerate(data["parts"]):
        blocks = []
        for block in part["blocks"]:
            if block["type"] == "text" and isinstance(block["text"], dict):
                block = {
                    **block,
                    "text": next(iter(block["text"].values())),
                    "variants": block["text"],
                }
            blocks.append(block)
        part = {**part, "blocks": blocks}
        if index == 0 and variants:
            part["variants"] = variants
        parts.append(part)
    data["parts"] = parts
    return data


def _curators_block(block: dict[str, Any]) -> dict[str, Any]:
    """A block as a curator writes it: a text with variants is the mapping of them."""
    if "variants" not in block:
        return block
    written = {k: v for k, v in block.items() if k != "variants"}
    written["text"] = dict(block["variants"])
    return written


def variant_for(texts: dict[str, str], language: str) -> str | None:
    """The variant of ``language`` among ``texts``: its own (``pt-BR``), else its language's
    (``pt``), else None."""
    if language in texts:
        return texts[language]
    base = language.replace("_", "-").split("-")[0].lower()
    return texts.get(base)


def in_language(event: Event, language: str) -> tuple[Event, list[str]]:
    """``event`` with its title, lead and text blocks in ``language`` where it has variants,
    and the names of those that have variants but none in ``language`` (they keep their
    default, the first variant written)."""
    variants = event.variants
    has_text_variants = any("variants" in b for p in event.parts for b in p["blocks"])
    if not variants and not has_text_variants:
        return event, []
    missing: list[str] = []
    changed: dict[str, Any] = {}
    for name, texts in variants.items():
        chosen = variant_for(texts, language)
        if chosen is None:
            missing.append(name)
        else:
            changed[name] = chosen
    parts = []
    for p, part in enumerate(event.parts):
        blocks = []
        for b, block in enumerate(part["blocks"]):
            if "variants" in block:
                chosen = variant_for(block["variants"], language)
                if chosen is None:
                    missing.append(f"parts[{p}].blocks[{b}].text")
                else:
                    block = {**block, "text": chosen}
            blocks.append(block)
        parts.append({**part, "blocks": blocks})
    return replace(event, parts=parts, **changed), missing


def with_options(block: dict[str, Any]) -> dict[str, Any]:
    """``block`` with every presentation option it leaves out at its default (and each link's)."""
    filled = {**ALL_BLOCKS_OPTIONS, **BLOCK_OPTIONS.get(block["type"], {}), **block}
    if block["type"] == "links":
        filled["links"] = [{**LINK_OPTIONS, **link} for link in block["links"]]
        if filled["style"] is None and filled.get("title") is None:
            filled["title"] = DEFAULT_LINKS_TITLE
    return filled


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


@dataclass(frozen=True)
class Member:
    """A member a post can name: their handle on each platform, their tags, and the day they
    opted out of being named, if they did."""

    id: str
    name: str
    handles: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()
    opted_out: str | None = None

    def handle(self, platform: str | None) -> str | None:
        return self.handles.get(platform) if platform else None
