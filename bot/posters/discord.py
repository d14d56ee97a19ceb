"""``discord``: posts through a channel webhook (Server Settings > Integrations > Webhooks).

A webhook needs no bot account and no token beyond its URL, so the URL itself is the secret.

- ``POST /api/v10/webhooks/{id}/{token}?wait=true`` with ``content`` (at most 2,000
  characters). ``wait=true`` makes Discord answer with the created message; without it a
  message that was not saved gives no error and no id.
- Every request carries ``allowed_mentions: {"parse": [], "users": [ids]}``: only the members
  the post lists (with a Discord handle, their numeric user id) can be pinged, whatever the text
  says (``@everyone``, ``@here``, ``<@id>`` of someone else, role mentions). The core already
  breaks ``@word`` and escapes Markdown in event text; this is the platform-side guarantee.
- ``forum: true``: the webhook's channel is a forum. The lead post creates a thread
  (``thread_name``: the title, at most 100 characters) and the answer's ``channel_id`` is that
  thread; replies go into it with ``?thread_id=``. In a text channel webhooks cannot create
  threads, so the replies are the next messages in the channel.
- Remote id: ``"{channel_id}/{message_id}"`` (the channel is the thread in a forum), so a reply
  can find its thread from the lead's id alone.
- A webhook cannot look messages up, and Discord has no idempotency key: ``can_find`` is False,
  and a post interrupted while sending is left for a person to confirm.
- API version: whatever version ``webhook_url`` names (the URL "Copy Webhook URL" gives names
  none, and an unversioned route is served by API v6, whose ``Retry-After`` and ``retry_after``
  are milliseconds), requests go to ``/api/v10/webhooks/{id}/{token}``, as discord.py builds its
  routes (``discord/webhook/async_.py``: ``Route.BASE``), so a wait is always read in seconds
  (https://discord.com/developers/docs/change-log, API v8: "retry_after ... now in seconds";
  discord/discord-api-docs issues 2360 and 4722).
- Etiquette (https://discord.com/developers/docs/reference#user-agent and
  https://discord.com/developers/docs/topics/rate-limits#header-format): a ``DiscordBot (url,
  version)`` User-Agent, and pacing: when an answer says ``X-RateLimit-Remaining: 0``, the next
  request of that route waits ``X-RateLimit-Reset-After`` seconds instead of drawing a 429
  (Discord bans an IP address after 10,000 refused requests, 429s included, in 10 minutes).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import __version__
from bot.neutralise import unescape_markdown
from bot.posters.base import Capabilities, HandleFormat, OutgoingPost, Poster, PostError, Published
from bot.secrets_filter import Secret, mask, shorten

if TYPE_CHECKING:  # requests is imported when the adapter first posts (bot.http)
    import requests

    from bot.http import PlatformHTTP

log = logging.getLogger("bot.posters.discord")

MAX_CONTENT = 2000  # characters in "content"
MAX_THREAD_NAME = 100  # characters in a forum post's title (a thread name)
MAX_ALLOWED_USERS = 100  # allowed_mentions.users takes at most 100 ids
# Not a Discord limit for webhooks, a choice: 20 pings in one message already reads as spam,
# it stays far under allowed_mentions' 100 ids, and under the mention-spam thresholds server
# admins commonly set in AutoMod (which can block a message with too many mentions).
MAX_MENTIONS = 20

TEXT_CHANNEL = Capabilities(
    max_length=MAX_CONTENT,
    max_mentions=MAX_MENTIONS,
    replies=True,  # consecutive messages in the channel
    titles=False,
    mention_syntax="<@{handle}>",
)
FORUM_CHANNEL = Capabilities(
    max_length=MAX_CONTENT,
    max_mentions=MAX_MENTIONS,
    replies=True,  # messages in the thread the lead created
    titles=True,  # the forum post's name
    mention_syntax="<@{handle}>",
    title_length=(1, MAX_THREAD_NAME),
)

_WEBHOOK_URL = re.compile(r"^https?://[^/\s?#]+/api/(?:v(\d+)/)?webhooks/(\d+)/([\w-]+)/?$")
# The version every request uses, whatever webhook_url names: v10 is what discord.py sends
# (Route.BASE = "https://discord.com/api/v10"), and from v8 on every wait Discord gives is in
# seconds. An unversioned URL is served by v6, the default version, in milliseconds.
API_VERSION = 10
DEFAULT_API_VERSION = 6  # what Discord serves an unversioned route with
# "User-Agent: DiscordBot ($url, $versionNumber)":
# https://discord.com/developers/docs/reference#user-agent
USER_AGENT = f"DiscordBot (https://pypi.org/project/anniversary-bot/, {__version__})"
# a pause for the rate limit longer than this is not slept through: the post is retried later
# (the same cap as the HTTP layer's Retry-After)
MAX_PACING_WAIT = 120.0
_SNOWFLAKE = re.compile(r"^\d{1,20}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DiscordSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: str
    forum: bool = False
    username: str | None = Field(None, min_length=1, max_length=80)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        # the messages never repeat the value: it is the credential
        if not _WEBHOOK_URL.match(value):
            raise ValueError(
                "must be a Discord webhook URL like https://discord.com/api/webhooks/ID/TOKEN "
                "(Channel settings > Integrations > Webhooks > Copy Webhook URL)"
            )
        parts = urlsplit(value)
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK:
            raise ValueError("must be an https:// URL: the URL is the webhook's password")
        return value.rstrip("/")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        # Discord refuses webhook names containing these words
        if value is not None and re.search(r"discord|clyde", value, re.IGNORECASE):
            raise ValueError('may not contain "discord" or "clyde" (Discord refuses it)')
        return value


class DiscordPoster(Poster):
    name = "discord"
    description = "posts through a Discord webhook: a text channel, or a forum (a thread a day)"
    capabilities = TEXT_CHANNEL
    formats = ("markdown",)
    default_format = "markdown"
    platform = "discord"
    # each message shows in the channel (or the day's forum thread) as it comes: few, long ones
    max_posts_per_thread = 5
    # a mention is <@user id>: a snowflake, 15 to 21 digits
    handle_format = HandleFormat(
        r"\d{15,21}", "a numeric user id such as 123456789012345678", "123456789012345678"
    )
    secret_settings = ("webhook_url",)
    can_find = False  # a webhook cannot list or search messages
    Settings = DiscordSettings

    def __init__(
        self,
        destination: str,
        settings: dict[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(destination, settings)
        # an unread secret (``SecretRef``) until the destination posts: drafts and previews
        # build the adapter without reading it
        self.pasted_url: str = settings["webhook_url"]
        self.forum: bool = bool(settings.get("forum"))
        if self.forum:
            self.capabilities = FORUM_CHANNEL
        self.clock, self.sleep = clock, sleep
        # per route (the method: reading the webhook and executing it are two routes), the
        # clock time until which Discord said the route has no request left
        self._empty_until: dict[str, float] = {}
        self._guild_id: str | None = None
        self._preflight_done = False

    @cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        return PlatformHTTP(
            "discord", headers={"User-Agent": USER_AGENT}, max_retry_after=MAX_PACING_WAIT
        )

    @property
    def url(self) -> str:
        """The API v10 route of the pasted webhook URL. It holds the webhook's token as the
        pasted URL does: a secret like it."""
        return Secret(webhook_route(self.pasted_url))

    # --- publishing ---------------------------------------------------------------------------

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        payload = self.payload(post)
        params = {"wait": "true"}
        if self.forum and not post.is_lead:
            params["thread_id"] = self._thread_of(lead)
        self._preflight()
        response = self._request("POST", params=params, json=payload)
        return self._published(response, post)

    def payload(self, post: OutgoingPost) -> dict[str, Any]:
        """The JSON body of ``post``'s request: the text, and who it may ping."""
        payload: dict[str, Any] = {
            "content": post.body,
            # always sent, even with nobody to ping: an absent allowed_mentions lets Discord
            # parse every mention in the text
            "allowed_mentions": {"parse": [], "users": self._user_ids(post)},
        }
        if self.settings.get("username"):
            payload["username"] = self.settings["username"]
        if self.forum and post.is_lead:
            payload["thread_name"] = thread_name(post)
        return payload

    def _user_ids(self, post: OutgoingPost) -> list[str]:
        ids: list[str] = []
        for member in post.mentions:
            handle = member.handle(self.platform)
            if handle is None:
                continue  # named in the text, not pinged
            if not _SNOWFLAKE.match(handle):
                raise PostError(
                    f"discord: member {member.id!r} has the handle {handle!r}: a Discord handle "
                    "is the numeric user id (Developer Mode > right-click > Copy User ID)",
                    retryable=False,
                )
            if handle not in ids:
                ids.append(handle)
        # max_mentions (20) is declared so that posts stay under it; the API refuses more than
        # 100 ids, and members past that are still named in the text, just not pinged
        return ids[:MAX_ALLOWED_USERS]

    def _thread_of(self, lead: Published | None) -> str:
        channel_id = _split(lead.remote_id)[0] if lead else None
        if channel_id is None:
            raise PostError(
                "discord: this reply belongs in the forum thread of its lead post, whose thread "
                "id is unknown (was the lead marked sent by hand?): post the replies by hand",
                retryable=False,
            )
        return channel_id

    def _published(self, response: requests.Response, post: OutgoingPost) -> Published:
        try:
            message = response.json()
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message.get("id"):
            # accepted (2xx) but no message: never raise here, a retry would post it twice
            log.warning("%s: discord accepted %s without returning it", self.destination, post.key)
            return Published(remote_id=post.key)
        message_id = str(message["id"])
        channel_id = str(message.get("channel_id") or "")
        remote_id = f"{channel_id}/{message_id}" if channel_id else message_id
        guild_id = message.get("guild_id") or self._guild_id
        url = (
            f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
            if guild_id and channel_id
            else None
        )
        return Published(remote_id=remote_id, url=url)

    def _preflight(self) -> None:
        """Once per run, before the first post: read the webhook. Its server id makes the
        message links, and a deleted webhook is reported without a refused POST (Discord bans an
        IP address after 10,000 refused requests in 10 minutes)."""
        if self._preflight_done:
            return
        self._preflight_done = True
        try:
            self._webhook()
        except PostError as error:
            if error.status in (401, 404):
                raise
            # anything else is not worth failing the post for: it only costs the link
            log.info("%s: could not read the discord webhook: %s", self.destination, error)

    def _webhook(self) -> dict[str, Any]:
        response = self._request("GET")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PostError("discord: reading the webhook gave an answer that is not JSON")
        if data.get("guild_id"):
            self._guild_id = str(data["guild_id"])
        return data

    # --- HTTP and errors ----------------------------------------------------------------------

    def _request(
        self, method: str, params: dict[str, str] | None = None, json: Any = None
    ) -> requests.Response:
        self._pace(method)
        try:
            response = self.http.request(method, self.url, params=params, json=json)
        except PostError as error:
            if error.response is not None:
                self._note_limit(method, error.response)
            raise self._explain(error, error.response) from None
        self._note_limit(method, response)
        return response

    def _pace(self, method: str) -> None:
        """Wait until the route has a request left, as Discord's headers said, before sending."""
        wait = self._empty_until.get(method, 0.0) - self.clock()
        if wait <= 0:
            return
        if wait > MAX_PACING_WAIT:
            raise PostError(
                f"discord: this webhook has no request left for {wait:.0f} s "
                "(X-RateLimit-Reset-After)",
                retryable=True,
                retry_after=wait,
            )
        log.info("%s: discord rate limit: waiting %.1f s before sending", self.destination, wait)
        self.sleep(wait)

    def _note_limit(self, method: str, response: requests.Response) -> None:
        # https://discord.com/developers/docs/topics/rate-limits#header-format: Remaining is
        # what is left of the route's bucket, Reset-After the seconds until it fills again
        remaining = _number(response.headers.get("X-RateLimit-Remaining"))
        reset_after = _number(response.headers.get("X-RateLimit-Reset-After"))
        if remaining is not None and remaining <= 0 and reset_after is not None:
            self._empty_until[method] = self.clock() + reset_after
        else:
            self._empty_until.pop(method, None)

    def _explain(self, error: PostError, response: requests.Response | None) -> PostError:
        """Discord's own words for a refusal, never the webhook URL."""
        if response is None or error.status is None:
            return PostError(
                self._scrub(str(error)), error.retryable, error.status, error.retry_after
            )
        status = error.status
        try:
            data = response.json()
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        code = data.get("code")
        # Discord's message may quote the webhook URL (a 401/404 without a code comes from
        # something in front of Discord): masked, and cut only after masking
        said = self._scrub(str(data.get("message") or response.reason or ""))
        said = shorten(said, 200)
        if status == 429:
            # the body's retry_after is exact (seconds, a float), the header rounds it: take
            # the longer of the two, so the next try is never early
            given = [error.retry_after, data.get("retry_after")]
            waits = [float(w) for w in given if isinstance(w, int | float)]
            retry_after = max(waits) if waits else None
            scope = " (global limit)" if data.get("global") else ""
            wait = f": it asks to wait {retry_after:.1f} s" if retry_after is not None else ""
            return PostError(f"discord is rate limiting{scope}{wait}", True, status, retry_after)
        if status in (401, 404) and code in (None, 10015, 50027):
            return PostError(
                f"discord answered {status} ({said or 'Unknown Webhook'}): the webhook was "
                "deleted or webhook_url is wrong: create a webhook in the channel's "
                "Integrations settings and put its URL in webhook_url",
                retryable=False,
                status=status,
            )
        if code == 10003:  # Unknown Channel: the thread given in thread_id
            return PostError(
                f"discord answered {status} ({said}): the lead post's thread no longer exists "
                "(deleted?)",
                retryable=False,
                status=status,
            )
        if code in (220001, 220003):  # thread_name in a text channel, or neither in a forum
            hint = (
                "this webhook's channel is not a forum: set forum: false"
                if code == 220003
                else "this webhook's channel is a forum: set forum: true"
            )
            return PostError(f"discord answered {status} ({said}): {hint}", False, status)
        details = _form_errors(data.get("errors"))
        text = f"discord answered {status}"
        if code is not None:
            text += f" (code {code})"
        if said:
            text += f": {said}"
        if details:
            text += f": {details}"
        if code == 40067:
            text += " (this forum requires tags on new posts: allow untagged posts)"
        elif status == 403:
            text += " (the webhook lacks permission here: a locked or archived thread?)"
        return PostError(self._scrub(text), error.retryable, status, error.retry_after)

    def _scrub(self, text: str) -> str:
        token = self.url.rsplit("/", 1)[-1]
        for url in (self.pasted_url, self.url):
            text = text.replace(url, "[webhook_url]")
        return mask(text.replace(token, "[token]"))

    # --- the rest of the contract ---------------------------------------------------------------

    def check(self) -> str:
        data = self._webhook()
        name = data.get("name") or "(unnamed)"
        where = f"channel {data.get('channel_id')}"
        if data.get("guild_id"):
            where += f" on server {data['guild_id']}"
        mode = "forum: each event opens a thread" if self.forum else "text channel"
        return f"webhook {name!r} answers: it posts to {where} ({mode}); {self.api_version()}"

    def api_version(self) -> str:
        """Which API version the requests use, and what webhook_url names, in words."""
        pasted = pasted_api_version(self.pasted_url)
        said = f"API v{API_VERSION}"
        if pasted is None:
            return (
                f"{said} (webhook_url names no version, which Discord serves as "
                f"v{DEFAULT_API_VERSION})"
            )
        if pasted != API_VERSION:
            return f"{said} (webhook_url names v{pasted})"
        return said

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()


