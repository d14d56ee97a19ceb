"""Background excerpts: a page's summary (Wikipedia) or main text (any other page), fetched
once by a curator and stored in the event; nothing here runs at post time.

For a Wikipedia article the REST summary (``/page/summary/{title}``) gives the lead
paragraph as plain text; any other page is fetched (2 MB cap) and its main text kept as
paragraphs. The block records where it came from and when (``source``), and replaces a
background of the same page or joins part 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from bot.content.fetching import Fetcher, FetchError
from bot.content.importance import wikipedia_article
from bot.content.onthisday import LICENSE_NAME
from bot.content.text import cut_paragraphs, cut_text, html_paragraphs, one_line, page_title
from bot.errors import InputError
from bot.model import ALL_BLOCKS_OPTIONS, BLOCK_OPTIONS, Event

if TYPE_CHECKING:
    from bot.store import Store

_URL = re.compile(r'^https?://[^\s<>"|]+$')
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


def same_page(a: str, b: str) -> bool:
    return _page_key(a) == _page_key(b)


def _page_key(url: str) -> str:
    split = urlsplit(url.strip())
    host = split.netloc.lower().replace(".m.wikipedia.org", ".wikipedia.org")
    host = host.removeprefix("www.")
    path = unquote(split.path).replace(" ", "_").rstrip("/")
    return f"{host}{path}?{split.query}" if split.query else f"{host}{path}"


def background_url(event: Event) -> str | None:
    """What ``fetch background EVENT`` fetches without ``--url``: the event's background page,
    else its first Wikipedia article link (not the day page nor the license), else its source."""
    blocks = [block for part in event.parts for block in part["blocks"]]
    for block in blocks:
        if block["type"] == "background":
            return block["url"]
    for block in blocks:
        if block["type"] == "links":
            for link in block["links"]:
                if wikipedia_article(link["url"]):
                    return link["url"]
    if event.source and wikipedia_article(event.source):
        return event.source
    return None


@dataclass
class BackgroundResult:
    event_id: str
    url: str
    source: str
    excerpt: str
    replaced: bool
    from_cache: bool

    def summary(self) -> str:
        how = "replaced the background of" if self.replaced else "added a background to"
        cached = " (from the cache)" if self.from_cache else ""
        return (
            f"{self.event_id}: {how} part 1: {len(self.excerpt):,} characters from {self.url}"
            f"{cached}; source: {self.source}"
        )


def fetch_excerpt(fetcher: Fetcher, url: str) -> tuple[dict[str, Any], bool]:
    """The background block for ``url`` (not stored), and whether it came from the cache."""
    if not _URL.match(url):
        raise InputError(f"--url: expected an http(s) URL, got {url!r}")
    settings = fetcher.settings
    article = wikipedia_article(url)
    if article is not None:
        lang, title = article
        api = settings.summary_url.format(lang=lang).rstrip("/")
        summary = f"{api}/page/summary/{quote(title, safe='')}"
        what = f"the Wikipedia summary of {title.replace('_', ' ')!r}"
        fetched = fetcher.get(summary, what, accept="application/json")
        data = fetched.json(what)
        if not isinstance(data, dict):
            raise FetchError(f"{what}: unexpected answer: expected a JSON object ({summary})")
        if data.get("type") == "disambiguation":
            raise FetchError(f"{what}: a disambiguation page: give the page you mean with --url")
        given_extract = data.get("extract")
        extract = given_extract if isinstance(given_extract, str) else ""
        if not extract.strip() and isinstance(data.get("extract_html"), str):
            from bot.content.text import strip_html

            extract = strip_html(data["extract_html"])
        lines = [one_line(line) for line in extract.splitlines() if line.strip()]
        if not lines:
            raise FetchError(f"{what}: the page has no summary text ({summary})")
        urls = data.get("content_urls")
        urls = urls if isinstance(urls, dict) else {}
        desktop = urls.get("desktop")
        desktop = desktop if isinstance(desktop, dict) else {}
        page = desktop.get("page") if _URL.match(str(desktop.get("page") or "")) else url
        excerpt = cut_paragraphs(lines, settings.max_excerpt_chars)
        source = f"Wikipedia ({LICENSE_NAME}), retrieved {fetched.fetched_at.date().isoformat()}"
        block = {"type": "background", "url": page, "excerpt": excerpt, "source": source}
        return block, fetched.from_cache
    what = f"the page {url}"
    fetched = fetcher.get(url, what, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
    kind = fetched.content_type.split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        raise FetchError(f"{what}: answered with {kind}, not a web page: nothing stored")
    text = fetched.text()
    if kind == "text/plain":
        paragraphs = [one_line(p) for p in re.split(r"\n\s*\n", text) if p.strip()]
    else:
        paragraphs = html_paragraphs(text)
    if not paragraphs:
        raise FetchError(f"{what}: no text found in the page: nothing stored")
    excerpt = cut_paragraphs([cut_text(p, settings.max_excerpt_chars) for p in paragraphs],
                             settings.max_excerpt_chars)  # fmt: skip
    host = urlsplit(url).netloc.removeprefix("www.")
    heading = page_title(text) if kind != "text/plain" else None
    name = f"{cut_text(heading, 120)} ({host})" if heading else host
    source = f"{name}, retrieved {fetched.fetched_at.date().isoformat()}"
    return {
        "type": "background",
        "url": url,
        "excerpt": excerpt,
        "source": source,
    }, fetched.from_cache


def set_background(event: Event, block: dict[str, Any]) -> bool:
    """Put ``block`` in ``event``: in place of a background of the same page (True), else at
    the end of part 1, before its mention list (False)."""
    for part in event.parts:
        for index, existing in enumerate(part["blocks"]):
            if existing["type"] == "background" and same_page(existing["url"], block["url"]):
                # the curator's presentation options (header, headline, ...) stay as they were
                options = ALL_BLOCKS_OPTIONS.keys() | BLOCK_OPTIONS["background"].keys()
                kept = {key: value for key, value in existing.items() if key in options}
                part["blocks"][index] = {**block, **kept}
                return True
    blocks = event.parts[0]["blocks"]
    position = len(blocks)
    while position > 0 and blocks[position - 1]["type"] == "mentions":
        position -= 1
    blocks.insert(position, block)
    return False


def fetch_background(
    store: Store, event_id: str, fetcher: Fetcher, url: str | None = None
) -> BackgroundResult:
    """Fetch the background of ``event_id`` (from ``url``, else ``background_url``) and store
    it in the event. Any failure raises before the store is touched."""
    event = store.get_event(event_id)
    url = url or background_url(event)
    if not url:
        raise InputError(
            f"{event_id}: no page to fetch: the event has no background or Wikipedia link; "
            "give one with --url"
        )
    block, from_cache = fetch_excerpt(fetcher, url)
    replaced = set_background(event, block)
    store.import_events([event])
    return BackgroundResult(
        event.id, block["url"], block["source"], block["excerpt"], replaced, from_cache
    )
