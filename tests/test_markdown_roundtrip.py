"""Markdown escaping, read back by CommonMark (issue 16).

Event text is escaped so that it shows as written: parsed by a CommonMark renderer
(markdown-it-py's ``commonmark`` preset, the engine Discourse builds on), every line of every
text field of every sample event, and every payload of the injection corpus, must come back as
the same visible text: no markup taken from data, and no backslash shown where an escape was
not needed ("\\1." is not an escape in CommonMark: the backslash shows).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from markdown_it import MarkdownIt

from bot.events.mentions import MentionDirectory
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.neutralise import escape_markdown, neutralise_at, unescape_markdown
from bot.threads.render import render_thread
from tests.test_injection_corpus import TEXT_PAYLOADS

COMMONMARK = MarkdownIt("commonmark")


class _Visible(HTMLParser):
    """The text a reader sees in rendered HTML: tags dropped, entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def visible(markdown: str) -> str:
    parser = _Visible()
    parser.feed(COMMONMARK.render(markdown))
    parser.close()
    return " ".join("".join(parser.chunks).split())


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "text",
    ["1. The first", "1) The first", "12. December", "2026. A year", "1.\nalone", "see\n3) third",
     "1.", "# not a heading", "- not an item", "+ nor this", "> not a quote", "Title\n===",
     "Title\n---", "AT&T &amp; &#64;x", "a *b* _c_ `d` ~~e~~ [f](g) <h> |i|"],
)  # fmt: skip
def test_escaped_text_shows_as_written(text):
    assert visible(escape_markdown(text)) == words(text)


def test_a_number_at_a_line_start_keeps_no_visible_backslash():
    # the bug: "\1." -- CommonMark escapes only punctuation, so the backslash was shown
    assert escape_markdown("1. item") == "1\\. item"
    assert escape_markdown("1) item") == "1\\) item"
    assert unescape_markdown(escape_markdown("1) item \\ [x]")) == "1) item \\ [x]"


def text_fields(event: Event, directory: MentionDirectory) -> list[str]:
    """Every text of an event a post prints, as its lines (a credit naming a member: their
    name)."""
    credited = directory.credited(event.credit) if event.credit else None
    credit = credited.name if credited is not None else event.credit
    texts = [event.lead] + ([credit] if credit else [])
    for part in event.parts:
        for block in part["blocks"]:
            for key in ("text", "cite", "title", "description", "excerpt", "source", "headline"):
                if key == "source" and block.get("header") is False:
                    continue  # the source is named in the header, left out here
                if isinstance(block.get(key), str):
                    texts.append(block[key])
            for image in block.get("images") or ():
                texts.append(image["caption"])
            for link in block.get("links") or ():
                texts.extend(str(link[key]) for key in ("title", "text") if link.get(key))
    return [line.strip() for text in texts for line in text.split("\n") if line.strip()]


def assert_round_trip(event: Event, directory: MentionDirectory) -> None:
    day = dt.date(2024, event.date.month, event.date.day)  # a leap year: February 29 too
    thread = render_thread(event, day, "markdown", directory)
    shown = " ".join(visible(post.body) for post in thread.posts)
    lines = text_fields(event, directory)
    for line in lines:
        assert words(neutralise_at(line)) in shown, (event.id, line)
    # no escape shows: the only backslashes a reader sees are the ones the curator wrote
    assert shown.count("\\") <= sum(line.count("\\") for line in lines), event.id


def test_every_sample_event_reads_back_as_written(sample_store):
    directory = MentionDirectory.from_store(sample_store)
    events = list(sample_store.iter_events())
    assert len(events) > 380  # the reference, the rich events, one for every day, the layouts
    for event in events:
        assert_round_trip(event, directory)


def _event_with(text: str) -> Event:
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": text},
        {"type": "quote", "text": text, "cite": text},
        {"type": "video", "url": "https://example.org/v", "title": text, "description": text},
        {"type": "background", "url": "https://example.org/b", "source": text, "excerpt": text,
         "headline": text, "header": False},
        {"type": "images", "images": [{"caption": text, "url": None, "file": None}]},
        {"type": "links", "title": text, "style": "numbered",
         "links": [{"title": text, "url": "https://example.org/l"}]},
    ]  # fmt: skip
    return Event("x", AnniversaryDate(7, 20, 1969), "Title", text, [{"blocks": blocks}], text)


@pytest.mark.parametrize("payload", TEXT_PAYLOADS)
def test_every_injection_payload_reads_back_as_written(payload):
    assert_round_trip(_event_with(payload), MentionDirectory())


def test_the_check_sees_markup_taken_from_data():
    """Not vacuous: unescaped markup does not read back as written."""
    assert visible("1. item") != "1. item"  # an ordered list: the number is gone
    assert visible("\\1. item") != "1. item"  # the old escape: a backslash shows
    assert re.sub(r"\s", "", visible("**b**")) == "b"
    assert html.unescape("&amp;") == "&"
