"""A local fake Mastodon and the adapter's harness for the contract suite (bot.testing), used
by tests/test_mastodon.py, tests/test_poster_contract.py and bench/platforms.py.

The Mastodon adapter against a local server that enforces Mastodon's documented API. Each
rule cites the documentation (https://docs.joinmastodon.org/methods/...) or the server's source
(github.com/mastodon/mastodon, by path):

- The Bearer token, 401 "The access token is invalid" (https://docs.joinmastodon.org/client/token/;
  app/controllers/api/base_controller.rb); 403 outside the token's scopes.
- ``POST /api/v1/statuses`` (https://docs.joinmastodon.org/methods/statuses/#create): JSON,
  a visibility Mastodon knows, text or media, ``in_reply_to_id`` of a status that exists (404),
  at most ``max_media_attachments`` attachments, each processed (422 "Cannot attach files that
  have not finished processing": app/services/post_status_service.rb), and the length as
  Mastodon counts it (app/validators/status_length_validator.rb: URLs as 23, mentions by
  their local part, the content warning included).
- ``Idempotency-Key``: a repeat within 3,600 s of the status it made answers that status
  (app/services/post_status_service.rb: ``redis.setex(idempotency_key, 3_600, status.id)``;
  the docs: "Idempotency keys are stored for up to 1 hour"). The hour is measured on
  ``clock`` (moved by ``offset``).
- Instance limits: ``GET /api/v2/instance`` ``configuration.statuses``
  (https://docs.joinmastodon.org/methods/instance/#v2), ``/api/v1/instance`` before 4.0.
- Media (https://docs.joinmastodon.org/methods/media/#v2): ``POST /api/v2/media`` answers 200
  when processed, 202 with ``url: null`` while processing in the background; ``GET
  /api/v1/media/:id`` answers 206 while processing, 200 with the URL when done, and 422 "Error
  processing thumbnail for uploaded media" when processing failed (``processing_fails``;
  app/controllers/api/v1/media_controller.rb, ``check_processing``). A file whose type cannot
  be verified is 422 (app/controllers/api/v2/media_controller.rb). Processing takes
  ``processing_polls`` polls, or ``processing_seconds`` on ``clock``.
- Rate limits with ``X-RateLimit-Reset`` (https://docs.joinmastodon.org/api/rate-limits/),
  scripted in ``script``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import urlsplit

from bot.testing import Harness
from tests.servers import FakePlatform, LocalServer, Recorded

TOKEN = "mastodon-test-token-7f3a9c"


_HELPER_URL = re.compile(
    r"(?<![A-Za-z0-9@$#＠＃])(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![0-9A-Za-z@+-])"
    r"(?::\d+)?(?:/[^\s<>?]*)?(?:\?[^\s]*)?",
)


_HELPER_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?(?![@\w]|://)",
    re.IGNORECASE,
)


_URL_TAIL = ".,:;!?'\"*]~&|@=$%"


def _helper_url_end(url: str) -> str:
    """A URL stops before trailing punctuation and before a ")" it did not open."""
    while url and (url[-1] in _URL_TAIL or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _helper_graphemes(text: str) -> int:
    count, previous, flags = 0, "", 0
    for char in text:
        cp = ord(char)
        joins = (
            (previous == "\r" and char == "\n")
            or unicodedata.category(char) in ("Mn", "Me", "Mc")
            or cp == 0x200D  # zero-width joiner
            or previous == "\u200d"  # what it joins
            or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
            or (0x1F1E6 <= cp <= 0x1F1FF and flags % 2 == 1)  # the second half of a flag
        )
        flags = flags + 1 if 0x1F1E6 <= cp <= 0x1F1FF else 0
        count += not joins
        previous = char
    return count


def mastodon_length(text: str, url_length: int = 23) -> int:
    """A status's text as Mastodon counts it: stripped, every URL ``url_length``, every mention
    its local part, grapheme clusters."""
    text = text.strip(" \t\n\v\f\r\0")
    out, position = [], 0
    spans = []
    for match in _HELPER_URL.finditer(text):
        url = _helper_url_end(match.group())
        spans.append((match.start(), match.start() + len(url), "x" * url_length))
    for match in _HELPER_MENTION.finditer(text):
        spans.append((match.start(), match.end(), "@" + match.group(1)))
    for start, end, replacement in sorted(spans):
        if start >= position:
            out += [text[position:start], replacement]
            position = end
    out.append(text[position:])
    return _helper_graphemes("".join(out))


class FakeMastodon(FakePlatform):
    """The parts of Mastodon's REST API the adapter uses, with Mastodon's rules."""

    def __init__(
        self,
        *,
        max_characters: int = 500,
        url_length: int = 23,
        max_media: int = 4,
        processing_polls: int = 2,
        has_v2_instance: bool = True,
        credentials_status: int = 200,
        processing_seconds: float | None = None,
        processing_fails: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.processing_seconds = processing_seconds
        self.processing_fails = processing_fails
        self.clock = clock
        self.max_characters = max_characters
        self.url_length = url_length
        self.max_media = max_media
        self.processing_polls = processing_polls  # 206 answers before an upload is ready
        self.has_v2_instance = has_v2_instance
        self.credentials_status = credentials_status
        self.statuses: dict[str, dict[str, Any]] = {}  # in creation order
        self.media: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, float]] = {}
        self.script: list[tuple[int, dict[str, str], Any]] = []  # next answers to any request
        self.offset = 0.0  # moves the server's clock, for the Idempotency-Key's hour
        self.next_id = 110_000_000_000_000_000
        self.server = LocalServer(self._handle)

    def calls(self) -> list[str]:
        return [f"{r.method} {urlsplit(r.path).path}" for r in self.requests]

    def texts(self) -> list[str]:
        return [status["text"] for status in self.statuses.values()]

    def now(self) -> float:
        return self.clock() + self.offset

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def _handle(self, request: Recorded):
        path = urlsplit(request.path).path
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.script:
            return self.script.pop(0)
        if request.method == "GET" and path == "/api/v2/instance":
            if not self.has_v2_instance:
                return 404, {}, {"error": "Not found"}
            return 200, {}, self._instance()
        if request.method == "GET" and path == "/api/v1/instance":
            return 200, {}, {"uri": "127.0.0.1", "max_toot_chars": self.max_characters}
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, {"error": "The access token is invalid"}
        if request.method == "GET" and path == "/api/v1/accounts/verify_credentials":
            if self.credentials_status == 403:
                return 403, {}, {"error": "This action is outside the authorized scopes"}
            return 200, {}, {"id": "1", "username": "historybot", "acct": "historybot",
                             "url": f"{self.url}/@historybot"}  # fmt: skip
        if request.method == "POST" and path == "/api/v1/statuses":
            return self._create_status(request, headers)
        if request.method == "POST" and path == "/api/v2/media":
            return self._upload(request, headers)
        match = re.fullmatch(r"/api/v1/media/(\d+)", path)
        if request.method == "GET" and match:
            media = self.media.get(match[1])
            if media is None:
                return 404, {}, {"error": "Record not found"}
            if self.processing_fails:
                return 422, {}, {"error": "Error processing thumbnail for uploaded media"}
            if self._processing(media):
                return 206, {}, {"id": media["id"], "type": "image", "url": None}
            media["url"] = f"{self.url}/media/{media['id']}.jpg"
            return 200, {}, {"id": media["id"], "type": "image", "url": media["url"]}
        return 404, {}, {"error": "Not found"}

    def _processing(self, media: dict[str, Any]) -> bool:
        if self.processing_seconds is not None:
            return self.now() < media["uploaded_at"] + self.processing_seconds
        if media["polls_left"] > 0:
            media["polls_left"] -= 1
            return True
        return False

    def _instance(self) -> dict[str, Any]:
        return {
            "domain": "127.0.0.1",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media,
                    "characters_reserved_per_url": self.url_length,
                },
                "media_attachments": {"description_limit": 1500},
            },
        }

    def _create_status(self, request: Recorded, headers: dict[str, str]):
        if not headers.get("content-type", "").startswith("application/json"):
            return 422, {}, {"error": "expected JSON"}
        body = request.json()
        key = headers.get("idempotency-key")
        if key and key in self.idempotency:
            status_id, created = self.idempotency[key]
            if self.now() - created < 3600:
                return 200, {}, self._public(self.statuses[status_id])
        text = body.get("status") or ""
        spoiler = body.get("spoiler_text") or ""
        media_ids = [str(x) for x in body.get("media_ids") or []]
        visibility = body.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            return 422, {}, {"error": f"Validation failed: Visibility {visibility} is invalid"}
        if not text.strip() and not media_ids:
            return 422, {}, {"error": "Validation failed: Text can't be blank"}
        reply_to = body.get("in_reply_to_id")
        if reply_to is not None and str(reply_to) not in self.statuses:
            return 404, {}, {"error": "The post you are trying to reply to does not appear to exist."}  # fmt: skip
        if len(media_ids) > self.max_media:
            return 422, {}, {"error": f"Cannot attach more than {self.max_media} files"}
        for media_id in media_ids:
            if media_id not in self.media:
                return 422, {}, {"error": "Validation failed: Media attachments is invalid"}
            if self.media[media_id]["url"] is None:
                return 422, {}, {"error": "Cannot attach files that have not finished processing. Try again in a moment!"}  # fmt: skip
        length = _helper_graphemes(spoiler.strip()) + mastodon_length(text, self.url_length)
        if length > self.max_characters:
            return 422, {}, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}  # fmt: skip
        status_id = self._id()
        self.statuses[status_id] = {
            "id": status_id,
            "text": text,
            "in_reply_to_id": str(reply_to) if reply_to is not None else None,
            "spoiler_text": spoiler,
            "sensitive": bool(body.get("sensitive")),
            "visibility": visibility,
            "media_ids": media_ids,
            "url": f"{self.url}/@historybot/{status_id}",
        }
        if key:
            self.idempotency[key] = (status_id, self.now())
        return 200, {}, self._public(self.statuses[status_id])

    def _public(self, status: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": status["id"],
            "url": status["url"],
            "content": f"<p>{status['text']}</p>",
            "in_reply_to_id": status["in_reply_to_id"],
            "spoiler_text": status["spoiler_text"],
            "sensitive": status["sensitive"],
            "visibility": status["visibility"],
            "media_attachments": [self._media_public(self.media[m]) for m in status["media_ids"]],
        }

    def _media_public(self, media: dict[str, Any]) -> dict[str, Any]:
        return {"id": media["id"], "type": "image", "url": media["url"],
                "description": media["description"]}  # fmt: skip

    def _upload(self, request: Recorded, headers: dict[str, str]):
        content_type = headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return 422, {}, {"error": "Validation failed: File can't be blank"}
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
        )
        parts = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()
        }
        file = parts.get("file")
        if file is None or not file.get_filename():
            return 422, {}, {"error": "Validation failed: File can't be blank"}
        if not file.get_content_type().startswith("image/"):
            return 422, {}, {"error": "Validation failed: File content type is invalid"}
        description = parts["description"].get_content() if "description" in parts else ""
        if len(description) > 1500:
            return 422, {}, {"error": "Validation failed: Description is too long"}
        media_id = self._id()
        media = {
            "id": media_id,
            "filename": file.get_filename(),
            "content_type": file.get_content_type(),
            "bytes": file.get_payload(decode=True),
            "description": description,
            "polls_left": self.processing_polls,
            "uploaded_at": self.now(),
            "url": None,
        }
        self.media[media_id] = media
        if self.processing_polls == 0 and not self.processing_seconds and not self.processing_fails:
            media["url"] = f"{self.url}/media/{media_id}.jpg"
            return 200, {}, self._media_public(media)
        return 202, {}, self._media_public(media)


class MastodonHarness(Harness):
    name = "mastodon"

    def __init__(self, tmp_path, capsys):
        super().__init__(tmp_path, capsys)
        self.server = FakeMastodon().__enter__()

    def settings(self):
        return {"url": self.server.url, "access_token": TOKEN, "visibility": "unlisted"}

    def received(self):
        return self.server.texts()

    def close(self):
        self.server.__exit__(None, None, None)
