"""A local fake Slack and the adapter's harness for the contract suite (bot.testing), used
by tests/test_slack.py, tests/test_poster_contract.py and bench/platforms.py.

The slack adapter against a local server that enforces the Web API's contract. Each rule
cites its page of Slack's documentation:

- The Bearer token (not_authed, invalid_auth) and ``{"ok": false, "error": ...}`` refusals
  with HTTP 200: https://api.slack.com/web#responses and https://api.slack.com/web#authentication.
- JSON bodies need ``Content-Type: application/json; charset=utf-8`` (else the arguments are
  not read): https://api.slack.com/web#posting_json.
- Scopes (``scopes``; ``missing_scope`` with ``needed``): chat.postMessage needs chat:write
  (https://api.slack.com/methods/chat.postMessage), conversations.history and .replies
  channels:history for a public channel (https://api.slack.com/methods/conversations.history,
  https://api.slack.com/methods/conversations.replies).
- chat.postMessage (https://api.slack.com/methods/chat.postMessage): channel_not_found,
  not_in_channel, no_text, msg_too_long (40,000 characters), ``thread_ts`` naming an existing
  message, ``metadata`` with an ``event_type`` of ``[a-z0-9_]`` and an ``event_payload``
  (https://api.slack.com/reference/metadata#payload-structure). ``internal_error`` and
  ``fatal_error`` may come after the message was posted ("it's possible some aspect of the
  operation succeeded before the error was raised", its Errors table): ``fail_after_posting``
  holds such errors for the next calls, given after the message is kept.
- Metadata is returned only with ``include_all_metadata``, newest first, with cursor
  pagination (https://api.slack.com/methods/conversations.history,
  https://api.slack.com/apis/pagination).
- 429 with ``Retry-After`` (https://api.slack.com/apis/rate-limits), scripted in ``script``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded

TOKEN = "xoxb-1111-2222-sEcReTtOkEnValue"


CHANNEL = "C0ANNIV01"


SCOPES = "chat:write,channels:history,groups:history"
# the scope each method needs in a public channel (each method's page, "Required scopes")
NEEDED_SCOPES = {
    "chat.postMessage": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
}


class SlackServer(FakePlatform):
    """One workspace with one channel the bot is in (``CHANNEL``). ``script`` holds (status,
    headers, body) answers given, in order, to the next chat.postMessage calls."""

    def __init__(self, scopes: str = SCOPES) -> None:
        self.scopes = set(scopes.split(","))
        self.messages: list[dict[str, Any]] = []  # in the order posted (oldest first)
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.fail_after_posting: list[str] = []  # errors given after keeping the message
        self.max_text = 40000
        self.member = True  # the bot is in the channel
        self.clock = itertools.count(1)
        self.server = LocalServer(self._handle)

    @property
    def api_url(self) -> str:
        return self.server.url + "/api"

    @property
    def requests(self) -> list[Recorded]:
        return self.server.requests

    def calls(self) -> list[str]:
        return [urlsplit(r.path).path.removeprefix("/api/") for r in self.requests]

    def posted(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/api/chat.postMessage"]

    def add(self, text: str, thread_ts: str | None = None, metadata=None) -> str:
        """A message someone else posted."""
        n = next(self.clock)
        ts = f"{1784527200 + n}.{n:06d}"  # July 20, 2026, from 06:00 UTC
        message = {"type": "message", "ts": ts, "text": text, "user": "U0SOMEONE"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        if metadata:
            message["metadata"] = metadata
        self.messages.append(message)
        return ts

    def _handle(self, request: Recorded):
        split = urlsplit(request.path)
        if not split.path.startswith("/api/"):
            return 404, {"Content-Type": "text/html"}, b"<html>Not Found</html>"
        method = split.path.removeprefix("/api/")
        auth = request.headers.get("Authorization")
        if auth is None:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if auth != f"Bearer {TOKEN}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if request.method == "POST" and request.body:
            if request.headers.get("Content-Type") != "application/json; charset=utf-8":
                return 200, {}, {"ok": False, "error": "invalid_form_data"}
            args = request.json()
        else:
            args = {k: v[-1] for k, v in parse_qs(split.query).items()}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        needed = NEEDED_SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            return 200, {}, {"ok": False, "error": "missing_scope", "needed": needed,
                             "provided": ",".join(sorted(self.scopes))}  # fmt: skip
        return handler(args)

    def _channel_problem(self, args: dict[str, Any]):
        if args.get("channel") != CHANNEL:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not self.member:
            return 200, {}, {"ok": False, "error": "not_in_channel"}
        return None

    def _auth_test(self, args):
        return 200, {"x-oauth-scopes": SCOPES}, {
            "ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "anniv",
            "team_id": "T0EXAMPLE", "user_id": "U0BOT", "bot_id": "B0BOT",
        }  # fmt: skip

    def _chat_postMessage(self, args):
        if self.script:
            return self.script.pop(0)
        problem = self._channel_problem(args)
        if problem:
            return problem
        text = args.get("text")
        if not isinstance(text, str) or not text.strip():
            return 200, {}, {"ok": False, "error": "no_text"}
        if len(text) > self.max_text:
            return 200, {}, {"ok": False, "error": "msg_too_long"}
        for flag in ("unfurl_links", "link_names"):
            if flag in args and not isinstance(args[flag], bool):
                return 200, {}, {"ok": False, "error": "invalid_arguments"}
        metadata = args.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not re.fullmatch(r"[a-z0-9_]{1,255}", str(metadata.get("event_type")))
            or not isinstance(metadata.get("event_payload"), dict)
        ):
            return 200, {}, {"ok": False, "error": "invalid_metadata_format"}
        thread_ts = args.get("thread_ts")
        if thread_ts is not None:
            parent = self._message(thread_ts)
            # stricter than Slack, which files a reply to a reply under its parent: the
            # adapter must always name the lead
            if parent is None or parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                return 200, {}, {"ok": False, "error": "thread_not_found"}
        ts = self.add(text, thread_ts, metadata)
        message = dict(self.messages[-1], user="U0BOT", bot_id="B0BOT")
        self.messages[-1] = message
        if self.fail_after_posting:
            return 200, {}, {"ok": False, "error": self.fail_after_posting.pop(0)}
        return 200, {}, {"ok": True, "channel": CHANNEL, "ts": ts, "message": message}

    def _chat_getPermalink(self, args):
        problem = self._channel_problem(args)
        if problem:
            return problem
        message = self._message(args.get("message_ts"))
        if message is None:
            return 200, {}, {"ok": False, "error": "message_not_found"}
        link = f"https://example.slack.com/archives/{CHANNEL}/p{message['ts'].replace('.', '')}"
        if "thread_ts" in message:
            link += f"?thread_ts={message['thread_ts']}&cid={CHANNEL}"
        return 200, {}, {"ok": True, "channel": CHANNEL, "permalink": link}

    def _conversations_history(self, args):
        problem = self._channel_problem(args)
        if problem:
            return problem
        top = [m for m in reversed(self.messages) if m.get("thread_ts", m["ts"]) == m["ts"]]
        if "oldest" in args:
            top = [m for m in top if float(m["ts"]) > float(args["oldest"])]
        return self._page(top, args, 100)

    def _conversations_replies(self, args):
        problem = self._channel_problem(args)
        if problem:
            return problem
        parent = self._message(args.get("ts"))
        if parent is None:
            return 200, {}, {"ok": False, "error": "thread_not_found"}
        thread = [parent] + [m for m in self.messages if m.get("thread_ts") == parent["ts"]
                             and m is not parent]  # fmt: skip
        return self._page(thread, args, 1000)

    def _page(self, messages, args, default_limit):
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or default_limit), 999)
        page = messages[start : start + limit]
        if args.get("include_all_metadata") != "true":
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(messages)
        return 200, {}, {
            "ok": True, "messages": page, "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }  # fmt: skip

    def _message(self, ts):
        return next((m for m in self.messages if m["ts"] == ts), None)


class SlackHarness(Harness):
    """The contract suite's harness (bot.testing.Harness) for this adapter."""

    can_read_back = True
    name = "slack"

    def __init__(self, tmp_path, capsys):
        self.tmp_path, self.capsys = tmp_path, capsys
        self.server = SlackServer().__enter__()

    def settings(self):
        return {"token": TOKEN, "channel": CHANNEL, "api_url": self.server.api_url}

    def received(self):
        return [m["text"] for m in self.server.messages]

    def close(self):
        self.server.__exit__(None, None, None)
