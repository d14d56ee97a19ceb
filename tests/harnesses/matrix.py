"""A local fake Matrix homeserver and the adapter's harness for the contract suite (bot.testing), used
by tests/test_matrix.py, tests/test_poster_contract.py and bench/platforms.py.

The Matrix adapter, against a REAL Synapse (tests marked by the ``synapse`` fixture) and
against a local homeserver fake that enforces the client-server API contract (the rest).

The real server: ``tests/synapse/install.sh VENV_DIR`` once, then
``ANNIVERSARY_BOT_SYNAPSE_VENV=VENV_DIR .venv/bin/python -m pytest tests/test_matrix.py``.
Without the variable the Synapse tests skip, saying so; the fake-server tests always run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.posters.matrix import (
    event_size,
)
from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded
from tests.synapse.fixture import (
    SynapseSession,
    shared_synapse,
)

TOKEN = "syt_ZmFrZQ_fake-access-token-0123456789"


BOT = "@anniv-bot:fake.test"


ROOM = "!contractroom:fake.test"


ALIAS = "#anniversaries:fake.test"


# what Synapse 1.163 adds around the content in a PDU (measured: 578 bytes, room v12)
ENVELOPE = 578


def _error(status: int, errcode: str, message: str, **extra: Any):
    return status, {}, {"errcode": errcode, "error": message, **extra}


class FakeHomeserver(FakePlatform):
    """Matrix's client-server API on 127.0.0.1, enforcing what a homeserver enforces: the
    bearer token, room membership, the m.room.message and relation shapes, the 65,536-byte
    event limit, transaction-id idempotency; it keeps every event it accepted. ``script``:
    answers (status, headers, body) used, in order, for the next sends before accepting."""

    def __init__(self, token: str = TOKEN, user_id: str = BOT) -> None:
        self.token, self.user_id, self.device_id = token, user_id, "FAKEDEVICE"
        self.rooms: dict[str, list[dict[str, Any]]] = {ROOM: [], "!other:fake.test": []}
        self.joined = {ROOM}
        self.encrypted: set[str] = set()
        self.aliases = {ALIAS: ROOM}
        self.transactions: dict[tuple[str, str, str], str] = {}
        self.script: list[tuple[int, dict[str, str], Any]] = []
        self.server = LocalServer(self._handle)
        self.counter = 0

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PUT" and "/send/" in r.path]

    def messages(self, room: str = ROOM) -> list[dict[str, Any]]:
        return [e for e in self.rooms[room] if e["type"] == "m.room.message"]

    def add_event(self, room: str, sender: str, content: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        event = {
            "event_id": f"$fake{self.counter}-{room[1:6]}",
            "room_id": room,
            "sender": sender,
            "type": "m.room.message",
            "content": content,
            "origin_server_ts": 1_700_000_000_000 + self.counter,
        }
        self.rooms[room].append(event)
        return event

    def _event(self, room: str, event_id: str) -> dict[str, Any] | None:
        return next((e for e in self.rooms.get(room, []) if e["event_id"] == event_id), None)

    def _handle(self, request: Recorded):
        split = urlsplit(request.path)
        # path segments are percent-encoded ("!room:server" -> "%21room%3Aserver")
        segments = [unquote(s) for s in split.path.split("/")]
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        auth = request.headers.get("Authorization")
        if auth is None:
            return _error(401, "M_MISSING_TOKEN", "Missing access token.")
        if auth != f"Bearer {self.token}":
            return _error(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False)
        m, s = request.method, segments
        if s[:4] != ["", "_matrix", "client", s[3]] or s[3] not in ("v1", "v3"):
            return _error(404, "M_UNRECOGNIZED", "Unrecognized request")
        rest = s[4:]
        if m == "GET" and rest == ["account", "whoami"] and s[3] == "v3":
            return (
                200,
                {},
                {"user_id": self.user_id, "device_id": self.device_id, "is_guest": False},
            )
        if m == "GET" and rest == ["joined_rooms"]:
            return 200, {}, {"joined_rooms": sorted(self.joined)}
        if m == "GET" and rest[:2] == ["directory", "room"] and len(rest) == 3:
            if rest[2] not in self.aliases:
                return _error(404, "M_NOT_FOUND", f"Room alias {rest[2]} not found")
            return 200, {}, {"room_id": self.aliases[rest[2]], "servers": ["fake.test"]}
        if rest[:1] != ["rooms"] or len(rest) < 3:
            return _error(404, "M_UNRECOGNIZED", "Unrecognized request")
        room = rest[1]
        if room not in self.rooms or room not in self.joined:
            return _error(403, "M_FORBIDDEN", f"User {self.user_id} not in room {room}")
        action = rest[2:]
        if s[3] == "v3" and m == "PUT" and action[:1] == ["send"] and len(action) == 3:
            return self._send(request, room, action[1], action[2])
        if s[3] == "v3" and m == "GET" and action == ["messages"]:
            return self._messages(room, query)
        if s[3] == "v1" and m == "GET" and action[:1] == ["relations"] and len(action) in (3, 4):
            return self._relations(room, action[1], action[2], action[3:], query)
        if s[3] == "v3" and m == "GET" and action[:1] == ["event"] and len(action) == 2:
            event = self._event(room, action[1])
            return (200, {}, event) if event else _error(404, "M_NOT_FOUND", "Event not found.")
        if s[3] == "v3" and m == "GET" and action[:1] == ["state"]:
            if action[1] == "m.room.encryption" and room in self.encrypted:
                return 200, {}, {"algorithm": "m.megolm.v1.aes-sha2"}
            return _error(404, "M_NOT_FOUND", "Event not found.")
        return _error(404, "M_UNRECOGNIZED", "Unrecognized request")

    def _send(self, request: Recorded, room: str, event_type: str, txn: str):
        key = (self.token, room, txn)
        if key in self.transactions:  # a repeat: the event made the first time, nothing new
            return 200, {}, {"event_id": self.transactions[key]}
        if self.script:
            return self.script.pop(0)
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return _error(400, "M_NOT_JSON", "Content not JSON.")
        try:
            content = json.loads(request.body)
        except ValueError:
            return _error(400, "M_NOT_JSON", "Content not JSON.")
        if event_type != "m.room.message" or not isinstance(content, dict):
            return _error(400, "M_BAD_JSON", "expected an m.room.message object")
        if not isinstance(content.get("msgtype"), str) or not isinstance(content.get("body"), str):
            return _error(400, "M_BAD_JSON", "msgtype and body are required strings")
        if "format" in content and (
            content["format"] != "org.matrix.custom.html"
            or not isinstance(content.get("formatted_body"), str)
        ):
            return _error(400, "M_BAD_JSON", "format needs formatted_body")
        mentions = content.get("m.mentions", {})
        if not isinstance(mentions, dict) or not all(
            isinstance(u, str) and u.startswith("@") for u in mentions.get("user_ids", [])
        ):
            return _error(400, "M_BAD_JSON", "m.mentions.user_ids must be user ids")
        relation = content.get("m.relates_to")
        if relation is not None:
            parent = self._event(room, relation.get("event_id", ""))
            if relation.get("rel_type") != "m.thread" or parent is None:
                return _error(400, "M_INVALID_PARAM", "unknown thread root")
            if "m.relates_to" in parent["content"]:
                return _error(
                    400, "M_INVALID_PARAM", "Cannot start threads from an event with a relation"
                )
            reply_to = relation.get("m.in_reply_to", {}).get("event_id")
            if (
                self._event(room, reply_to or "") is None
                or relation.get("is_falling_back") is not True
            ):
                return _error(400, "M_INVALID_PARAM", "bad thread fallback")
        if event_size(content) + ENVELOPE > 65_536:
            return _error(413, "M_TOO_LARGE", "event too large")
        event = self.add_event(room, self.user_id, content)
        self.transactions[key] = event["event_id"]
        return 200, {}, {"event_id": event["event_id"]}

    def _page(self, events: list[dict[str, Any]], query: dict[str, str], next_key: str):
        start = int(query.get("from", "0"))
        limit = int(query.get("limit", "10"))
        chunk = events[start : start + limit]
        body: dict[str, Any] = {"chunk": chunk}
        if start + limit < len(events):
            body[next_key] = str(start + limit)
        return 200, {}, body

    def _messages(self, room: str, query: dict[str, str]):
        if query.get("dir") not in ("b", "f"):
            return _error(400, "M_MISSING_PARAM", "dir is required")
        wanted = json.loads(query.get("filter", "{}"))
        events = [
            e
            for e in self.rooms[room]
            if e["type"] in wanted.get("types", [e["type"]])
            and e["sender"] in wanted.get("senders", [e["sender"]])
        ]
        if query["dir"] == "b":
            events = list(reversed(events))
        return self._page(events, query, "end")

    def _relations(self, room, parent, rel_type, event_type, query):
        if self._event(room, parent) is None:
            return _error(404, "M_NOT_FOUND", "Event not found.")
        events = [
            e
            for e in self.rooms[room]
            if e["content"].get("m.relates_to", {}).get("event_id") == parent
            and e["content"]["m.relates_to"].get("rel_type") == rel_type
            and (not event_type or e["type"] == event_type[0])
        ]
        if query.get("dir", "b") == "b":
            events = list(reversed(events))
        return self._page(events, query, "next_batch")


def bot_messages(session: SynapseSession, room: str) -> list[dict[str, Any]]:
    events = session.server.room_events(room, session.bot.access_token)
    return [e for e in events if e["sender"] == session.bot.user_id]


class MatrixHarness(Harness):
    """The contract suite's harness (bot.testing.Harness) for this adapter."""

    name = "matrix"
    can_read_back = True

    def __init__(self, tmp_path: Path, capsys) -> None:
        self.tmp_path, self.capsys = tmp_path, capsys
        self.synapse = shared_synapse()
        self.fake: FakeHomeserver | None = None
        if self.synapse is not None:
            self.room = self.synapse.new_room()
        else:
            self.fake = FakeHomeserver().__enter__()
            self.room = ROOM

    def settings(self) -> dict[str, Any]:
        if self.synapse is not None:
            base, token = self.synapse.server.base_url, self.synapse.bot.access_token
        else:
            base, token = self.fake.url, TOKEN
        return {"homeserver": base, "access_token": token, "room": self.room, "timeout": 10.0}

    def received(self) -> list[str]:
        if self.synapse is not None:
            return [e["content"]["body"] for e in bot_messages(self.synapse, self.room)]
        return [e["content"]["body"] for e in self.fake.messages()]

    def close(self) -> None:
        if self.fake is not None:
            self.fake.__exit__(None, None, None)
