"""A local fake Discord and the adapter's harness for the contract suite (bot.testing), used
by tests/test_discord.py, tests/test_poster_contract.py and bench/platforms.py.

The discord adapter against a local server that enforces Discord's execute-webhook contract:
``?wait=true`` for a returned message, ``content`` of at most 2,000 characters (else 400 code
50035), ``allowed_mentions`` on every post, forum ``thread_name`` / ``thread_id`` semantics,
and 429 with ``retry_after`` and ``Retry-After``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded

WEBHOOK_ID = "1180000000000000001"


TOKEN = "sEcReT-webhook-token_0123456789abcdefghij"


CHANNEL_ID = "1180000000000000002"


GUILD_ID = "1180000000000000003"


class DiscordServer(FakePlatform):
    """One webhook, of a text channel or (``forum=True``) a forum channel. ``script`` holds
    (status, headers, body) answers given, in order, to the next POSTs before accepting.
    ``violations`` lists requests that broke the contract in a way Discord would not report
    but that must fail the test (no allowed_mentions: Discord would ping as the text says)."""

    def __init__(self, forum: bool = False) -> None:
        self.forum = forum
        self.deleted = False
        self.messages: list[dict[str, Any]] = []
        self.threads: dict[str, str] = {}  # thread id -> name
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.violations: list[str] = []
        self.ids = itertools.count(1190000000000000000)
        self.server = LocalServer(self._handle)

    @property
    def path(self) -> str:
        return f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"

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
        if not split.path.startswith(f"/api/webhooks/{WEBHOOK_ID}/") or self.deleted:
            return 404, {}, {"message": "Unknown Webhook", "code": 10015}
        if split.path != self.path:
            return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
        if request.method == "GET":
            return 200, {}, {
                "id": WEBHOOK_ID, "type": 1, "guild_id": GUILD_ID, "channel_id": CHANNEL_ID,
                "name": "Anniversaries", "avatar": None, "application_id": None, "token": TOKEN,
            }  # fmt: skip
        if request.method != "POST":
            return 405, {}, {"message": "405: Method Not Allowed", "code": 0}
        if self.script:
            return self.script.pop(0)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
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
    """The contract suite's harness (bot.testing.Harness) for this adapter."""

    can_read_back = True
    name = "discord"

    def __init__(self, tmp_path, capsys):
        self.tmp_path, self.capsys = tmp_path, capsys
        self.server = DiscordServer().__enter__()

    def settings(self):
        return {"webhook_url": self.server.url, "forum": False, "username": "Contract"}

    def received(self):
        assert self.server.violations == []
        return [m["content"] for m in self.server.messages]

    def close(self):
        self.server.__exit__(None, None, None)
