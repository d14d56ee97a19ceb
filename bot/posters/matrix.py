"""``matrix``: posts to a Matrix room through the client-server API (any homeserver: Synapse,
Dendrite, Conduit...). The lead is a room message; every further post is a reply in its thread
(``m.thread`` on the lead, ``m.in_reply_to`` the post before it).

Each message carries the plain text as ``body`` and an HTML rendition as ``formatted_body``
(line breaks, links, and a ``https://matrix.to`` pill for each mentioned member with a
``matrix`` handle). Who is notified is said explicitly in ``m.mentions``: a post pings exactly
the members it lists, never someone whose name happens to be in the text, and never @room.

Sending is idempotent: the transaction id in the send path is derived from the post's key, so
the homeserver answers a repeat with the event it already made (Synapse: for at least 30 min
in memory, and 24 h in its database for a token with a device). Each event also carries the
key in ``content["org.anniversary_bot.key"]``, which ``find`` looks for in the thread (replies)
or among the bot's recent messages (the lead): a post left "sending" by a crash is found, not
sent twice, however long ago it was.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from bot.model import Member
from bot.neutralise import neutralise_at
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
from bot.secrets_filter import safe_host, shorten

if TYPE_CHECKING:
    from bot.http import PlatformHTTP

log = logging.getLogger("bot.posters.matrix")

# The key of each post, in the event content (custom namespaced keys are allowed by the spec):
# how ``find`` recognises the bot's own post after a crash.
KEY_FIELD = "org.anniversary_bot.key"

# A homeserver refuses an event whose whole PDU, as canonical JSON in UTF-8, is over 65,536
# bytes (Synapse: M_TOO_LARGE). The PDU wraps our content in an envelope: room id, sender,
# up to 10 prev_events and the auth_events (event ids of ~44 bytes each), hashes, signatures,
# depth, timestamps: 578 bytes measured on Synapse 1.163 (room v12), some hundreds more with
# long ids and a busy room, so 4 KB is kept back and the content gets the rest.
EVENT_LIMIT = 65_536
ENVELOPE_RESERVE = 4_096
CONTENT_BUDGET = EVENT_LIMIT - ENVELOPE_RESERVE

# Characters per post. The text goes out twice, as ``body`` and in ``formatted_body`` (a
# little longer: <br> per line, each URL twice in a link, a pill per mention), and JSON
# counts UTF-8 bytes. 20,000 characters of mostly Latin text is ~20 KB + ~22 KB, well inside
# the budget; and any text of BMP characters (at most 3 bytes each: Cyrillic, Greek, CJK) fits
# as a plain body (60 KB). Where the HTML rendition does not fit, the post goes out without
# it (``m.mentions`` still notifies); only a post that does not fit even as plain text (4-byte
# characters throughout) is refused, with a clear error, before any request is made.
MAX_LENGTH = 20_000

# Matrix sets no limit on mentions. 50 covers the reference thread's lists (18-20 per part)
# with room to spare, bounds the notifications one post can send out, and keeps the size a
# post's mentions add to the event (user id twice plus a link, ~120 bytes each: ~6 KB) small
# next to the text's budget.
MAX_MENTIONS = 50

# Seconds within which re-sending a post with the same transaction id is certain to be
# dropped by the homeserver. The Matrix spec says transaction ids make a send idempotent but
# not for how long; Synapse keeps them at least 30 minutes in memory (lost on restart), and
# 24 h in its database for tokens bound to a device; Dendrite keeps them 30 minutes. 20
# minutes leaves a margin under the shortest of these. Unused while ``find`` works (the core
# asks ``find`` first), but true if ``find`` is ever turned off.
RESEND_WINDOW = 20 * 60.0

# How far ``find`` looks: the bot's own messages in the room (newest first) for a lead, the
# thread's replies for a reply. The bot posts a few messages a day, so 500 is months back.
FIND_PAGE_SIZE = 100
FIND_MAX_PAGES = 5

_USER_ID = re.compile(r"^@[^\s:]+:\S+$")
# a URL runs to the next space or quote; trailing sentence punctuation is left outside the link
_URL = r"https?://[^\s<>\"]+"
_TRAILING = ".,;:!?'\""


class MatrixSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    homeserver: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    access_token: str = Field(min_length=8)
    # a room id ("!opaque" since room version 12, "!opaque:server" before) or an alias
    room: str = Field(pattern=r"^(![^\s/]+|#[^\s:/]+:\S+)$")
    timeout: float = Field(30.0, gt=0, le=300)


def transaction_id(key: str) -> str:
    """The transaction id for a post: the same key gives the same id in every process."""
    return "anniv-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def event_size(content: dict[str, Any]) -> int:
    """Bytes of ``content`` as canonical JSON counts them (UTF-8, no escaping of non-ASCII)."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _split_url(url: str) -> tuple[str, str]:
    """A URL found in text, less the punctuation that ends the sentence around it."""
    trail = ""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        trail = url[-1] + trail
        url = url[:-1]
    return url, trail


