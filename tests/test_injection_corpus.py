"""The injection corpus (issue 12): hostile text and URLs in every text and URL field of an
event, rendered for every format and adapter and read back the way each platform reads it.

For each (field, target) every payload is rendered and checked by that platform's own parser:
Mastodon's mention regex, CommonMark (markdown-it, the engine Discourse uses, with linkify) for
Markdown, ``html.parser`` for HTML, Slack's control sequences, Discord's ``allowed_mentions``,
Matrix's ``m.mentions``, ``body`` and ``formatted_body``. What every check asserts:

- nobody outside the post's mention list is notified;
- no link or image appears that the curator did not write: a link written in markup points at
  one of the event's URL fields, and any other link is a plain URL that shows itself;
- each URL field is one whole link (nothing of it is left over as text or markup);
- nothing active in HTML (no script, no ``on*`` attribute, no ``javascript:``).

Events are built as ``bot.model.Event`` directly so that rendering is tested on its own; what
the import refuses is checked separately (one clear line).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
from markdown_it import MarkdownIt

from bot.config import Config, Destination
from bot.config.channel import Channel
from bot.errors import BotError, InputError
from bot.events.mentions import MentionDirectory
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.posters import poster_class
from bot.posters.base import OutgoingPost, Published
from bot.publishing.log import outgoing_posts
from bot.threads.fitting import fit_for
from bot.threads.render import event_urls, render_thread
from tests.servers import LocalServer, Recorded

DAY = dt.date(2026, 7, 20)
ZWSP = "\u200b"

# --- the corpus ------------------------------------------------------------------------------

TEXT_PAYLOADS = [
    # mentions, in each platform's syntax
    "@everyone", "@here", "@channel", "@room", "@all", "<!channel>", "<!here>", "<!everyone>",
    "<!subteam^S0123ABCD>", "<@U0VICTIM1>", "<@W0VICTIM1>", "<#C0CHANNEL>",
    "<@123456789012345678>", "<@!123456789012345678>", "<@&987654321098765432>",
    "@victim:evil.example", "@victim@mastodon.social", "(@victim@mastodon.social)",
    "x,@victim@mastodon.social", "watch?v=1&@victim@mastodon.social", "＠victim@mastodon.social",
    "hi @victim.", "@@victim", "-@victim",
    # Markdown: links, images, reference definitions, autolinks
    "[Log-in](https://evil.example/login)", "![pixel](https://evil.example/pixel.png)",
    "[Log-in][1]\n\n[1]: https://evil.example/login", "<https://evil.example/login>",
    "[@victim](https://evil.example)", "\\[x\\](https://evil.example/login)",
    "**bold** _it_ `code` ~~gone~~", "# Heading\n> quote\n- item\n1. item",
    # raw HTML and active content
    "<script>alert(1)</script>", '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>', '<iframe src="https://evil.example/"></iframe>',
    '<b onmouseover="alert(1)">b</b>', "&lt;script&gt;alert(1)&lt;/script&gt;",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    # Slack's control sequences
    "<https://evil.example/login|Log in>", "<mailto:x@evil.example|mail me>",
    # Matrix pills and room pings
    "https://matrix.to/#/@victim:evil.example",
    '<a href="https://matrix.to/#/@victim:evil.example">victim</a>',
    # zero-width and bidi tricks
    "@\u200beveryone", "@\u2060everyone", "\u2066@everyone\u2069", "\u202e@everyone",
    "@every\u200bone <\u200b@123456789012345678>", "\u202e[Log-in](https://evil.example/login)",
    # URLs in text, newlines and line separators
    "https://example.org/x)[Log-in](https://evil.example/login)",
    "https://example.org/watch?v=1&@victim@mastodon.social",
    "line one\n@everyone\r\n[a](https://evil.example)", "a\u2028@here\u2029<!channel>",
]  # fmt: skip

URL_PAYLOADS = [
    "https://example.org/watch?v=1&@victim@mastodon.social",
    "https://example.org/a(@victim@mastodon.social)",
    "https://example.org/a,@victim@mastodon.social",
    "https://example.org/a;@victim@mastodon.social",
    "https://example.org/x)[Log-in](https://evil.example/login)",
    "https://example.org/x)![pixel](https://evil.example/pixel.png)",
    "https://example.org/x](https://evil.example/login)",
    "https://example.org/x*[Log-in](https://evil.example/login)*",
    "https://example.org/a|Log in here",
    "https://example.org/a|b",
    'https://example.org/"onmouseover="alert(1)',
    "https://example.org/a'onclick='alert(1)",
    "https://example.org/><script>alert(1)</script>",
    "https://example.org/<!channel>",
    "https://example.org/?q=<@U0VICTIM1>",
    "https://example.org/?q=<@123456789012345678>",
    "https://example.org/a b",
    "https://example.org/a\n@everyone",
    "https://example.org/a\u2028@here",
    "https://example.org/x\u200b@everyone",
    "https://example.org/\u202egpj.exe",
    "https://example.org/a\x00b",
    "https://www.bank.example@evil.example/login",
    "https://example.org/x\\",
    "https://example.org/a`b`c",
    "https://example.org/a{b}^c",
    "https://example.org/#@victim:evil.example",
    "https://example.org/@victim:evil.example",
    "https://en.wikipedia.org/wiki/Washington,_D.C.",
    "https://en.wikipedia.org/wiki/Casablanca_(film)",
    "https://example.org/＠victim@mastodon.social",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "//evil.example/login",
    "https:evil.example",
    "http://",
]

# --- the event, and where each field lives in it ---------------------------------------------

JANE = {
    "id": "jane",
    "name": "SGT Jane Doe",
    "handles": {
        "discourse": "janedoe",
        "mastodon": "@janedoe@social.example",
        "discord": "111111111111111111",
        "slack": "U0JANE001",
        "matrix": "@janedoe:example.org",
    },
}
JOE = {"id": "joe", "name": "Joe Plain", "handles": {}}
LISTED = {
    "discourse": {"janedoe"},
    "mastodon": {"janedoe@social.example"},
    "discord": {"111111111111111111"},
    "slack": {"U0JANE001"},
    "matrix": {"@janedoe:example.org"},
}


def base_parts() -> list[dict[str, Any]]:
    return [
        {"blocks": [
            {"type": "video", "title": "The landing", "description": "NASA film.",
             "url": "https://example.org/video"},
            {"type": "images", "images": [
                {"caption": "Buzz Aldrin", "url": "https://example.org/aldrin.jpg", "file": None}]},
            {"type": "background", "url": "https://example.org/background", "source": "Example",
             "excerpt": "Apollo 11 landed.\nLaunch\nIt launched on July 16."},
            {"type": "text", "text": "Our own words."},
            {"type": "quote", "text": "One small step.", "cite": "Neil Armstrong"},
            {"type": "links", "title": "Further reading",
             "links": [{"title": "NASA", "url": "https://example.org/nasa"}]},
            {"type": "mentions", "lists": [], "members": ["jane", "joe"]},
        ]},
        {"blocks": [{"type": "text", "text": "A reply."},
                    {"type": "mentions", "lists": [], "members": ["jane"]}]},
    ]  # fmt: skip


def _block(parts: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(b for b in parts[0]["blocks"] if b["type"] == kind)


# each field: where a payload goes (the event's fields, its blocks, a member's display name)
Setter = Callable[[dict[str, Any], str], None]
TEXT_FIELDS: dict[str, Setter] = {
    "title": lambda e, v: e.__setitem__("title", v),
    "lead": lambda e, v: e.__setitem__("lead", v),
    "credit": lambda e, v: e.__setitem__("credit", v),
    "text": lambda e, v: _block(e["parts"], "text").__setitem__("text", v),
    "quote.text": lambda e, v: _block(e["parts"], "quote").__setitem__("text", v),
    "quote.cite": lambda e, v: _block(e["parts"], "quote").__setitem__("cite", v),
    "quote.headline": lambda e, v: _block(e["parts"], "quote").__setitem__("headline", v),
    "video.title": lambda e, v: _block(e["parts"], "video").__setitem__("title", v),
    "video.description": lambda e, v: _block(e["parts"], "video").__setitem__("description", v),
    "image.caption": lambda e, v: _block(e["parts"], "images")["images"][0].__setitem__(
        "caption", v
    ),
    "background.source": lambda e, v: _block(e["parts"], "background").__setitem__("source", v),
    "background.excerpt": lambda e, v: _block(e["parts"], "background").__setitem__("excerpt", v),
    "background.headline": lambda e, v: _block(e["parts"], "background").__setitem__("headline", v),
    "links.title": lambda e, v: _block(e["parts"], "links").__setitem__("title", v),
    "link.title": lambda e, v: _block(e["parts"], "links")["links"][0].__setitem__("title", v),
    "member.name": lambda e, v: e["members"].__setitem__(slice(None), _named(v)),
}
URL_FIELDS: dict[str, Setter] = {
    "video.url": lambda e, v: _block(e["parts"], "video").__setitem__("url", v),
    "image.url": lambda e, v: _block(e["parts"], "images")["images"][0].__setitem__("url", v),
    "background.url": lambda e, v: _block(e["parts"], "background").__setitem__("url", v),
    "quote.url": lambda e, v: _block(e["parts"], "quote").__setitem__("url", v),
    "link.url": lambda e, v: _block(e["parts"], "links")["links"][0].__setitem__("url", v),
}


def _named(name: str) -> list[dict[str, Any]]:
    # both members get the hostile display name: one is pinged (handles), one only named
    return [{**JANE, "name": name}, {**JOE, "name": name}]


def case(field: str, payload: str) -> tuple[Event, MentionDirectory]:
    data: dict[str, Any] = {
        "title": "Apollo 11 lands on the Moon",
        "lead": "Neil Armstrong walked on the Moon.",
        "credit": "SGT Jane Doe",
        "parts": base_parts(),
        "members": [copy.deepcopy(JANE), copy.deepcopy(JOE)],
    }
    (TEXT_FIELDS | URL_FIELDS)[field](data, payload)
    event = Event(
        id="apollo",
        date=AnniversaryDate(7, 20, 1969),
        title=data["title"],
        lead=data["lead"],
        credit=data["credit"],
        parts=data["parts"],
    )
    return event, MentionDirectory(data["members"])


def address(url: str) -> str:
    """Where a link goes, to compare links: percent-decoded (a sanitised URL is the same
    address with markup characters percent-encoded), without user info (a browser goes to the
    host after the "@": the sanitiser shows that host)."""
    url = unquote(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return url


def curator_urls(event: Event) -> set[str]:
    """The links the curator wrote: every URL field, compared percent-decoded (a sanitised URL
    is the same address with markup characters percent-encoded)."""
    urls = set()
    for part in event.parts:
        for block in part["blocks"]:
            if block["type"] in ("video", "background", "quote") and block.get("url"):
                urls.add(block["url"])
            for item in block.get("images", []) + block.get("links", []):
                if item.get("url"):
                    urls.add(item["url"])
    return {address(url) for url in urls}


# where image URLs are printed: as a link (Markdown, HTML) or an image line (Discourse); the
# plain-text formats list images by caption only
PRINTS_IMAGE_URLS = {"markdown", "html", "discourse", "discord"}


def printed_urls(event: Event, target: str) -> set[str]:
    """The URL fields the target prints: each must come out as one whole link."""
    urls = set()
    for part in event.parts:
        for block in part["blocks"]:
            if block["type"] in ("video", "background") or block.get("url"):
                urls.add(block["url"])
            urls.update(link["url"] for link in block.get("links", []))
            if target in PRINTS_IMAGE_URLS:
                urls.update(image["url"] for image in block.get("images", []) if image["url"])
    return {address(url) for url in urls}


# --- rendering for each target ---------------------------------------------------------------

FORMAT_TARGETS = ("text", "markdown", "html")  # the outbox, console and webhook send these
PLATFORM_TARGETS = ("discourse", "mastodon", "discord", "slack", "matrix")
TARGETS = FORMAT_TARGETS + PLATFORM_TARGETS

SETTINGS = {
    "discourse": {"url": "http://127.0.0.1:9", "api_key": "k" * 20, "api_username": "bot",
                  "category": 5},
    "mastodon": {"url": "http://127.0.0.1:9", "access_token": "t" * 20},
    "discord": {"webhook_url": "http://127.0.0.1:9/api/webhooks/1/" + "w" * 20},
    "slack": {"token": "xoxb-" + "s" * 20, "channel": "C0123ABCD"},
    "matrix": {"homeserver": "http://127.0.0.1:9", "access_token": "m" * 20,
               "room": "!room:example.org", "timeout": 5.0},
}  # fmt: skip


def posts_for(target: str, event: Event, directory: MentionDirectory, excerpt: str = "split"):
    """The posts as the adapter would send them: rendered, fitted, made outgoing."""
    if target in FORMAT_TARGETS:
        cls, fmt, platform = poster_class("outbox"), target, None
    else:
        cls = poster_class(target)
        fmt, platform = cls.default_format, cls.platform
    thread = render_thread(event, DAY, fmt, directory, platform)
    destination = Destination("d", cls.name, fmt, excerpt=excerpt)
    channel = Channel(Config(None, None, None, None, {}), destination, cls)
    return outgoing_posts(fit_for(thread, channel), "d")


def make_poster(target: str, settings: dict[str, Any] | None = None):
    cls = poster_class(target)
    settings = cls.validate_settings(settings or SETTINGS[target], "destinations.d", Path("."))
    return cls("d", settings)


def sent_payloads(target: str, posts: list[OutgoingPost], poster=None) -> list[dict[str, Any]]:
    """What each post's request carries, built by the adapter's own body-building code."""
    poster = poster or make_poster(target)
    lead = Published("$lead:example.org" if target == "matrix" else "1")
    payloads = []
    for post in posts:
        if target == "discourse":
            payloads.append({"raw": poster._raw(post)})
        elif target == "mastodon":
            payloads.append({"status": post.body})
        elif target == "discord":
            payloads.append(poster.payload(post))
        elif target == "slack":
            payloads.append({"text": poster._text(post)})
        elif target == "matrix":
            payloads.append(poster.content(post, None if post.is_lead else lead, lead))
    return payloads


# --- the parsers and what they must find -----------------------------------------------------

# Mastodon's Account::MENTION_RE (app/models/account.rb, Mastodon 4.x), which
# ProcessMentionsService#scan_text! runs over the whole status text, URLs included
# (app/services/process_mentions_service.rb): every match is looked up and notified.
#   USERNAME_RE = /[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?/i
#   MENTION_RE  = %r{(?<![=/[:word:]])@((#{USERNAME_RE})(?:@[[:word:].-]+[[:word:]]+)?)}i
# Ruby's [[:word:]] is Unicode (letters, marks, digits, connector punctuation); Python's \w
# takes no marks, so this port finds a mention wherever Mastodon does, and never fewer.
MASTODON_MENTION = re.compile(
    r"(?<![=/\w])@(([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w+)?)", re.IGNORECASE
)
# Discourse's mention rule (discourse-markdown-it's mentions.js, applied to text outside links
# and code): "@" and a username or group name, not after a word character.
DISCOURSE_MENTION = re.compile(r"(?<![\w@`])@(\w[\w.-]*\w|\w)")
# Slack's control sequences: anything between < and > is read as a link, a user, a channel
# or a special mention (https://api.slack.com/reference/surfaces/formatting#escaping).
SLACK_SEQUENCE = re.compile(r"<([^<>]*)>")
# Discord's mention syntax (https://discord.com/developers/docs/reference#message-formatting):
# shown as a pill; who is pinged is decided by allowed_mentions.
DISCORD_MENTION = re.compile(r"(?<!\\)<@[!&]?(\d+)>")
# the legacy push rule .m.rule.roomnotif: "@room" as a word of the body
# (https://spec.matrix.org/v1.11/client-server-api/#default-override-rules)
MATRIX_ROOM = re.compile(r"(?<!\w)@room(?!\w)")
GENERIC_MENTION = re.compile(r"(?<![\w=/])@\w")

MARKDOWN = MarkdownIt("commonmark", {"linkify": True}).enable("linkify")
# the tags and attributes the bundled HTML templates write, nothing else
HTML_TAGS = {"p", "time", "div", "a", "figure", "figcaption", "ol", "ul", "li", "section",
             "blockquote", "footer", "span", "br", "strong"}  # fmt: skip
HTML_ATTRIBUTES = {"class", "href"}


class Findings:
    """What one check found wrong, each with the payload and field that caused it."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, what: str) -> None:
        self.problems.append(what)


