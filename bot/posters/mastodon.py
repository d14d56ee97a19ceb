"""``mastodon``: posts a thread as a chain of statuses, each a reply to the one before it.

- ``POST /api/v1/statuses`` (JSON) with ``status``, ``visibility``, ``in_reply_to_id`` (the
  previous post of the thread: the thread is a chain of replies to the bot's own statuses) and,
  for a sensitive event, ``spoiler_text`` (a content warning) and ``sensitive``.
- Every status carries an ``Idempotency-Key`` derived from the post's key (``idempotency_key``:
  a SHA-256, never random). Mastodon keeps that key for exactly an hour from the status it made
  (``PostStatusService``: ``redis.setex(..., 3_600, ...)``) and answers a repeat with that
  status, so a post left "sending" by a crash is simply sent again within ``resend_window``
  (no lookup is needed: ``can_find`` is False; Mastodon has no search by a client-chosen id).
  The window is the hour less ``RESEND_MARGIN``: a resend uploads its images again before the
  status, and the status must still arrive inside the hour.
- Images with a local ``file`` are uploaded first (``POST /api/v2/media`` with the caption as
  the description). Mastodon may answer 202 and process them in the background; a status that
  names an unprocessed attachment is refused, so the adapter polls ``GET /api/v1/media/{id}``
  until the attachment has a URL (as Mastodon.py's ``media_post(synchronous=True)`` does), for
  at most ``media_timeout`` seconds an image and ``media_budget`` a status. An image Mastodon
  cannot process (422 or 500 on upload; 422 "Error processing thumbnail" while polling:
  ``Api::V1::MediaController#check_processing``) is left out with a warning, as an unreadable
  file is: the text still goes out.
- Limits come from ``GET /api/v2/instance`` (``load_limits``), defaults otherwise.

``count_length`` counts a status as Mastodon's ``StatusLengthValidator`` does; the core's
fitting uses the same rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import logging
import mimetypes
import re
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import clock
from bot.posters.base import (
    Capabilities,
    HandleFormat,
    Outcome,
    OutgoingPost,
    Poster,
    PostError,
    Published,
    platform_rule,
)
from bot.secrets_filter import safe_host

if TYPE_CHECKING:
    from bot.http import PlatformHTTP

log = logging.getLogger("bot.posters.mastodon")

VISIBILITIES = ("public", "unlisted", "private", "direct")
DEFAULT_MAX_MEDIA = 4
MAX_DESCRIPTION = 1500  # MediaAttachment::MAX_DESCRIPTION_LENGTH: a longer caption is refused
# Mastodon keeps an Idempotency-Key this long (app/services/post_status_service.rb: the key's
# redis entry is set with a 3,600 s expiry when the status is made)
IDEMPOTENCY_KEY_LIFETIME = 3600.0
# A resend decided at the end of the window uploads its images again before the status: up to
# media_budget (240 s) of processing, plus the HTTP layer's waits (a Retry-After up to 120 s,
# backoff). Ten minutes covers that with room, as Matrix keeps ten minutes under its shortest
# transaction-id lifetime.
RESEND_MARGIN = 600.0
# content warnings, longest first: the first that fits in the limit with the body is used
# (spoiler_text counts toward the status's limit, and the body was fitted without it)
GENERIC_WARNING = "Sensitive history"
SHORTEST_WARNING = "CW"


# --- counting as Mastodon counts -----------------------------------------------------------
#
# StatusLengthValidator: strip the text, replace every URL twitter-text extracts (with a
# protocol) by 23 characters and every mention by "@" + its local part, then count grapheme
# clusters of spoiler_text + that text. The expressions below are twitter-text's as Mastodon
# amends them (config/initializers/twitter_regex.rb, Account::MENTION_RE), in Python's syntax.

_RUBY_WHITESPACE = " \t\n\v\f\r\0"  # what Ruby's String#strip removes (Status#prepare_contents)

# twitter-text's DOMAIN_VALID_CHARS: not ASCII punctuation, space, control, invalid, or a
# Unicode space
_DOMAIN_CHAR = (
    r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f\x85\xa0\u1680\u180e\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000\ufffe\ufeff\uffff]"
)
_SUBDOMAIN = rf"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
_DOMAIN_NAME = rf"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
# twitter-text accepts a top-level domain from its list (or punycode), not followed by a
# letter, digit, "@", "+" or "-". Any run of letters stands in for the list here: the two agree
# for every real domain; a URL under a name no registry knows is counted as 23 here but letter
# by letter by Mastodon.
_TLD = r"(?:(?:[^\W\d_]{2,63})(?=[^0-9a-z@+-]|$)|xn--[0-9a-z]+)"
_DOMAIN = rf"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}{_TLD})"
# Ruby's \p{White_Space} (Python's \s also takes \x1c-\x1f)
_SPACE = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PATH_CHAR = rf"[^{_SPACE}<>()?]"
_BALANCED = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"(?:[^{_SPACE}()?!*\"'「」<>;:=,.$%\[\]~&|@]|{_BALANCED})"
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_BALANCED}{_PATH_CHAR}*)*{_PATH_END})|(?:{_PATH_CHAR}+/))"
_UCHARS = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_QUERY_CHAR = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]"
_QUERY_END = rf"[a-z0-9_&=#/\-{_UCHARS}]"
# the character before a URL is part of the match, as in Ruby's scan
_BEFORE = r"(?:[^A-Z0-9@＠$#＃\ufffe\ufeff\uffff]|[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|^)"


@functools.cache
def _url_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A URL as twitter-text finds it, and a t.co link: compiled when a length is first counted
    (~40 ms: case-insensitive classes over most of Unicode), not by every command that merely
    reads a config naming a Mastodon destination."""
    url = re.compile(
        rf"{_BEFORE}(?P<url>(?P<protocol>(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?"
        rf"(?P<domain>{_DOMAIN})(?::[0-9]+)?(?:/{_PATH}*)?(?:\?{_QUERY_CHAR}*{_QUERY_END})?)",
        re.IGNORECASE | re.MULTILINE,
    )
    tco = re.compile(
        rf"^https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE
    )
    return url, tco