def to_html(text: str, mentions: dict[str, str] | None = None) -> str:
    """The HTML rendition of a plain-text post: each line escaped, lines joined by <br>, URLs
    as links, and each mentioned member's display name (``mentions``: name -> user id) as a
    matrix.to pill. One pass over the raw text, so a name is never matched inside a link and
    a longer name wins over a shorter one it contains ("Jane Doe" over "Jane")."""
    mentions = mentions or {}
    parts = [f"(?P<url>{_URL})"]
    if mentions:
        names = "|".join(re.escape(name) for name in sorted(mentions, key=len, reverse=True))
        parts.append(rf"(?P<name>(?<!\w)(?:{names})(?!\w))")
    pattern = re.compile("|".join(parts))
    lines = []
    for line in text.split("\n"):
        out, position = [], 0
        for match in pattern.finditer(line):
            # quote=False: text nodes need only &, < and > escaped, and a Matrix event is
            # counted in bytes (an apostrophe as &#x27; would be six)
            out.append(html.escape(line[position : match.start()], quote=False))
            if match.group("url"):
                url, trail = _split_url(match.group("url"))
                out.append(
                    f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>'
                    + html.escape(trail, quote=False)
                )
            else:
                name = match.group("name")
                out.append(
                    f'<a href="https://matrix.to/#/{html.escape(mentions[name])}">'
                    f"{html.escape(name, quote=False)}</a>"
                )
            position = match.end()
        out.append(html.escape(line[position:], quote=False))
        lines.append("".join(out))
    return "<br>".join(lines)