def check_links(links: list[tuple[str, str, bool]], curator: set[str], where: str, out):
    """``links``: (href, visible text, written in markup). A link written in markup points at
    a URL field; any other link (an autolink of a bare URL) shows its own address."""
    for href, text, markup in links:
        if markup:
            if address(href) not in curator:
                out.add(f"{where}: a link to {href!r} that is no URL field")
        elif address(href) != address(text) and address(href) != address("http://" + text):
            out.add(f"{where}: an autolink to {href!r} shows {text!r}")


def check_whole_urls(found: set[str], printed: set[str], where: str, out):
    """Each URL field the target prints is one whole link (percent-decoded, as compared)."""
    for url in sorted(printed - found):
        out.add(f"{where}: the URL {url!r} is not one whole link (links: {sorted(found)})")


def markdown_links(text: str) -> tuple[list[tuple[str, str, bool]], list[str], list[str], list]:
    """(links, images, text outside links and code, raw HTML) of Markdown ``text``; a link
    is (href, its visible text, written in markup rather than linkified)."""
    links: list[tuple[str, str, bool]] = []
    images, plain, html_tokens = [], [], []
    for token in MARKDOWN.parse(text):
        if token.type == "html_block":
            html_tokens.append(token.content)
        open_link: list | None = None
        for child in _walk(token.children or []):
            if child.type == "html_inline":
                html_tokens.append(child.content)
            elif child.type == "link_open":
                markup = child.markup not in ("linkify", "autolink")
                open_link = [child.attrGet("href"), "", markup]
            elif child.type == "link_close" and open_link is not None:
                links.append(tuple(open_link))
                open_link = None
            elif child.type == "image":
                images.append(child.attrGet("src"))
                plain.append(child.content)
            elif child.type == "text":
                if open_link is not None:
                    open_link[1] += child.content
                else:
                    plain.append(child.content)
    return links, images, plain, html_tokens


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


class HTMLReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.links: list[list[str]] = []  # [href, text]
        self.text: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag == "a":
            self._open = [dict(attrs).get("href") or "", ""]
            self.links.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open is not None:
            self._open[1] += data


def check_html(
    markup: str, curator: set[str], where: str, out, pills: set[str] = frozenset()
) -> HTMLReader:
    reader = HTMLReader()
    reader.feed(markup)
    reader.close()
    for tag, attrs in reader.tags:
        if tag not in HTML_TAGS:
            out.add(f"{where}: a <{tag}> element")
        for name, value in attrs:
            if name not in HTML_ATTRIBUTES:
                out.add(f"{where}: <{tag} {name}=...>")
            if value and re.match(r"\s*(javascript|data|vbscript):", value, re.IGNORECASE):
                out.add(f"{where}: an active URL {value!r}")
    for href, text in reader.links:
        if href.startswith("https://matrix.to/#/"):
            target = address(href.removeprefix("https://matrix.to/#/"))
            listed = target in pills or address(href) in curator  # a member, or the curator's
            if not listed and ZWSP not in target and target.startswith(("@", "!", "#")):
                out.add(f"{where}: a pill for {target!r}, who is not on the mention list")
            continue
        if address(href) not in curator and address(href) != address(text.strip()):
            out.add(f"{where}: a link to {href!r} showing {text!r}")
    return reader