_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40
# Account::MENTION_RE: "@user" or "@user@domain", not after "=", "/" or a word character
_MENTION = re.compile(
    r"(?<![=/\w])@(?P<name>(?P<local>(?i:[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*))(?:@\w+(?:[.-]+\w+)*)?)"
)
# twitter-text's end_mention_match: what may not follow a mention
_MENTION_END = re.compile(
    "[@＠\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259"
    "\u025b\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff]|://"
)


_ASCII_SPACE = "\t\n\v\f\r "


def _words_with_protocol(text: str) -> list[tuple[int, int]]:
    """The runs of text between ASCII spaces that hold "://", each with the character before
    it: no URL match can cross an ASCII space, and only a match with a protocol counts, so
    scanning these alone finds what scanning the whole text finds, much faster."""
    spans = []
    index = text.find("://")
    while index != -1:
        start, end = index, index + 3
        while start > 0 and text[start - 1] not in _ASCII_SPACE:
            start -= 1
        while end < len(text) and text[end] not in _ASCII_SPACE:
            end += 1
        spans.append((max(start - 1, 0), end))
        index = text.find("://", end)
    return spans


def _urls(text: str) -> list[tuple[int, int, str]]:
    """twitter-text's extract_urls_with_indices(text, extract_url_without_protocol: false)."""
    found = []
    url_pattern, tco_pattern = _url_patterns()
    matches = (m for s, e in _words_with_protocol(text) for m in url_pattern.finditer(text, s, e))
    for match in matches:
        if not match["protocol"]:
            continue  # matched (and consumed) but not a link without its protocol
        url, start, end = match["url"], match.start("url"), match.end("url")
        tco = tco_pattern.match(url)
        if tco:
            if len(tco[1]) > _MAX_TCO_SLUG:
                continue
            url, end = tco[0], start + len(tco[0])
        domain = match["domain"]
        try:
            ascii_length = len(domain.encode("idna"))
        except UnicodeError:
            continue  # libidn refuses it, so Mastodon does not link it
        if len(url) + max(0, ascii_length - len(domain)) > _MAX_URL_LENGTH:
            continue
        found.append((start, end, "url"))
    return found


