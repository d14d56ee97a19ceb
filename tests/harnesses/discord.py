"""A local fake Discord and the adapter's harness for the contract suite (bot.testing), used
by tests/test_discord.py, tests/test_poster_contract.py and bench/platforms.py.

The discord adapter against a local server that enforces Discord's execute-webhook contract.
Each rule cites where it comes from; the reference pages are
https://discord.com/developers/docs/resources/webhook#execute-webhook (EXECUTE),
https://discord.com/developers/docs/topics/rate-limits (RATE_LIMITS),
https://discord.com/developers/docs/reference (REFERENCE: versions, User-Agent) and
https://discord.com/developers/docs/topics/opcodes-and-status-codes#json (CODES).

- API versions (REFERENCE#api-versioning): a route names its version (``/api/v10/...``); one
  that names none is served by v6, the default, which is what "Copy Webhook URL" gives. v6
  gives waits in milliseconds (``Retry-After`` and the body's ``retry_after``), v8 and later in
  seconds (https://discord.com/developers/docs/change-log, API v8; discord/discord-api-docs
  issues 2360 and 4722). ``version`` is the version the URL a user pastes names.
- ``User-Agent: DiscordBot ($url, $versionNumber)`` (REFERENCE#user-agent): Discord does not
  refuse another, so a request without it is a violation the test fails on.
- ``?wait=true`` for a returned message, else 204 (EXECUTE, query string ``wait``).
- ``content`` of at most 2,000 characters, else 400 code 50035 Invalid Form Body (EXECUTE,
  JSON params; CODES 50035); an empty message is 50006 (CODES).
- ``allowed_mentions``
  (https://discord.com/developers/docs/resources/message#allowed-mentions-object): ``parse``
  takes users, roles, everyone; ``parse: [users]`` with ``users`` is refused; at most 100 ids. Its absence is a violation: Discord would ping as the text says.
- Forum ``thread_name`` / ``thread_id`` (EXECUTE: thread_name only in a forum, 220003;
  a forum needs one of them, 220001; an unknown thread is 10003 Unknown Channel).
- Rate limits (RATE_LIMITS#header-format): with ``rate_limit=(requests, seconds)`` each route
  (its method here) answers ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``, ``-Reset-After``
  and ``-Bucket``, and a request past the bucket gets 429 with ``retry_after`` and ``global``
  (RATE_LIMITS#exceeding-a-rate-limit) in the units of its version; ``limited`` counts them.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded

WEBHOOK_ID = "1180000000000000001"


TOKEN = "sEcReT-webhook-token_0123456789abcdefghij"


CHANNEL_ID = "1180000000000000002"


GUILD_ID = "1180000000000000003"

# the versions Discord serves (REFERENCE#api-versioning); 6 is the default of an unversioned route
VERSIONS = (6, 7, 8, 9, 10)
DEFAULT_VERSION = 6
_ROUTE = re.compile(r"^/api/(?:v(\d+)/)?webhooks/(\d+)/([^/]+)$")
_USER_AGENT = re.compile(r"^DiscordBot \(\S+, \S+\)")  # REFERENCE#user-agent


class DiscordServer(FakePlatform):
    """One webhook, of a text channel or (``forum=True``) a forum channel. ``script`` holds
    (status, headers, body) answers given, in order, to the next POSTs before accepting.
    ``violations`` lists requests that broke the contract in a way Discord would not report
    but that must fail the test (no allowed_mentions: Discord would ping as the text says).

    ``version``: the API version the URL a user pastes names (``url``); 6 is the unversioned
    URL "Copy Webhook URL" gives. Every request is answered at the version its path names.
    ``rate_limit``: (requests, seconds) per route, measured on ``clock``; None for no limit.
    ``limit_next_post(seconds)``: the next POST gets a 429 asking to wait that long."""

    def __init__(
        self,
        forum: bool = False,
        version: int = DEFAULT_VERSION,
        rate_limit: tuple[int, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert version in VERSIONS
        self.forum = forum
        self.version = version
        self.rate_limit = rate_limit
        self.clock = clock
        self.buckets: dict[str, tuple[float, int]] = {}  # route -> (window start, requests)
        self.limited = 0  # requests answered 429 by the rate limit
        self.pending_limit: tuple[float, bool] | None = None
        self.served_versions: list[int] = []
        self.deleted = False
        self.messages: list[dict[str, Any]] = []
        self.threads: dict[str, str] = {}  # thread id -> name
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.violations: list[str] = []
        self.ids = itertools.count(1190000000000000000)
        self.server = LocalServer(self._handle)

    @property
    def path(self) -> str:
        version = "" if self.version == DEFAULT_VERSION else f"v{self.version}/"
        return f"/api/{version}webhooks/{WEBHOOK_ID}/{TOKEN}"

    def limit_next_post(self, seconds: float, is_global: bool = False) -> None:
        self.pending_limit = (seconds, is_global)

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def _handle(self, request: Recorded):
        split = urlsplit(request.path)
        route = _ROUTE.match(split.path)
        version = int(route.group(1)) if route and route.group(1) else DEFAULT_VERSION
        self.served_versions.append(version)
        if not _USER_AGENT.match(request.headers.get("User-Agent", "")):
            self.violations.append(f"User-Agent {request.headers.get('User-Agent')!r}")
        if version not in VERSIONS:  # REFERENCE#api-versioning: v5 and older are gone
            return 400, {}, {"message": "Invalid API version", "code": 50041}
        if route is None or route.group(2) != WEBHOOK_ID or self.deleted:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if route.group(3) != TOKEN:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        limit_headers, over = self._take(request.method, version)
        if over is not None:
            return over
        answer = self._answer(request, split.query)
        if answer[0] == 429:  # scripted
            return answer
        return answer[0], {**limit_headers, **answer[1]}, answer[2]

    def _take(self, route: str, version: int):
        """The route's bucket (RATE_LIMITS#header-format): its headers, or a 429 when empty."""
        if route == "POST" and self.pending_limit is not None:
            seconds, is_global = self.pending_limit
            self.pending_limit = None
            return {}, rate_limited(version, seconds, is_global)
        if self.rate_limit is None:
            return {}, None
        limit, per = self.rate_limit
        now = self.clock()
        start, used = self.buckets.get(route, (now, 0))
        if now >= start + per:
            start, used = now, 0
        reset_after = start + per - now
        if used >= limit:
            self.limited += 1
            return {}, rate_limited(version, reset_after, False)
        self.buckets[route] = (start, used + 1)
        # v6 rounds Reset-After to whole seconds unless asked for milliseconds; v8 and later
        # always give milliseconds (https://discord.com/developers/docs/change-log, API v8)
        shown = math.ceil(reset_after) if version < 8 else round(reset_after, 3)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - used - 1),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": str(shown),
            "X-RateLimit-Bucket": f"fake-{route.lower()}",
        }, None

    def _answer(self, request: Recorded, query_string: str):
        if request.method == "GET":
            return 200, {}, {
                "id": WEBHOOK_ID, "type": 1, "guild_id": GUILD_ID, "channel_id": CHANNEL_ID,
                "name": "Anniversaries", "avatar": None, "application_id": None, "token": TOKEN,
            }  # fmt: skip
        if request.method != "POST":
            return 405, {}, {"message": "405: Method Not Allowed", "code": 0}
        if self.script:
            return self.script.pop(0)
        query = {k: v[-1] for k, v in parse_qs(query_string).items()}
        body = request.json()
        problem = self._validate(query, body)
        if problem:
            return problem
        if self.forum and "thread_name" in body:
            channel_id = str(next(self.ids))
            self.threads[channel_id] = body["thread_name"]
            message_id = channel_id  # a forum post's first message has the thread's id
        else:
            channel_id = query.get("thread_id", CHANNEL_ID)
            message_id = str(next(self.ids))
        message = {
            "id": message_id, "channel_id": channel_id, "webhook_id": WEBHOOK_ID,
            "content": body["content"], "allowed_mentions": body["allowed_mentions"],
            "thread_name": body.get("thread_name"), "username": body.get("username"),
            "pinged": sorted(pinged(body["content"], body["allowed_mentions"])),
        }  # fmt: skip
        self.messages.append(message)
        if query.get("wait") != "true":
            return 204, {}, b""  # saved, but the caller learns nothing about it
        return 200, {}, {k: message[k] for k in ("id", "channel_id", "webhook_id", "content")}

    def _validate(self, query: dict[str, str], body: dict[str, Any]):
        if "allowed_mentions" not in body:
            self.violations.append("a POST without allowed_mentions")
            return 400, {}, {"message": "test server: allowed_mentions is required", "code": 0}
        allowed = body["allowed_mentions"]
        parse = allowed.get("parse", [])
        if not set(parse) <= {"users", "roles", "everyone"}:
            return form_error(
                "allowed_mentions.parse", "Value must be one of users, roles, everyone."
            )
        if "users" in parse and allowed.get("users"):
            return form_error("allowed_mentions", "parse:users and users are mutually exclusive.")
        users = allowed.get("users", [])
        if len(users) > 100 or not all(re.fullmatch(r"\d{17,20}", u) for u in users):
            return form_error("allowed_mentions.users", "Invalid user ids.")
        content = body.get("content") or ""
        if not content.strip():
            return 400, {}, {"message": "Cannot send an empty message", "code": 50006}
        if len(content) > 2000:
            return form_error("content", "Must be 2000 or fewer in length.")
        username = body.get("username")
        if username is not None and not 1 <= len(username) <= 80:
            return form_error("username", "Must be between 1 and 80 in length.")
        if "thread_name" in body and "thread_id" in query:
            return form_error("thread_name", "Cannot use thread_name with thread_id.")
        if "thread_name" in body:
            if not self.forum:
                return 400, {}, {"message": "Webhooks can only create threads in forum channels",
                                 "code": 220003}  # fmt: skip
            if not 1 <= len(body["thread_name"]) <= 100:
                return form_error("thread_name", "Must be between 1 and 100 in length.")
        if "thread_id" in query and query["thread_id"] not in self.threads:
            return 404, {}, {"message": "Unknown Channel", "code": 10003}
        if self.forum and "thread_name" not in body and "thread_id" not in query:
            return 400, {}, {"message": "Webhooks posted to forum channels must have a "
                             "thread_name or thread_id", "code": 220001}  # fmt: skip
        return None