# --- the check of one rendered case ----------------------------------------------------------


def check_case(target: str, field: str, payload: str, out: Findings) -> None:
    event, directory = case(field, payload)
    where = f"{target} / {field} = {payload!r}"
    try:
        posts = posts_for(target, event, directory)
    except BotError as error:
        # an event that cannot be rendered is refused with one clear line naming the field
        message = str(error)
        if not isinstance(error, InputError) or "\n" in message or "unexpected" in message:
            out.add(f"{where}: refused without one clear line: {message!r}")
        elif field not in URL_FIELDS:
            out.add(f"{where}: a text field refused: {message!r}")
        elif "url" not in message or "apollo" not in message:
            out.add(f"{where}: the refusal names neither the event nor the field: {message!r}")
        return
    if field in URL_FIELDS and payload.split(":", 1)[0].lower() not in ("http", "https"):
        out.add(f"{where}: a URL that is not http(s) was rendered")
    curator = curator_urls(event)
    found: set[str] | None = set()
    if target in FORMAT_TARGETS:
        for post in posts:
            found |= check_format(target, post.body, curator, where, out)
    else:
        for post, sent in zip(posts, sent_payloads(target, posts), strict=True):
            links = CHECKS[target](post, sent, curator, where, out)
            found = None if links is None or found is None else found | links
    if found is not None:
        check_whole_urls(found, printed_urls(event, target), where, out)


