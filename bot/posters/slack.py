"""``slack``: posts with a bot token through the Web API (an incoming webhook answers only "ok",
with no message id, so it could not thread the replies).

- ``POST {api_url}/chat.postMessage`` with ``channel``, ``text`` and, for a reply, ``thread_ts``
  (the lead message's ``ts``); ``Authorization: Bearer <token>``. The answer's ``ts`` is the
  remote id; the link comes from ``chat.getPermalink``.
- Slack answers most refusals with HTTP 200 and ``{"ok": false, "error": "..."}``: they become
  a PostError naming the error code with a hint. HTTP 429 carries ``Retry-After``.
- Every message carries ``metadata`` ``{"event_type": "anniversary_bot_post", "event_payload":
  {"key": <the post's key>}}``. ``conversations.history`` (a lead) and ``conversations.replies``
  (a reply, in its lead's thread) with ``include_all_metadata=true`` return it, which is how
  ``find`` tells whether a post interrupted by a crash went out.
- ``internal_error`` and ``fatal_error`` from ``chat.postMessage`` are "we do not know": Slack's
  documentation of both says "it's possible some aspect of the operation succeeded before the
  error was raised" (https://api.slack.com/methods/chat.postMessage#errors). They are never
  retried blind: the post is looked up by its key first (``find``), or, where the token may
  not read the channel (``missing_scope``), left unconfirmed for a person.
- Text: ``escape`` (this platform's rule, which the renderer applies) turns ``&``, ``<``, ``>``
  in event text into entities, so ``<!channel>`` in event data arrives as ``&lt;!channel&gt;``
  and stays so. The only control sequences this adapter lets through are the listed members'
  ``<@U123>``.

Scopes: ``chat:write``; ``channels:history`` (``groups:history`` for a private channel) for
``find``. The bot must be a member of the channel.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
from bot.secrets_filter import shorten

if TYPE_CHECKING:  # requests is imported when the adapter first posts (bot.http)
    import requests

    from bot.http import PlatformHTTP

log = logging.getLogger("bot.posters.slack")

EVENT_TYPE = "anniversary_bot_post"
# Slack's chat.postMessage documentation asks to keep "text" under 4,000 characters (it
# truncates at 40,000): longer messages are hard to read and are cut in some clients.
MAX_TEXT = 4000
# Slack documents no per-message mention limit; this is a choice, the same as for Discord:
# past ~20 pings a message reads as spam, and each ping is a notification on someone's phone.
MAX_MENTIONS = 20
HISTORY_PAGE = 200  # messages per conversations.history / .replies page
HISTORY_PAGES = 20  # how far back find looks: 4,000 messages
# how long before its anniversary day a post may have been sent: time zones reach UTC-12/+14
HISTORY_SLACK_DAYS = 2

_TS = re.compile(r"^\d+\.\d+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_LIVE_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")

HINTS = {
    "invalid_auth": "the token is not valid: check token (a bot token, xoxb-...)",
    "not_authed": "no token reached Slack: check token",
    "account_inactive": "the token belongs to a deleted user or workspace",
    "token_revoked": "the token was revoked or the app uninstalled: reinstall the app",
    "token_expired": "the token expired: rotate it or turn token rotation off",
    "no_permission": "the token lacks permission for this",
    "missing_scope": "the app lacks a scope",
    "channel_not_found": "check channel: it takes the channel's ID (C0123ABCD, in the "
    "channel's details), and a private channel must have the bot invited",
    "not_in_channel": "invite the bot to the channel (/invite @the-bot)",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is longer than Slack takes",
    "no_text": "the message is empty",
    "restricted_action": "a workspace setting keeps the bot from posting in this channel",
    "restricted_action_read_only_channel": "the channel is read-only for the bot",
    "restricted_action_thread_only_channel": "the channel only takes thread replies",
    "restricted_action_non_threadable_channel": "the channel does not take thread replies",
    "thread_not_found": "the lead message of the thread does not exist (deleted?)",
    "message_not_found": "the message does not exist (deleted?)",
    "invalid_metadata_format": "the metadata was refused",
    "invalid_metadata_schema": "the metadata was refused",
    "metadata_too_large": "the metadata was refused",
    "ekm_access_denied": "the workspace's encryption keys refuse access",
    "team_access_not_granted": "the token has no access to this workspace",
}
# errors after which a message may have been posted all the same: "It's possible some aspect of
# the operation succeeded before the error was raised"
# (https://api.slack.com/methods/chat.postMessage#errors)
MAY_HAVE_ACTED = {"internal_error", "fatal_error"}
# errors that another attempt later may get past
RETRYABLE = {
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout",
}  # fmt: skip


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str
    channel: str
    api_url: str = Field("https://slack.com/api", pattern=r"^https?://\S+$")

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        # never repeat the value: it is the credential
        if not re.match(r"^xox[a-z.]+-\S+$", value):
            raise ValueError("must be a Slack bot token (xoxb-...: the app's OAuth & Permissions)")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        # chat.postMessage takes "#name" too, but conversations.history (find) takes only the id
        if not re.match(r"^[CGD][A-Z0-9]{2,}$", value):
            raise ValueError(
                f"must be the channel's ID (like C0123ABCD, at the bottom of the channel's "
                f"details), not {value!r}"
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return value.rstrip("/")


class SlackPoster(Poster):
    name = "slack"
    description = "posts to a Slack channel with a bot token; the replies go in a thread"
    capabilities = Capabilities(
        max_length=MAX_TEXT,
        max_mentions=MAX_MENTIONS,
        replies=True,  # thread_ts
        titles=False,
        mention_syntax="<@{handle}>",
    )
    # Slack's mrkdwn is close to plain text; ``escape`` escapes &, <, > in event text for it
    formats = ("text",)
    default_format = "text"
    platform = "slack"
    # the replies stay in the lead's thread, out of the channel: a few more than Mastodon
    max_posts_per_thread = 10
    # a mention is <@member id>: U... (or W... on Enterprise Grid)
    handle_format = HandleFormat(r"[UW][A-Z0-9]{6,14}", "a user id such as U0123ABCD", "U0123ABCD")

    @platform_rule
    def escape(self, text: str, fmt: str) -> str:
        # Slack's control sequences (<!channel>, <@U123>, <url|label>) start with "<":
        # https://api.slack.com/reference/surfaces/formatting#escaping
        if fmt == "html":
            return neutralise_at(text)
        return neutralise_at(escape_slack(text))

    secret_settings = ("token",)
    can_find = True
    Settings = SlackSettings

    def __init__(self, destination: str, settings: dict[str, Any]) -> None:
        super().__init__(destination, settings)
        self.api = settings.get("api_url") or "https://slack.com/api"
        self.channel: str = settings["channel"]

    @cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        return PlatformHTTP("slack")

    # --- publishing ---------------------------------------------------------------------------

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        payload: dict[str, Any] = {
            "channel": self.channel,
            "text": self._text(post),
            "unfurl_links": False,
            # no "@channel"/"@name" linking from plain words (Slack's default, said out loud)
            "link_names": False,
            "metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": post.key}},
        }
        if not post.is_lead:
            payload["thread_ts"] = self._lead_ts(post, lead)
        data = self._call("chat.postMessage", json=payload)
        ts = data.get("ts")
        if not isinstance(ts, str) or not _TS.match(ts):
            # accepted but no ts: never raise here, a retry would post it twice; replies look
            # their lead up by its key
            log.warning("%s: slack accepted %s without a ts", self.destination, post.key)
            return Published(remote_id=post.key)
        return Published(remote_id=ts, url=self._permalink(ts))

    def _text(self, post: OutgoingPost) -> str:
        """The body as it is, except that a raw ``<`` or ``>`` that is not a listed member's
        mention is escaped: the core escapes event text, but a URL is printed raw, and a
        ``<!channel>`` hidden in one must not ping. Nothing is ever unescaped."""
        listed = set()
        for member in post.mentions:
            handle = member.handle(self.platform)
            if handle is None:
                continue
            if not _USER_ID.match(handle):
                raise PostError(
                    f"slack: member {member.id!r} has the handle {handle!r}: a Slack handle is "
                    "the member ID (U0123ABCD: profile > ... > Copy member ID)",
                    retryable=False,
                )
            listed.add(handle)
        pieces: list[str] = []
        position = 0
        for match in _LIVE_MENTION.finditer(post.body):
            if match.group(1) not in listed:
                continue
            pieces.append(_escape_angles(post.body[position : match.start()]))
            pieces.append(match.group(0))
            position = match.end()
        pieces.append(_escape_angles(post.body[position:]))
        return "".join(pieces)

    def _lead_ts(self, post: OutgoingPost, lead: Published | None) -> str:
        """The thread's ``ts``: the lead's remote id, or, when that is not a ts (marked sent by
        hand), the lead found by its key."""
        if lead is not None and _TS.match(lead.remote_id):
            return lead.remote_id
        found = self._search_history(lead_key(post), day=post.day)
        if found is None:
            raise PostError(
                "slack: this reply belongs in its lead post's thread, and the lead is not in "
                "the channel (was it marked sent by hand, or deleted?)",
                retryable=False,
            )
        return found

    def _permalink(self, ts: str) -> str | None:
        # a link is nice to have: the post is out already, so nothing here may fail it
        try:
            data = self._call(
                "chat.getPermalink", "GET", params={"channel": self.channel, "message_ts": ts}
            )
        except PostError as error:
            log.info("%s: no slack permalink for %s: %s", self.destination, ts, error)
            return None
        link = data.get("permalink")
        return link if isinstance(link, str) else None

    # --- finding a post by its key ------------------------------------------------------------

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        if post.is_lead:
            ts = self._search_history(post.key, day=post.day)
        else:
            thread: str | None
            if lead is not None and _TS.match(lead.remote_id):
                thread = lead.remote_id
            else:
                thread = self._search_history(lead_key(post), day=post.day)
            if thread is None:
                return None  # no lead, so no reply either
            ts = self._search_replies(thread, post.key)
        if ts is None:
            return None
        return Published(remote_id=ts, url=self._permalink(ts))

    def _search_history(self, key: str, day: dt.date | None = None) -> str | None:
        """The channel's top-level messages, newest first, back to two days before ``day``."""
        params = {"channel": self.channel, "include_all_metadata": "true",
                  "limit": str(HISTORY_PAGE)}  # fmt: skip
        if day is not None:
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            params["oldest"] = str(int((start - dt.timedelta(days=HISTORY_SLACK_DAYS)).timestamp()))
        return self._search("conversations.history", params, key)

    def _search_replies(self, thread_ts: str, key: str) -> str | None:
        params = {"channel": self.channel, "ts": thread_ts, "include_all_metadata": "true",
                  "limit": str(HISTORY_PAGE)}  # fmt: skip
        return self._search("conversations.replies", params, key)

    def _search(self, method: str, params: dict[str, str], key: str) -> str | None:
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = dict(params, cursor=cursor) if cursor else params
            data = self._call(method, "GET", params=page)
            for message in data.get("messages") or ():
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == EVENT_TYPE and payload.get("key") == key:
                    return str(message["ts"])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                return None
        log.warning("%s: %s: %s not among the last %d messages", self.destination, method, key,
                    HISTORY_PAGE * HISTORY_PAGES)  # fmt: skip
        return None

    # --- the Web API ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        http_method: str = "POST",
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = self._request(method, http_method, json, params)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PostError(
                f"slack: {method} answered with something that is not JSON",
                outcome=Outcome.NOT_SENT if http_method == "GET" else Outcome.UNKNOWN,
            )
        if not data.get("ok"):
            raise _api_error(method, data, writes=http_method != "GET")
        return data

    def _request(
        self,
        method: str,
        http_method: str,
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.settings['token']}"}
        if json is not None:
            # without the charset Slack answers with a "missing_charset" warning
            headers["Content-Type"] = "application/json; charset=utf-8"
        return self.http.request(
            http_method, f"{self.api}/{method}", json=json, params=params, headers=headers
        )

    # --- the rest of the contract ---------------------------------------------------------------

    def check(self) -> str:
        response = self._request("auth.test", "POST", None, None)
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not data.get("ok"):
            raise _api_error("auth.test", data)
        header = response.headers.get("x-oauth-scopes")
        scopes = {s.strip() for s in header.split(",")} if header is not None else None
        # reading the channel is what find needs, and it fails the same way a post would when
        # the channel id is wrong or the bot is not in a private channel
        self._call("conversations.history", "GET", params={"channel": self.channel, "limit": "1"})
        said = f"token of {data.get('user')!r} in {data.get('team')!r} is valid"
        said += f"; channel {self.channel} can be read"
        if scopes is not None and "chat:write" not in scopes:
            said += "; WARNING: the token lacks chat:write, posting will fail"
        return said

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()


def lead_key(post: OutgoingPost) -> str:
    # keys are "destination/event/day/N": the lead is number 1 of the same thread
    return f"{post.thread_key}/1"


def _escape_angles(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _api_error(method: str, data: dict[str, Any], writes: bool = False) -> PostError:
    """``writes``: the call changes something (chat.postMessage), so an error after which Slack
    may have acted is an unknown outcome, looked up before anything is sent again."""
    # an error code, normally; something in front of Slack may quote the request instead
    error = shorten(str(data.get("error") or "unknown error"), 200)
    hint = HINTS.get(error, "")
    if error == "missing_scope" and data.get("needed"):
        hint = f"the app lacks the scope {data['needed']}: add it and reinstall the app"
    unknown = writes and error in MAY_HAVE_ACTED
    if unknown:
        hint = "Slack may have posted it all the same: it is looked up before any resend"
    message = f"slack: {method} refused: {error}" + (f" ({hint})" if hint else "")
    # status stays None: the HTTP answer was a 200, the refusal is in the body
    return PostError(
        message,
        retryable=error in RETRYABLE,
        outcome=Outcome.UNKNOWN if unknown else Outcome.NOT_SENT,
    )


def escape_slack(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack's entities, so that event text opens no control sequence."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