def rate_limited(version: int, seconds: float, is_global: bool):
    """Discord's 429 at ``version`` (RATE_LIMITS#exceeding-a-rate-limit): v6 and v7 give
    ``Retry-After`` and ``retry_after`` in milliseconds, v8 and later ``retry_after`` in seconds
    (a float) and ``Retry-After`` in whole seconds, rounded up (discord/discord-api-docs pull
    request 2097; issues 2360 and 4722)."""
    body: dict[str, Any] = {"message": "You are being rate limited.", "global": is_global}
    if version < 8:
        body["retry_after"] = math.ceil(seconds * 1000)
        header = str(body["retry_after"])
    else:
        body["retry_after"] = round(seconds, 3)
        header = str(math.ceil(seconds))
    headers = {"Retry-After": header}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return 429, headers, body


def form_error(field: str, message: str):
    errors: dict[str, Any] = {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}
    for part in reversed(field.split(".")):
        errors = {part: errors}
    return 400, {}, {"code": 50035, "errors": errors, "message": "Invalid Form Body"}


def pinged(content: str, allowed: dict[str, Any]) -> set[str]:
    """Who Discord would notify for this content and allowed_mentions: user ids, "everyone"
    (@everyone and @here) and "role:<id>"."""
    parse = set(allowed.get("parse", []))
    users = set(allowed.get("users", []))
    out = {u for u in re.findall(r"<@!?(\d+)>", content) if "users" in parse or u in users}
    if "everyone" in parse and re.search(r"@(everyone|here)\b", content):
        out.add("everyone")
    roles = set(allowed.get("roles", []))
    out |= {
        f"role:{r}" for r in re.findall(r"<@&(\d+)>", content) if "roles" in parse or r in roles
    }
    return out


class DiscordHarness(Harness):
    """The contract suite's harness (bot.testing.Harness) for this adapter: the webhook URL as
    "Copy Webhook URL" gives it, which names no version (served as v6)."""

    can_read_back = True
    name = "discord"
    variant = "v6"
    version = 6

    def __init__(self, tmp_path, capsys):
        self.tmp_path, self.capsys = tmp_path, capsys
        self.server = DiscordServer(version=self.version).__enter__()

    def settings(self):
        return {"webhook_url": self.server.url, "forum": False, "username": "Contract"}

    def received(self):
        assert self.server.violations == []
        # below v8 a wait is in milliseconds, which the adapter would read as seconds
        assert set(self.server.served_versions) == {10}, self.server.served_versions
        return [m["content"] for m in self.server.messages]

    def close(self):
        self.server.__exit__(None, None, None)


class DiscordV10Harness(DiscordHarness):
    """The same, with a URL that names API v10."""

    variant = "v10"
    version = 10