def check_format(fmt: str, body: str, curator: set[str], where: str, out) -> set[str]:
    """The outbox, console and webhook send the body as rendered; returns the links in it."""
    if fmt == "html":
        reader = check_html(body, curator, where, out)
        visible = "".join(reader.text)
        found = {address(href) for href, _ in reader.links}
    elif fmt == "markdown":
        visible, found = check_markdown(body, curator, where, out)
    else:
        visible = body
        # whatever reads plain text links bare URLs
        found = {address(m.url) for m in MARKDOWN.linkify.match(body) or []}
    for match in GENERIC_MENTION.finditer(visible):
        out.add(f"{where}: a live mention {visible[match.start() : match.end() + 20]!r}")
    return found


def check_markdown(body: str, curator: set[str], where: str, out) -> tuple[str, set[str]]:
    """(the text outside links and code, the links and images) of a Markdown body."""
    links, images, plain, html_tokens = markdown_links(body)
    for token in html_tokens:
        out.add(f"{where}: raw HTML {token!r}")
    check_links(links, curator, where, out)
    for src in images:
        if address(src) not in curator:
            out.add(f"{where}: an image from {src!r}")
    found = {address(href) for href, _, _ in links} | {address(src) for src in images}
    return "\n".join(plain), found


def check_discourse(post, sent, curator, where, out) -> set[str]:
    visible, found = check_markdown(sent["raw"], curator, where, out)
    for match in DISCOURSE_MENTION.finditer(visible):
        if match.group(1) not in LISTED["discourse"]:
            out.add(f"{where}: discourse mentions @{match.group(1)}")
    return found


def check_mastodon(post, sent, curator, where, out) -> set[str]:
    from bot.posters.mastodon import _urls

    status = sent["status"]
    for match in MASTODON_MENTION.finditer(status):
        if match.group(1) not in LISTED["mastodon"]:
            out.add(f"{where}: mastodon notifies @{match.group(1)}")
    # twitter-text's URL extraction, as Mastodon links a status (the adapter's port of it)
    return {address(status[start:end]) for start, end, _ in _urls(status)}


def check_discord(post, sent, curator, where, out) -> set[str]:
    allowed = sent["allowed_mentions"]
    if allowed.get("parse") != [] or set(allowed) - {"parse", "users"}:
        out.add(f"{where}: allowed_mentions {allowed!r} lets Discord parse mentions")
    if not set(allowed.get("users", [])) <= LISTED["discord"]:
        out.add(f"{where}: allowed_mentions pings {allowed['users']!r}")
    for match in DISCORD_MENTION.finditer(sent["content"]):
        if match.group(1) not in LISTED["discord"]:
            out.add(f"{where}: discord shows a mention of {match.group(0)!r}")
    return check_markdown(sent["content"], curator, where, out)[1]


def check_slack(post, sent, curator, where, out) -> None:
    for match in SLACK_SEQUENCE.finditer(sent["text"]):
        inner = match.group(1)
        if not (inner.startswith("@") and inner[1:] in LISTED["slack"]):
            out.add(f"{where}: a slack control sequence <{inner}>")
    return None  # Slack links bare URLs by rules it does not publish: not checked here


