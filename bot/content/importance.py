"""How much an event matters, and what it is about: computed when an event is stored (the
``importance``, ``subject`` and ``pages`` columns of the store) so that the daily pick ranks a
day's events on these light columns and reads the full event only for what it posts.

The importance score (README, "How the daily pick chooses"): points for the kind of item
(a "selected" anniversary above an event above a holiday above a birth or death), for each
distinct Wikipedia article it links (up to ``MAX_PAGES``), and, for items of the on-this-day
feed, for an article extract and a picture. An event of ``IMPORTANT`` points or more is
*important*: its milestone anniversaries count (``bot.content.pick``).

The subject: the article of the person a birth or death is about; two items are the same
person when their subjects are the same article. The pages: every linked article, one per
line, from which ``same_happening`` tells a feed item and the data set's record about the
same happening apart from two different things of the same day.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.model.dates import MONTH_NAMES

KIND_POINTS = {"selected": 40, "event": 30, "holiday": 15, "birth": 10, "death": 10}
PAGE_POINTS = 6
MAX_PAGES = 6
EXTRACT_POINTS = 4
PICTURE_POINTS = 6
IMPORTANT = 40
PERSON_KINDS = ("birth", "death")
# the columns the store keeps beside an event's own (bot.store), in this order
FACT_COLUMNS = ("importance", "subject", "pages")
# Old and New Style dates of one happening are 10 to 13 days apart
SAME_HAPPENING_DAYS = 13

_WIKIPEDIA_HOST = re.compile(r"^([a-z][a-z0-9-]*)\.(?:m\.)?wikipedia\.org$")
_DAY_PAGE = re.compile(rf"^({'|'.join(MONTH_NAMES[1:])})_\d{{1,2}}$")
_NAMESPACES = {"wikipedia", "special", "file", "help", "portal", "category", "template",
               "talk", "user", "draft", "module", "mediawiki"}  # fmt: skip
_MONTH_STARTS = frozenset(name[:3] for name in MONTH_NAMES[1:])
_EN_WIKI = "https://en.wikipedia.org/wiki/"
# an English article's title that is no day page and no other namespace, as it is in its URL
_PLAIN_TITLE = re.compile(rf"(?!(?:{'|'.join(MONTH_NAMES[1:])})_\d{{1,2}}$)[^%?#:/\s][^%?#:\s]*")
_WORD = re.compile(r"[^\W_]+")
_NAME_WORD = re.compile(r"[^\W\d_]{3,}")
# words many different happenings' pages share
_GENERIC_WORDS = frozenset(("battle", "siege", "war", "treaty", "united", "states", "kingdom",
                            "republic", "empire", "city", "river", "army", "national", "first",
                            "second", "king", "queen", "president", "election", "church",
                            "history", "new", "north", "south", "east", "west", "great",
                            "world", "people", "party", "revolution", "state"))  # fmt: skip
_MINOR_WORDS = frozenset(("of", "the", "and", "in", "on", "at", "a", "an", "de", "la", "le", "von",
                          "van", "der", "du", "des", "for", "to", "by"))  # fmt: skip


def wikipedia_article(url: str) -> tuple[str, str] | None:
    """``https://en.wikipedia.org/wiki/Apollo_11`` -> ("en", "Apollo_11"); None for any
    other page, a day page ("January_10") or a non-article namespace."""
    if url.startswith(_EN_WIKI) and "%" not in url and "?" not in url and "#" not in url:
        title = url[len(_EN_WIKI) :].replace(" ", "_")  # the common case, without parsing
        lang = "en"
    else:
        split = urlsplit(url)
        match = _WIKIPEDIA_HOST.match(split.netloc.lower())
        if not match or not split.path.startswith("/wiki/"):
            return None
        title = unquote(split.path[len("/wiki/") :]).replace(" ", "_")
        lang = match.group(1)
    if not title or (title[:3] in _MONTH_STARTS and _DAY_PAGE.match(title)):
        return None
    namespace, colon, _ = title.partition(":")
    if colon and namespace.lower().replace("_talk", "") in _NAMESPACES:
        return None
    return lang, title


# url -> the title of its article ("" for none): the data set links the same articles again and
# again (180,000 links per copy of it, to 124,000 distinct URLs); kept for at most
# this many URLs, so that a file of distinct ones cannot grow it without end
_PAGE_NAMES: dict[str, str] = {}
_PAGE_NAMES_KEPT = 100_000


def page_names(urls: Iterable[str]) -> list[str]:
    """The distinct Wikipedia articles among ``urls``, as titles ("Robert Falcon Scott"), in
    order; day pages, other namespaces and other sites left out."""
    names: list[str] = []
    for url in urls:
        name = _PAGE_NAMES.get(url)
        if name is None:
            name = _page_name(url)
            if len(_PAGE_NAMES) < _PAGE_NAMES_KEPT:
                _PAGE_NAMES[url] = name
        if name and name not in names:
            names.append(name)
    return names


def _page_name(url: str) -> str:
    """The title of the Wikipedia article ``url`` is; "" when it is none (see ``page_names``)."""
    if url.startswith(_EN_WIKI) and _PLAIN_TITLE.fullmatch(url, len(_EN_WIKI)):
        return url[len(_EN_WIKI) :].replace("_", " ")  # the common case, quickly
    article = wikipedia_article(url)
    return "" if article is None else article[1].replace("_", " ")


def kind_of(tags: Sequence[str]) -> str:
    """The kind of item ``tags`` say (a curated event without a kind tag is an "event")."""
    if "selected" in tags:
        return "selected"
    for kind in ("event", "birth", "death", "holiday"):
        if kind in tags:
            return kind
    return "event"


def _points(kind: str, pages: int, extract: bool, picture: bool) -> tuple[int, int, int, int]:
    """The points for the kind, the pages, an extract and a picture."""
    return (
        KIND_POINTS.get(kind, KIND_POINTS["event"]),
        min(pages, MAX_PAGES) * PAGE_POINTS,
        EXTRACT_POINTS if extract else 0,
        PICTURE_POINTS if picture else 0,
    )


def score_parts(
    kind: str, pages: int, extract: bool = False, picture: bool = False
) -> list[tuple[str, int]]:
    """The importance score of an item, as (what, points) terms that add up to it."""
    counted = min(pages, MAX_PAGES)
    what = (kind, f"{counted} page{'s' if counted != 1 else ''}", "extract", "picture")
    points = _points(kind, pages, extract, picture)
    return [(label, value) for index, (label, value) in enumerate(zip(what, points, strict=True))
            if value or index == 0]  # fmt: skip


def facts(
    tags: Sequence[str],
    pages: Sequence[str],
    extract: bool = False,
    picture: bool = False,
    text: str = "",
) -> tuple[int, str | None, str]:
    """The ``FACT_COLUMNS`` of an item: its importance, its subject, its pages (the main one
    first: a page that only sets the scene, "World War II: ...", goes last)."""
    kind = kind_of(tags)
    importance = _importance(kind, min(len(pages), MAX_PAGES), extract, picture)
    subject = pages[0] if kind in PERSON_KINDS and pages and _names_in(pages[0], text) else None
    scene = text.partition(": ")[0].casefold() if ": " in text[:80] else None
    if scene and len(pages) > 1 and pages[0].casefold() == scene:
        pages = [*pages[1:], pages[0]]
    return importance, subject, "\n".join(pages)


@functools.cache
def _importance(kind: str, pages: int, extract: bool, picture: bool) -> int:
    """The importance score: the sum of ``_points`` (remembered: a handful of distinct
    arguments, met once per event of an import)."""
    return sum(_points(kind, pages, extract, picture))


def _names_in(page: str, text: str) -> bool:
    """Whether ``text`` names the page (shares a word of three letters or more with its
    title): a birth's or death's first link is its person, unless the text says otherwise."""
    if not text or page in text:
        return True
    words = set(_NAME_WORD.findall(text.casefold()))
    return any(word in words for word in _NAME_WORD.findall(page.casefold()))


def _blocks(parts: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for part in parts:
        yield from part.get("blocks", ())


def event_pages(parts: Iterable[Any]) -> tuple[list[str], bool, bool]:
    """(the articles linked, whether it has a background excerpt, whether it has a picture)."""
    urls: list[str] = []
    extract = picture = False
    for block in _blocks(parts):
        kind = block.get("type")
        if kind == "links":
            urls += [link.get("url") or "" for link in block.get("links") or ()]
        elif kind == "background":
            extract = extract or bool(block.get("excerpt"))
        elif kind == "images":
            picture = True
    return page_names(urls), extract, picture


def event_facts(
    tags: Sequence[str], parts: Iterable[Any], lead: str = ""
) -> tuple[int, str | None, str]:
    """The ``FACT_COLUMNS`` of a stored or imported event (its tags, parts and lead)."""
    pages, extract, picture = event_pages(parts)
    return facts(tags, pages, extract, picture, lead)


def explain(tags: Sequence[str], parts: Iterable[Any]) -> str:
    """The score as ``plan`` shows it: "importance 62 (selected 40, 2 pages 12, ...)"."""
    pages, extract, picture = event_pages(parts)
    terms = score_parts(kind_of(tags), len(pages), extract, picture)
    total = sum(points for _, points in terms)
    return f"importance {total} ({', '.join(f'{what} {points}' for what, points in terms)})"


def page_words(page: str) -> frozenset[str]:
    """The words that tell what a page title is about."""
    return frozenset(
        word
        for word in _WORD.findall(page.casefold())
        if word not in _MINOR_WORDS and (len(word) > 2 or word.isdigit())
    )


def same_happening(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two items of the same year, at most ``SAME_HAPPENING_DAYS`` apart, whose
    main pages have the ``page_words`` ``a`` and ``b``, are one happening: the same page,
    or one renamed ("1905 Norwegian monarchy referendum" and "Norwegian monarchy plebiscite,
    1905", "Pudge Heffelfinger" and "William Heffelfinger"): at least half of the smaller
    set shared, a word of a name among them ("Battle of Princeton" and "Battle of the
    Assunpink Creek" share only "battle")."""
    shared = a & b
    return (
        bool(a)
        and len(shared) * 2 >= min(len(a), len(b))
        and any(word not in _GENERIC_WORDS for word in shared)
    )