def thread_name(post: OutgoingPost) -> str:
    """The forum post's name: the title (or the body's first line), on one line, at most 100
    characters. A thread name is plain text, so the core's Markdown escapes come off."""
    source = post.title or next((line for line in post.body.splitlines() if line.strip()), "")
    name = " ".join(unescape_markdown(source).split()) or post.event_id
    if len(name) > MAX_THREAD_NAME:
        name = name[: MAX_THREAD_NAME - 1].rstrip() + "…"
    return name


def webhook_route(url: str) -> str:
    """The webhook's execute route at ``API_VERSION``, on the host ``url`` names, whatever
    version ``url`` names (discord.py reads only the id and token from a pasted URL too)."""
    match = _WEBHOOK_URL.match(url)
    if match is None:  # DiscordSettings checked it: a URL made some other way is used as it is
        return url
    base = url[: url.index("/api/")]
    return f"{base}/api/v{API_VERSION}/webhooks/{match.group(2)}/{match.group(3)}"


def pasted_api_version(url: str) -> int | None:
    """The API version ``url`` names, None when it names none (served as v6)."""
    match = _WEBHOOK_URL.match(url)
    return int(match.group(1)) if match and match.group(1) else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _split(remote_id: str) -> tuple[str | None, str | None]:
    """(channel or thread id, message id) from a remote id this adapter made."""
    channel, _, message = remote_id.partition("/")
    if message and _SNOWFLAKE.match(channel) and _SNOWFLAKE.match(message):
        return channel, message
    return None, None


def _form_errors(errors: Any, path: str = "") -> str:
    """Discord's nested "Invalid Form Body" errors as "content: Must be 2000 or fewer...".
    The field names are Discord's; the values it quotes are never the webhook URL."""
    if not isinstance(errors, dict):
        return ""
    found: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found += [f"{path or 'body'}: {e.get('message')}" for e in value if isinstance(e, dict)]
        elif isinstance(value, dict):
            nested = _form_errors(value, f"{path}.{key}" if path else str(key))
            if nested:
                found.append(nested)
    return shorten("; ".join(found), 300)