def check_matrix(post, sent, curator, where, out) -> set[str]:
    mentions = sent.get("m.mentions")
    if (
        mentions is None
        or mentions.get("room")
        or not set(mentions["user_ids"]) <= LISTED["matrix"]
    ):
        out.add(f"{where}: m.mentions is {mentions!r}")
    match = MATRIX_ROOM.search(sent["body"])
    if match:
        out.add(f"{where}: the body says @room: {sent['body'][match.start() - 10 : match.end()]!r}")
    if "formatted_body" not in sent:
        return set()
    reader = check_html(sent["formatted_body"], curator, where, out, LISTED["matrix"])
    if MATRIX_ROOM.search("".join(reader.text)):
        out.add(f"{where}: the formatted body says @room")
    return {address(href) for href, _ in reader.links}


CHECKS = {
    "discourse": check_discourse,
    "mastodon": check_mastodon,
    "discord": check_discord,
    "slack": check_slack,
    "matrix": check_matrix,
}


# --- the tests -------------------------------------------------------------------------------


def test_the_corpus_is_large_enough():
    assert len(set(TEXT_PAYLOADS)) == len(TEXT_PAYLOADS) >= 40
    assert len(set(URL_PAYLOADS)) == len(URL_PAYLOADS) >= 30
    assert len(TEXT_FIELDS) + len(URL_FIELDS) == 21


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("field", list(TEXT_FIELDS) + list(URL_FIELDS))
def test_no_payload_notifies_links_or_runs(field, target):
    payloads = TEXT_PAYLOADS if field in TEXT_FIELDS else URL_PAYLOADS + TEXT_PAYLOADS
    out = Findings()
    for payload in payloads:
        check_case(target, field, payload, out)
    assert not out.problems, f"{len(out.problems)} problems:\n" + "\n".join(out.problems[:20])


def test_the_checks_catch_what_they_look_for():
    """Each check, fed the attack it is for, reports it: the corpus cannot pass by reading
    nothing."""
    out = Findings()
    curator = {"https://example.org/x"}
    check_markdown("[Log-in](https://evil.example/login) <b>x</b>", curator, "md", out)
    check_markdown("![p](https://evil.example/p.png)", curator, "md", out)
    check_mastodon(None, {"status": "see https://example.org/?v=1&@victim@mastodon.social"},
                   set(), "mastodon", out)  # fmt: skip
    check_discourse(None, {"raw": "hello @everyone"}, set(), "discourse", out)
    check_discord(None, {"content": "<@222>", "allowed_mentions": {"parse": ["everyone"]}},
                  set(), "discord", out)  # fmt: skip
    check_slack(None, {"text": "<!channel> <https://evil.example|x>"}, set(), "slack", out)
    check_matrix(None, {"body": "hi @room", "m.mentions": {"user_ids": ["@v:evil.example"]},
                        "formatted_body": '<a href="https://matrix.to/#/@v:evil.example">v</a>'
                        '<script>x</script><p onclick="x">'}, set(), "matrix", out)  # fmt: skip
    check_html('<a href="javascript:alert(1)">x</a><img src=x>', set(), "html", out)
    found = check_format("text", "see https://example.org/x)y", curator, "text", out)
    check_whole_urls(found, {"https://example.org/x)y"}, "text", out)
    wanted = [
        "md: a link to 'https://evil.example/login'", "md: raw HTML", "md: an image from",
        "mastodon: mastodon notifies @victim@mastodon.social", "discourse: discourse mentions",
        "discord: allowed_mentions", "discord: discord shows a mention", "slack: a slack control",
        "slack: a slack control sequence <https", "matrix: m.mentions", "matrix: the body says",
        "matrix: a pill for", "matrix: a <script>", "matrix: <p onclick", "html: an active URL",
        "html: a <img>", "text: the URL",
    ]  # fmt: skip
    for start in wanted:
        assert any(p.startswith(start) for p in out.problems), (start, out.problems)


# --- the reported cases, one by one ----------------------------------------------------------


def test_a_mention_hidden_in_a_url_notifies_nobody_on_mastodon():
    event, directory = case("video.url", "https://example.org/watch?v=1&@victim@mastodon.social")
    statuses = "\n".join(p.body for p in posts_for("mastodon", event, directory))
    assert {m.group(1) for m in MASTODON_MENTION.finditer(statuses)} == LISTED["mastodon"]
    assert "https://example.org/watch?v=1&%40victim@mastodon.social" in statuses


@pytest.mark.parametrize("target", ["markdown", "discourse", "discord"])
def test_a_parenthesis_in_a_url_cannot_close_the_link(target):
    url = "https://example.org/x)[Log-in](https://evil.example/login)"
    for field in URL_FIELDS:
        event, directory = case(field, url)
        posts = posts_for(target, event, directory)
        bodies = (
            [p.body for p in posts]
            if target == "markdown"
            else [s.get("raw") or s.get("content") for s in sent_payloads(target, posts)]
        )
        for body in bodies:
            links, images, _, _ = markdown_links(body)
            assert "https://evil.example/login" not in {href for href, _, _ in links}, field
            assert all(address(src) in curator_urls(event) for src in images), images
        assert any(
            "https://example.org/x%29%5BLog-in%5D%28https://evil.example/login%29" in body
            for body in bodies
        ), field