def _mentions(text: str) -> list[tuple[int, int, str]]:
    """Mastodon's Extractor.extract_mentions_or_lists_with_indices."""
    if "@" not in text and "＠" not in text:
        return []
    found = []
    for match in _MENTION.finditer(text):
        if _MENTION_END.match(text, match.end()):
            continue
        found.append((match.start(), match.end(), "@" + match["local"]))
    return found


def countable_text(text: str, url_length: int = 23) -> str:
    """``text`` as Mastodon measures it: URLs as ``url_length`` characters, mentions as
    their local part. Where a URL and a mention overlap, the one that starts first counts."""
    entities = sorted(_urls(text) + _mentions(text), key=lambda entity: entity[0])
    pieces, position = [], 0
    for start, end, replacement in entities:
        if start < position:
            continue  # twitter-text's remove_overlapping_entities
        pieces.append(text[position:start])
        pieces.append("x" * url_length if replacement == "url" else replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def count_length(text: str, url_length: int = 23) -> int:
    """Characters in a status as Mastodon counts them toward ``max_characters``.

    Every URL with a protocol counts ``url_length`` (the instance's
    ``characters_reserved_per_url``), a mention counts its local part ("@jane@example.social"
    is 5), leading and trailing whitespace does not count, and a character is a grapheme
    cluster (an accented letter or an emoji sequence is one). A content warning counts too:
    add ``count_graphemes(spoiler_text)``.
    """
    return count_graphemes(countable_text(text.strip(_RUBY_WHITESPACE), url_length))


# --- grapheme clusters (Unicode's extended grapheme cluster rules, as Ruby counts them) ------
#
# Python has no grapheme segmentation in its standard library. The rules that matter for text
# are implemented: CR LF, controls, combining marks, spacing marks, zero-width joiner sequences
# of emoji, emoji modifiers, flags (regional indicator pairs) and Hangul jamo. Where this is
# unsure it splits, so it never counts fewer characters than Mastodon does.

_CR, _LF, _CONTROL, _EXTEND, _ZWJ, _RI, _SPACING, _L, _V, _T, _LV, _LVT, _PICT, _OTHER = range(14)

# Extended_Pictographic (emoji-data.txt) outside the Supplementary Multilingual emoji blocks
_PICTOGRAPHIC_BMP = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
    (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712), (0x2714, 0x2714),
    (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721), (0x2728, 0x2728), (0x2733, 0x2734),
    (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755),
    (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
    (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
    (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
)  # fmt: skip
_PICTOGRAPHIC_SMP = (
    (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)  # fmt: skip
# Cf characters that are not Control for grapheme breaking (they are Extend or Prepend)
_FORMAT_NOT_CONTROL = {0x200C, 0x200D, 0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605,
                       0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}  # fmt: skip


def _in(ranges: tuple[tuple[int, int], ...], cp: int) -> bool:
    return any(low <= cp <= high for low, high in ranges)


@functools.lru_cache(maxsize=8192)
def _break_class(char: str) -> int:
    cp = ord(char)
    if char == "\r":
        return _CR
    if char == "\n":
        return _LF
    if cp == 0x200D:
        return _ZWJ
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _RI
    if 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F or cp in (0x200C, 0xFF9E, 0xFF9F):
        return _EXTEND  # emoji modifiers, tag characters, ZWNJ, halfwidth sound marks
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if 0xAC00 <= cp <= 0xD7A3:
        return _LV if (cp - 0xAC00) % 28 == 0 else _LVT
    category = unicodedata.category(char)
    if category in ("Mn", "Me"):
        return _EXTEND
    if category == "Mc" or cp in (0x0E33, 0x0EB3):
        return _SPACING
    if category in ("Cc", "Zl", "Zp") or (category == "Cf" and cp not in _FORMAT_NOT_CONTROL):
        return _CONTROL
    if (cp < 0x10000 and _in(_PICTOGRAPHIC_BMP, cp)) or _in(_PICTOGRAPHIC_SMP, cp):
        return _PICT
    return _OTHER


# the classes that can join a character to the one before it (all but CR LF, which is counted
# apart): a text without any of them has one cluster per character
_JOINING = frozenset({_EXTEND, _ZWJ, _SPACING, _RI, _L, _V, _T, _LV, _LVT})


def count_graphemes(text: str) -> int:
    """Extended grapheme clusters in ``text`` (Ruby's ``each_grapheme_cluster.size``)."""
    if text.isascii() or not any(_break_class(c) in _JOINING for c in set(text)):
        # the fitting counts often (10,000 mentions: thousands of posts): the common cases
        return len(text) - text.count("\r\n")
    count = 0
    previous = None
    regional = 0  # regional indicators in a row: a flag is a pair
    emoji_zwj = False  # GB11: after Extended_Pictographic Extend* ZWJ
    pictographic = False  # the cluster so far is Extended_Pictographic Extend*
    for char in text:
        current = _break_class(char)
        if previous is None:
            joined = False
        elif previous == _CR and current == _LF:
            joined = True  # GB3
        elif previous in (_CR, _LF, _CONTROL) or current in (_CR, _LF, _CONTROL):
            joined = False  # GB4, GB5
        elif previous == _L and current in (_L, _V, _LV, _LVT):
            joined = True  # GB6
        elif previous in (_LV, _V) and current in (_V, _T):
            joined = True  # GB7
        elif previous in (_LVT, _T) and current == _T:
            joined = True  # GB8
        elif current in (_EXTEND, _ZWJ, _SPACING):
            joined = True  # GB9, GB9a
        elif previous == _ZWJ and current == _PICT and emoji_zwj:
            joined = True  # GB11
        elif previous == _RI and current == _RI and regional % 2 == 1:
            joined = True  # GB12, GB13
        else:
            joined = False
        if not joined:
            count += 1
        regional = regional + 1 if current == _RI else 0
        emoji_zwj = current == _ZWJ and pictographic
        if current == _PICT:
            pictographic = True
        elif current != _EXTEND:
            pictographic = False
        previous = current
    return count


def status_length(text: str, spoiler_text: str = "", url_length: int = 23) -> int:
    """What Mastodon compares with ``max_characters``: the content warning (as written) and
    the text (URLs and mentions shortened) together."""
    spoiler = spoiler_text.strip(_RUBY_WHITESPACE)
    return count_graphemes(spoiler + countable_text(text.strip(_RUBY_WHITESPACE), url_length))


def idempotency_key(post_key: str) -> str:
    """The ``Idempotency-Key`` of a post: derived from the post's own key, never random, so a
    re-send of the same post is recognised by the server as a repeat."""
    return hashlib.sha256(f"anniversary-bot:{post_key}".encode()).hexdigest()


# --- config --------------------------------------------------------------------------------


def _settings_model() -> type:
    # built on first use, so that importing the adapter (for its capabilities) does not
    # import pydantic
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, field_validator

    class MastodonSettings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str  # the instance, e.g. https://mastodon.social
        access_token: str = Field(min_length=1)
        visibility: Literal["public", "unlisted", "private", "direct"] = "public"

        @field_validator("url")
        @classmethod
        def _instance_address(cls, value: str) -> str:
            # Mastodon serves its API at the root of its domain: a path here is a mistake
            if not re.fullmatch(r"https?://[^\s/?#]+/?", value):
                raise ValueError(
                    f"expected the instance's address, such as https://mastodon.social, "
                    f"got {value!r}"
                )
            return value.rstrip("/")

    return MastodonSettings


_models: dict[str, type] = {}


def __getattr__(name: str) -> Any:
    if name == "MastodonSettings":
        if name not in _models:
            _models[name] = _settings_model()
        return _models[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the adapter ---------------------------------------------------------------------------


class MastodonPoster(Poster):
    name = "mastodon"
    description = "posts each thread as a chain of replies on a Mastodon instance"
    platform = "mastodon"
    formats = ("text",)
    default_format = "text"
    capabilities = Capabilities(
        max_length=500,
        url_length=23,
        # Mastodon itself sets no cap, but every mention is a notification, and servers that
        # receive the status count its recipients: Pleroma/Akkoma's hellthread policy delists a
        # post addressed to more than 10 (public + followers + mentions) and rejects one over 20;
        # Misskey refuses a note with over 20 mentions. Public + followers + 8 mentions = 10.
        max_mentions=8,
        replies=True,
        titles=False,
        images=True,
        mention_syntax="{handle}",  # handles are "@user@instance"
    )
    # each status lands in followers' home timelines: a long thread floods them
    max_posts_per_thread = 5
    # a mention is the whole address, so that it reaches a member on any instance
    handle_format = HandleFormat(
        r"@[A-Za-z0-9_]{1,30}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        "@user@instance.example",
        "@jane@social.example",
    )
    secret_settings = ("access_token",)
    can_find = False
    resend_window = IDEMPOTENCY_KEY_LIFETIME - RESEND_MARGIN
    Settings = "bot.posters.mastodon:MastodonSettings"

    media_timeout = 60.0  # seconds to wait for an uploaded image to be processed
    media_budget = 240.0  # seconds to wait for all the images of one status (RESEND_MARGIN)
    media_poll_interval = 1.0  # first wait between polls; doubles up to 5 s

    @platform_rule
    def length(self, text: str) -> int:
        # URLs as the instance's characters_reserved_per_url (load_limits reads it)
        return count_length(text, self.capabilities.url_length or 23)

    def __init__(
        self,
        destination: str,
        settings: dict[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = clock.now,
    ) -> None:
        super().__init__(destination, settings)
        self.base_url = settings["url"].rstrip("/")
        self.host = safe_host(self.base_url)  # for messages: never a user:password@ in the URL
        self.clock, self.sleep, self.now = clock, sleep, now
        self.max_media = DEFAULT_MAX_MEDIA

    @functools.cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        # a status is safe to send again after a timed-out read: the Idempotency-Key makes the
        # server return the status it already created instead of a second one (a media upload
        # sent twice only leaves an unattached file, which Mastodon deletes after a day)
        http = PlatformHTTP("mastodon", retry_reads=True)
        for adapter in {http.session.get_adapter(p) for p in ("http://", "https://")}:
            # Mastodon's 429 carries X-RateLimit-Reset (a time, often minutes away), not
            # Retry-After: retrying it at once only spends more of the limit. A 429 with
            # Retry-After is still waited for by the shared policy.
            retry = adapter.max_retries  # type: ignore[attr-defined]  # an HTTPAdapter
            adapter.max_retries = retry.new(  # type: ignore[attr-defined]
                status_forcelist=tuple(s for s in retry.status_forcelist if s != 429)
            )
        return http

    # --- limits and credentials

    def load_limits(self) -> None:
        """Read the instance's limits: a server may allow far more than 500 characters."""
        try:
            statuses = self._instance_limits()
            updates: dict[str, Any] = {}
            max_characters = _positive_int(statuses.get("max_characters"))
            if max_characters:
                updates["max_length"] = max_characters
            per_url = statuses.get("characters_reserved_per_url")
            if isinstance(per_url, int) and not isinstance(per_url, bool) and per_url >= 0:
                updates["url_length"] = per_url
            max_media = statuses.get("max_media_attachments")
            if isinstance(max_media, int) and not isinstance(max_media, bool) and max_media >= 0:
                self.max_media = max_media
                updates["images"] = max_media > 0
            self.capabilities = dataclasses.replace(type(self).capabilities, **updates)
        except Exception as error:  # limits are an optimisation: the defaults are safe
            log.info(
                "%s: keeping the default limits (%s characters, URLs as %s): could not read "
                "them from %s: %s",
                self.destination,
                type(self).capabilities.max_length,
                type(self).capabilities.url_length,
                self.host,
                error,
            )

    def _instance_limits(self) -> dict[str, Any]:
        try:
            data = self._request("GET", "/api/v2/instance", auth=False).json()
            return data["configuration"]["statuses"]
        except PostError as error:
            if error.status != 404:
                raise
        # before Mastodon 4.0, and some compatible servers, only have v1
        data = self._request("GET", "/api/v1/instance", auth=False).json()
        statuses = dict((data.get("configuration") or {}).get("statuses") or {})
        statuses.setdefault("max_characters", data.get("max_toot_chars"))
        return statuses

    def check(self) -> str:
        try:
            account = self._request("GET", "/api/v1/accounts/verify_credentials").json()
        except PostError as error:
            if error.status == 403:
                return (
                    f"token accepted by {self.host}, but it may not read its own account "
                    "(scope read:accounts or profile), so the account is not shown; posting "
                    "needs write:statuses and write:media"
                )
            raise
        acct = account.get("acct") or account.get("username") or "?"
        where = f" ({account['url']})" if account.get("url") else ""
        return (
            f"token accepted by {self.host}: posts as @{acct}{where}, "
            f"visibility {self.settings.get('visibility', 'public')}"
        )

    # --- publishing

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        payload: dict[str, Any] = {
            "status": post.body,
            "visibility": self.settings.get("visibility", "public"),
        }
        if previous is not None:
            payload["in_reply_to_id"] = previous.remote_id
        if post.sensitive:
            payload["spoiler_text"] = self.content_warning(post)
            payload["sensitive"] = True
        media_ids = self._upload_images(post)
        if media_ids:
            payload["media_ids"] = media_ids
        response = self._request(
            "POST",
            "/api/v1/statuses",
            json=payload,
            headers={"Idempotency-Key": idempotency_key(post.key)},
            reply_to=payload.get("in_reply_to_id"),
        )
        try:
            status = response.json()
            return Published(remote_id=str(status["id"]), url=status.get("url"))
        except (ValueError, KeyError, TypeError):
            # the status was created, but its id is unknown, so the next post could not reply
            # to it: failing (retryable) is safe, the Idempotency-Key returns the same status
            raise PostError(
                f"mastodon ({self.host}) accepted post {post.number} but answered without a "
                "status id",
                retryable=True,
                outcome=Outcome.UNKNOWN,
            ) from None

    def content_warning(self, post: OutgoingPost) -> str:
        """The spoiler_text of a sensitive post: names the event on the lead, and is shorter
        where the body leaves less room (a content warning counts toward the limit)."""
        caps = self.capabilities
        candidates = [GENERIC_WARNING, SHORTEST_WARNING]
        if post.title:
            candidates.insert(0, f"Content warning: {post.title}")
        if caps.max_length is None:
            return candidates[0]
        url_length = caps.url_length if caps.url_length is not None else 23
        for warning in candidates:
            if status_length(post.body, warning, url_length) <= caps.max_length:
                return warning
        raise PostError(
            f"post {post.number} is sensitive, but its text "
            f"({count_length(post.body, url_length)} characters) leaves no room within "
            f"{caps.max_length} for a content warning, and it is never posted without one",
            retryable=False,
        )

    def _upload_images(self, post: OutgoingPost) -> list[str]:
        if not self.capabilities.images:
            return []
        from bot.local_files import ImageFileError, read_image

        readable = []
        for image in post.images:
            if not image.get("file"):
                continue  # only linked: nothing to upload
            try:
                # checked again as it is read: a file swapped since import is not uploaded
                checked = read_image(image["file"])
            except ImageFileError as error:
                # the text still goes out: an image is an illustration, not the post
                name = Path(image["file"]).name
                log.warning("%s: image %s left out: %s", self.destination, name, error)
                continue
            readable.append((checked.name, checked.content, str(image.get("caption") or "")))
        if len(readable) > self.max_media:
            log.warning(
                "%s: post %s has %d images to upload; %s takes %d per status: the rest are left "
                "out",
                self.destination, post.key, len(readable), self.host, self.max_media,
            )  # fmt: skip
        deadline = self.clock() + self.media_budget
        uploaded = (self._upload(*image, deadline) for image in readable[: self.max_media])
        return [media_id for media_id in uploaded if media_id is not None]

    def _upload(self, filename: str, content: bytes, caption: str, deadline: float) -> str | None:
        """The media id of the processed image, or None when Mastodon could not process it
        (the status goes out without it, with a warning)."""
        try:
            return self._upload_and_wait(filename, content, caption, deadline)
        except PostError as error:
            # 422: the file type could not be verified, or processing failed (polling); 500:
            # processing failed during the upload (Api::V2::MediaController#create)
            if error.status not in (422, 500):
                raise
            log.warning(
                "%s: image %s left out: %s could not process it (%s)",
                self.destination, filename, self.host, error,
            )  # fmt: skip
            return None

    def _upload_and_wait(
        self, filename: str, content: bytes, caption: str, post_deadline: float
    ) -> str:
        from bot.neutralise import neutralise_at

        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        # the alt text is event text like any other: "@name" in it stays a word
        caption = neutralise_at(caption)
        if len(caption) > MAX_DESCRIPTION:
            caption = caption[: MAX_DESCRIPTION - 1].rstrip() + "…"
        response = self._request(
            "POST",
            "/api/v2/media",
            files={"file": (filename, content, mime)},
            data={"description": caption},
        )
        media = response.json()
        media_id = str(media["id"])
        # 200 with a URL: processed already; 202 (url null): processed in the background
        if response.status_code == 200 and media.get("url"):
            return media_id
        deadline = min(self.clock() + self.media_timeout, post_deadline)
        started = self.clock()
        delay = self.media_poll_interval
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise PostError(
                    f"mastodon ({self.host}): the image {filename} was still being processed "
                    f"after {self.clock() - started:.0f} s",
                    retryable=True,
                )
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
            response = self._request("GET", f"/api/v1/media/{media_id}")
            # 206 (url null) while processing, 200 with the URL when done
            if response.status_code == 200 and response.json().get("url"):
                return media_id

    # --- HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        reply_to: str | None = None,
        **kwargs: Any,
    ):
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = f"Bearer {self.settings['access_token']}"
        try:
            return self.http.request(method, self.base_url + path, headers=headers, **kwargs)
        except PostError as error:
            reset = (
                error.response.headers.get("X-RateLimit-Reset")
                if error.response is not None
                else None
            )
            raise self._explain(error, reset, reply_to) from None

    def _explain(self, error: PostError, reset: str | None, reply_to: str | None) -> PostError:
        """The shared error, said for Mastodon where the status says more."""
        if error.status == 401:
            return PostError(
                f"mastodon ({self.host}) refused the access token (401): check the "
                "destination's access_token (revoked, or made on another instance?)",
                retryable=False,
                status=401,
            )
        if error.status == 403:
            return PostError(
                f"{error}: the token needs the scopes write:statuses and write:media",
                retryable=False,
                status=403,
            )
        if error.status == 404 and reply_to is not None:
            return PostError(
                f"{error}: the status this post replies to ({reply_to}) is not on {self.host} "
                "any more (deleted?)",
                retryable=False,
                status=404,
            )
        if error.status == 429 and error.retry_after is None and reset:
            return PostError(
                str(error), retryable=True, status=429, retry_after=self._seconds_until(reset)
            )
        return error

    def _seconds_until(self, reset: str) -> float | None:
        try:
            when = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(1.0, (when - self.now()).total_seconds())

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
