"""HTML to plain text: the feed's ``displaytitle``/``extract_html`` and a web page's main text.

Only the standard library's tolerant ``html.parser``: pages are untrusted and often malformed,
and nothing here needs more than the text and where paragraphs break.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from bot.content.wording import one_line


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# elements whose text is never part of what a reader came for
_SKIP = _names(
    "script style noscript template svg math nav header footer aside form button select "
    "option textarea iframe object canvas figure head"
)
# elements that end a paragraph (their text stands on its own line)
_BLOCKS = _names(
    "p div section article main li ul ol dl dt dd blockquote pre table tr td th caption "
    "h1 h2 h3 h4 h5 h6 br hr body html figcaption address details summary"
)
_VOID = _names("area base br col embed hr img input link meta source track wbr")
_MAIN = frozenset({"main", "article"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[tuple[str, bool]] = []  # (text, inside <main>/<article>)
        self.current: list[str] = []
        self.skip_depth = 0
        self.stack: list[str] = []
        self.main_depth = 0

    def _flush(self) -> None:
        text = one_line("".join(self.current))
        if text:
            self.paragraphs.append((text, self.main_depth > 0))
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag in _BLOCKS and not self.skip_depth:
                self._flush()
            return
        self.stack.append(tag)
        if tag in _SKIP or self.skip_depth:
            self.skip_depth += 1
            return
        if tag in _MAIN:
            self._flush()
            self.main_depth += 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self.stack:
            return
        # close everything opened since (browsers do the same for unclosed <p>, <li>)
        while self.stack:
            open_tag = self.stack.pop()
            if self.skip_depth:
                self.skip_depth -= 1
            elif open_tag in _MAIN:
                self._flush()
                self.main_depth -= 1
            elif open_tag in _BLOCKS:
                self._flush()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def strip_html(fragment: str) -> str:
    """A fragment's text on one line: ``<i>Terra Nova</i> Expedition`` -> ``Terra Nova Expedition``."""
    if "<" not in fragment and "&" not in fragment:
        return one_line(fragment)
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return one_line(" ".join(text for text, _ in parser.paragraphs)) or one_line(
        unescape(re.sub(r"<[^>]*>", " ", fragment))
    )


def html_paragraphs(page: str, min_words: int = 4) -> list[str]:
    """A page's main text as paragraphs and headings, one per item.

    The text inside ``<main>`` or ``<article>`` when the page has any; else the whole body,
    without navigation, headers, footers, scripts and forms, and (when more than a few
    remain) without scraps shorter than ``min_words`` words, such as menus.
    """
    parser = _Text()
    parser.feed(page)
    parser.close()
    main = [text for text, inside in parser.paragraphs if inside]
    if main:
        return main
    paragraphs = [text for text, _ in parser.paragraphs]
    if len(paragraphs) > 3:
        paragraphs = [p for p in paragraphs if len(p.split()) >= min_words] or paragraphs
    return paragraphs


def page_title(page: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return one_line(unescape(match.group(1))) or None if match else None


def cut_paragraphs(paragraphs: list[str], limit: int) -> str:
    """Whole paragraphs, one per line, up to ``limit`` characters (at least the first one,
    cut at a sentence or word when it alone is longer)."""
    kept: list[str] = []
    size = 0
    for paragraph in paragraphs:
        if size + len(paragraph) + (1 if kept else 0) > limit:
            if not kept:
                kept.append(cut_text(paragraph, limit))
            break
        kept.append(paragraph)
        size += len(paragraph) + (1 if len(kept) > 1 else 0)
    return "\n".join(kept)


def cut_text(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    sentence = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence > limit // 3:
        return head[: sentence + 1]
    return head.rsplit(" ", 1)[0] + "…"