def test_discourse_image_lines_carry_neutralised_captions():
    event, directory = case("image.caption", "@everyone <script>alert(1)</script> [a](b) x|y")
    raw = sent_payloads("discourse", posts_for("discourse", event, directory))[0]["raw"]
    image_line = raw.rsplit("\n\n", 1)[1]
    assert image_line.startswith("![") and image_line.endswith("(https://example.org/aldrin.jpg)")
    assert "@everyone" not in image_line and f"@{ZWSP}everyone" in image_line
    links, images, plain, html_tokens = markdown_links(image_line)
    assert images == ["https://example.org/aldrin.jpg"] and not html_tokens and not links


def test_a_matrix_member_named_at_room_pings_nobody():
    event, directory = case("member.name", "@room")
    posts = posts_for("matrix", event, directory)
    (content,) = sent_payloads("matrix", posts[:1])
    assert content["m.mentions"] == {"user_ids": ["@janedoe:example.org"]}
    assert not MATRIX_ROOM.search(content["body"])
    # the member is still linked, by the name as it is shown
    assert (
        f'<a href="https://matrix.to/#/@janedoe:example.org">@{ZWSP}room</a>'
        in (content["formatted_body"])
    )


def test_the_read_more_link_of_a_cut_post_is_sanitised():
    url = "https://example.org/x)[Log-in](https://evil.example/login)"
    event, directory = case("background.url", url)
    _block(event.parts, "background")["excerpt"] = "A sentence of the excerpt. " * 300
    for target in ("discord", "mastodon"):
        posts = posts_for(target, event, directory, excerpt="truncate")
        read_more = [p.body for p in posts if "Read more:" in p.body]
        assert read_more, target
        for body in read_more:
            links, _, _, _ = markdown_links(body)
            assert "https://evil.example/login" not in {href for href, _, _ in links}
            assert "Read more: https://example.org/x%29%5BLog-in%5D%28" in body


# --- through the adapters' own publish, against a local server -------------------------------


class CatchAll:
    """A local server that answers every adapter's post the way its platform does, so that
    ``publish`` runs as it does in production and the request bodies can be read back. Each
    answer carries what the adapter reads from it: Discord's message (with ``wait=true``,
    https://discord.com/developers/docs/resources/webhook#execute-webhook), Slack's
    ``{"ok": true, "ts"}`` (https://api.slack.com/methods/chat.postMessage), Mastodon's status
    (https://docs.joinmastodon.org/methods/statuses/#create), Discourse's post
    (https://docs.discourse.org/#tag/Posts/operation/createTopicPostPM) and Matrix's
    ``event_id`` (https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid).
    """

    def __init__(self) -> None:
        self.server = LocalServer(self._handle)

    def _handle(self, request: Recorded):
        if request.method == "GET":
            return 200, {}, {"id": "1", "guild_id": "3", "name": "hook", "channel_id": "2"}
        return 200, {}, {
            "id": "10", "channel_id": "2", "url": "http://127.0.0.1/s/10",  # discord, mastodon
            "ok": True, "ts": "1700000000.000100", "channel": "C0123ABCD",  # slack
            "topic_id": 7, "post_number": 1, "topic_slug": "t",  # discourse
            "event_id": "$e:example.org",  # matrix
        }  # fmt: skip


@pytest.fixture(scope="module")
def catch_all():
    fake = CatchAll()
    with fake.server:
        yield fake.server


def _settings_for(target: str, url: str) -> dict[str, Any]:
    settings = dict(SETTINGS[target])
    key = {"discourse": "url", "mastodon": "url", "matrix": "homeserver", "slack": "api_url",
           "discord": "webhook_url"}[target]  # fmt: skip
    settings[key] = url + ("/api/webhooks/1/" + "w" * 20 if target == "discord" else "")
    return settings


@pytest.mark.parametrize("target", PLATFORM_TARGETS)
def test_publish_sends_what_the_checks_read(target, catch_all, monkeypatch):
    """The body builders the corpus reads are what ``publish`` sends."""
    if target == "mastodon":
        from bot.posters import mastodon

        monkeypatch.setattr(mastodon.MastodonPoster, "_upload_images", lambda self, post: [])
    poster = make_poster(target, _settings_for(target, catch_all.url))
    out = Findings()
    for field, payload in [
        ("video.url", "https://example.org/watch?v=1&@victim@mastodon.social"),
        ("link.url", "https://example.org/x)[Log-in](https://evil.example/login)"),
        ("image.caption", "@everyone <script>alert(1)</script>"),
        ("member.name", "@room"),
    ]:
        event, directory = case(field, payload)
        posts = posts_for(target, event, directory)
        before = len(catch_all.requests)
        lead = previous = None
        for post in posts:
            published = poster.publish(post, lead, previous)
            lead, previous = lead or published, published
        sent = [
            r.json()
            for r in catch_all.requests[before:]
            if r.method in ("POST", "PUT") and r.body[:1] == b"{"
        ]
        expected = sent_payloads(target, posts, poster)
        key = {"discourse": "raw", "mastodon": "status", "discord": "content", "slack": "text",
               "matrix": "body"}[target]  # fmt: skip
        assert [s[key] for s in sent] == [e[key] for e in expected]
        if target == "slack":
            assert all(s["link_names"] is False for s in sent)
        if target == "discord":
            assert [s["allowed_mentions"] for s in sent] == [
                e["allowed_mentions"] for e in expected
            ]
        if target == "matrix":
            assert [s["m.mentions"] for s in sent] == [e["m.mentions"] for e in expected]
        where = f"{target} publish / {field} = {payload!r}"
        for post, payload_sent in zip(posts, sent, strict=True):
            CHECKS[target](post, payload_sent, curator_urls(event), where, out)
    assert not out.problems, "\n".join(out.problems)
    poster.close()