class MatrixPoster(Poster):
    name = "matrix"
    description = "posts to a Matrix room: the lead as a message, the rest in its thread"
    capabilities = Capabilities(
        max_length=MAX_LENGTH,
        max_mentions=MAX_MENTIONS,
        replies=True,
        titles=False,  # no title field: the lead's first line serves as one
        mention_syntax="{name}",  # the display name; the adapter links it and sets m.mentions
    )
    formats = ("text",)
    default_format = "text"
    platform = "matrix"
    # the replies stay in the lead's thread, as on Slack
    max_posts_per_thread = 10
    handle_format = HandleFormat(
        r"@[a-z0-9._=/+-]+:[A-Za-z0-9.-]+(:\d+)?", "@user:server.example", "@jane:example.org"
    )

    @platform_rule
    def mention(self, member: Member, fmt: str) -> str | None:
        # the display name, which the adapter links (a pill) and notifies through m.mentions;
        # the name itself ("@room") must not ping
        handle = member.handle(self.platform)
        if handle is None:
            return None
        if fmt == "html":
            from markupsafe import Markup

            return Markup('<a href="https://matrix.to/#/{0}">{1}</a>').format(
                handle, neutralise_at(member.name)
            )
        return self.escape(member.name, fmt)

    secret_settings = ("access_token",)
    can_find = True
    resend_window = RESEND_WINDOW
    Settings = MatrixSettings

    def __init__(self, destination: str, settings: dict[str, Any]) -> None:
        super().__init__(destination, settings)
        self.base = settings["homeserver"].rstrip("/")
        self.host = safe_host(self.base)  # for messages: never a user:password@ in the URL
        self._room_id: str | None = None
        self._me: str | None = None

    @cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        # retry_reads: a send that timed out may be sent again, since the transaction id makes
        # the homeserver drop the repeat; every other call is a read
        return PlatformHTTP(
            "matrix",
            read_timeout=self.settings.get("timeout", 30.0),
            retry_reads=True,
            headers={"Authorization": f"Bearer {self.settings['access_token']}"},
        )

    # ---- HTTP

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, self.base + path, **kwargs)
        except PostError as error:
            raise self._explain(error, what) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PostError(
                f"matrix ({self.host}): {what}: the answer was not a JSON object",
                outcome=Outcome.NOT_SENT if method == "GET" else Outcome.UNKNOWN,
            )
        return data

    def _explain(self, error: PostError, what: str) -> PostError:
        """A PostError that says what Matrix said (its errcode), and whether to retry."""
        if error.status is None:  # no answer, or a wait too long to sleep through
            return error
        # Matrix says what went wrong in the body (errcode, retry_after_ms)
        try:
            data = error.response.json() if error.response is not None else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        errcode = str(data.get("errcode") or "")
        reason = shorten(str(data.get("error") or ""), 200)  # the error may quote the request
        said = f"{errcode}: {reason}" if reason else errcode or f"HTTP {error.status}"
        where = f"matrix ({self.host})"
        if error.status == 429 or errcode == "M_LIMIT_EXCEEDED":
            retry_after = error.retry_after
            if isinstance(data.get("retry_after_ms"), int | float):
                retry_after = data["retry_after_ms"] / 1000
            wait = f": retry in {retry_after:.1f} s" if retry_after is not None else ""
            return PostError(
                f"{where} is rate limiting {what} (M_LIMIT_EXCEEDED){wait}",
                retryable=True, status=error.status, retry_after=retry_after,
            )  # fmt: skip
        if errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN") or error.status == 401:
            soft = " (a soft logout: the session expired)" if data.get("soft_logout") else ""
            return PostError(
                f"{where} rejected the access token while {what} ({errcode or 401}){soft}: "
                "log the bot's account in again and put the new token in access_token",
                retryable=False, status=error.status,
            )  # fmt: skip
        if errcode == "M_FORBIDDEN" or error.status == 403:
            return PostError(
                f"{where} refused {what} ({said}): is the bot's account joined to "
                f"{self.settings['room']} and allowed to post there?",
                retryable=False, status=error.status,
            )  # fmt: skip
        if errcode == "M_TOO_LARGE" or error.status == 413:
            return PostError(
                f"{where} refused {what} as too large ({said})", retryable=False, status=413
            )
        return PostError(
            f"{where}: {what} failed ({said})",
            retryable=error.retryable, status=error.status, retry_after=error.retry_after,
        )  # fmt: skip

    # ---- room and account

    def room_id(self) -> str:
        """The room's id; an alias is resolved once, on first use."""
        if self._room_id is None:
            room = self.settings["room"]
            if room.startswith("#"):
                try:
                    data = self._call(
                        "GET",
                        f"/_matrix/client/v3/directory/room/{quote(room, safe='')}",
                        f"resolving the room alias {room}",
                    )
                except PostError as error:
                    if error.status == 404:
                        raise PostError(
                            f"matrix ({self.host}): the room alias {room} does not exist",
                            retryable=False, status=404,
                        ) from None  # fmt: skip
                    raise
                if not isinstance(data.get("room_id"), str):
                    raise PostError(f"matrix ({self.host}): {room} resolved to no room id")
                self._room_id = data["room_id"]
            else:
                self._room_id = room
        return self._room_id

    def whoami(self) -> dict[str, Any]:
        data = self._call("GET", "/_matrix/client/v3/account/whoami", "checking the token")
        self._me = data.get("user_id")
        return data

    def _user_id(self) -> str:
        if self._me is None:
            self.whoami()
        return str(self._me)

    def _room_path(self) -> str:
        return f"/_matrix/client/v3/rooms/{quote(self.room_id(), safe='')}"

    def _published(self, event_id: str) -> Published:
        url = f"https://matrix.to/#/{quote(self.room_id(), safe='!:')}/{quote(event_id, safe='$')}"
        return Published(remote_id=event_id, url=url)

    # ---- posting

    def mention_ids(self, post: OutgoingPost) -> list[tuple[str, str]]:
        """(display name as the body shows it, user id) for the post's members with a usable
        Matrix handle. The body shows the name neutralised like any text from event data (a
        member named "@room" pings nobody), so that is the text the pill links."""
        found: list[tuple[str, str]] = []
        for member in post.mentions:
            handle = member.handle(self.platform)
            if not handle:
                continue
            if not _USER_ID.match(handle):
                log.warning(
                    "%s: %s's matrix handle %r is not a user id (@name:server): not mentioned",
                    self.destination, member.id, handle,
                )  # fmt: skip
                continue
            found.append((neutralise_at(member.name), handle))
        return found

    def content(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> dict[str, Any]:
        """The m.room.message content for ``post``, fitted to the event size limit."""
        mentioned = self.mention_ids(post)
        user_ids = list(dict.fromkeys(user_id for _, user_id in mentioned))
        # two members of one display name: both are notified, the name links to the first
        mentions: dict[str, str] = {}
        for name, user_id in mentioned:
            mentions.setdefault(name, user_id)
        content: dict[str, Any] = {
            "msgtype": "m.text",
            "body": post.body,
            "format": "org.matrix.custom.html",
            "formatted_body": to_html(post.body, mentions),
            # always present, even empty: with m.mentions the homeserver's push rules notify
            # exactly these users, and stop pinging anyone whose display name is in the text
            "m.mentions": {"user_ids": user_ids},
            KEY_FIELD: post.key,
        }
        if not post.is_lead and lead is None:
            log.warning(
                "%s: post %s has no lead to reply to: sent as a message of its own",
                self.destination, post.key,
            )  # fmt: skip
        elif lead is not None and not post.is_lead:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": lead.remote_id,
                # clients without threads show it as a reply to the post before it
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": (previous or lead).remote_id},
            }
        if event_size(content) <= CONTENT_BUDGET:
            return content
        plain = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
        size = event_size(plain)
        if size <= CONTENT_BUDGET:
            log.warning(
                "%s: post %s is too large for Matrix with its HTML rendition: sent as plain "
                "text (mentions still notify)", self.destination, post.key,
            )  # fmt: skip
            return plain
        raise PostError(
            f"matrix: post {post.number} is {size:,} bytes as a Matrix event even as plain "
            f"text; a homeserver takes {EVENT_LIMIT:,} bytes per event "
            f"({len(post.body):,} characters, many of them multi-byte)",
            retryable=False,
        )

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        content = self.content(post, lead, previous)
        data = self._call(
            "PUT",
            f"{self._room_path()}/send/m.room.message/{transaction_id(post.key)}",
            f"posting {'the lead' if post.is_lead else f'reply {post.number}'}",
            json=content,
        )
        event_id = data.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            raise PostError(f"matrix ({self.host}): the send was answered without an event_id")
        return self._published(event_id)

    # ---- reconciling

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        """The bot's event carrying ``post.key``: among the lead's thread for a reply, among
        the bot's recent messages in the room for a lead (or a reply whose lead is unknown)."""
        me = self._user_id()
        if not post.is_lead and lead is not None:
            path = (
                f"/_matrix/client/v1/rooms/{quote(self.room_id(), safe='')}/relations/"
                f"{quote(lead.remote_id, safe='')}/m.thread/m.room.message"
            )
            params: dict[str, Any] = {"dir": "b", "limit": FIND_PAGE_SIZE}
            next_key, what = "next_batch", "reading the thread"
        else:
            path = f"{self._room_path()}/messages"
            params = {
                "dir": "b",
                "limit": FIND_PAGE_SIZE,
                "filter": json.dumps({"types": ["m.room.message"], "senders": [me]}),
            }
            next_key, what = "end", "reading the room's recent messages"
        for _ in range(FIND_MAX_PAGES):
            data = self._call("GET", path, what, params=params)
            chunk = data.get("chunk") or []
            for event in chunk:
                content = event.get("content") or {}
                # the sender too: anyone in the room could copy the key into a message
                if event.get("sender") == me and content.get(KEY_FIELD) == post.key:
                    return self._published(event["event_id"])
            token = data.get(next_key)
            if not chunk or not token:
                return None
            params["from"] = token
        return None

    # ---- checking

    def check(self) -> str:
        who = self.whoami()
        user = who.get("user_id", "?")
        room = self.settings["room"]
        room_id = self.room_id()
        joined = self._call("GET", "/_matrix/client/v3/joined_rooms", "listing joined rooms")
        if room_id not in (joined.get("joined_rooms") or []):
            raise PostError(
                f"the access token is valid for {user}, but {user} is not joined to {room}: "
                "invite the account and accept the invite (or join) first",
                retryable=False,
            )
        shown = room if room == room_id else f"{room} ({room_id})"
        note = ""
        try:
            self._call("GET", f"{self._room_path()}/state/m.room.encryption/", "reading state")
            note = "; the room is end-to-end encrypted: the bot's posts go out unencrypted"
        except PostError as error:
            if error.status != 404:
                raise
        device = f" (device {who['device_id']})" if who.get("device_id") else ""
        return f"access token is valid for {user}{device}, joined to {shown}{note}"

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()