# --- what the import refuses -----------------------------------------------------------------


@pytest.mark.parametrize("payload", URL_PAYLOADS)
def test_a_url_the_import_takes_renders_and_one_it_refuses_is_one_line(payload, tmp_path):
    from bot.events.loader import load_files

    path = tmp_path / "event.json"
    event = {
        "date": "1969-07-20",
        "title": "Apollo 11 lands on the Moon",
        "lead": "Neil Armstrong walked on the Moon.",
        "parts": [{"blocks": [{"type": "video", "url": payload}]}],
    }
    path.write_text(json.dumps({"events": [event]}), encoding="utf-8")
    try:
        batch = load_files([path])
    except InputError as error:
        message = str(error)
        assert "\n" not in message and "unexpected" not in message, message
        assert str(path) in message and "url" in message, message
        return
    (loaded,) = batch.events
    for target in TARGETS:
        posts_for(target, loaded, MentionDirectory())


# --- the sanitiser on its own ----------------------------------------------------------------


def test_ordinary_urls_print_as_written(sample_store):
    from bot.urls import safe_url

    plain = re.compile(r"^https?://[A-Za-z0-9.-]+(?:/[A-Za-z0-9/_.~%?&=+,-]*[A-Za-z0-9/_=-])?$")
    urls = [url for event in sample_store.iter_events() for _, url in event_urls(event)]
    ordinary = [url for url in urls if plain.match(url)]
    assert len(ordinary) > 300  # the bundled events' links, nearly all of them
    assert [safe_url(url) for url in ordinary] == ordinary
    assert safe_url("https://mastodon.social/@Gargron") == "https://mastodon.social/@Gargron"
    assert safe_url("https://de.wikipedia.org/wiki/Köln") == "https://de.wikipedia.org/wiki/Köln"
    assert safe_url("http://[::1]:8080/a?b=c#d") == "http://[::1]:8080/a?b=c#d"


@pytest.mark.parametrize(
    ("url", "printed"),
    [
        ("https://x.org/watch?v=1&@victim@mastodon.social",
         "https://x.org/watch?v=1&%40victim@mastodon.social"),
        ("https://x.org/a(@v@m.social)", "https://x.org/a%28%40v@m.social%29"),
        ("https://x.org/a,@v@m.social", "https://x.org/a,%40v@m.social"),
        ("https://x.org/x)[Log-in](https://evil.example/login)",
         "https://x.org/x%29%5BLog-in%5D%28https://evil.example/login%29"),
        ('https://x.org/<!channel>|"a"', "https://x.org/%3C!channel%3E%7C%22a%22"),
        ("https://x.org/a\\`b`{c}^", "https://x.org/a%5C%60b%60%7Bc%7D%5E"),
        ("https://x.org/a b\n@c", "https://x.org/a%20b%0A%40c"),
        ("https://x.org/\u202egpj.exe\u200b", "https://x.org/%E2%80%AEgpj.exe%E2%80%8B"),
        ("https://x.org/＠v", "https://x.org/%EF%BC%A0v"),
        ("https://bank.example@evil.example/login", "https://evil.example/login"),
        ("https://x.org](https://evil.example/x)", "https://x.org%5D%28https://evil.example/x%29"),
        ("https://en.wikipedia.org/wiki/Washington,_D.C.",
         "https://en.wikipedia.org/wiki/Washington,_D.C%2E"),
        ("https://x.org/a?b=@c", "https://x.org/a?b=@c"),
    ],
)  # fmt: skip
def test_markup_characters_are_percent_encoded(url, printed):
    from bot.urls import safe_url

    assert safe_url(url) == printed
    assert safe_url(printed) == printed  # printing twice changes nothing


def test_a_url_that_cannot_be_a_link_is_refused_naming_event_and_field():
    event, directory = case("link.url", "javascript:alert(1)")
    with pytest.raises(InputError) as refused:
        render_thread(event, DAY, "markdown", directory)
    assert str(refused.value) == (
        "event apollo: parts[0].blocks[5].links[0].url: not an http(s) URL: "
        "'javascript:alert(1)': fix the event and import it again"
    )
