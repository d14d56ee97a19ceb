"""``webhook``: a generic JSON POST of each post, signed so the receiver can verify it.

Headers: ``X-Anniversary-Bot-Key`` (the post's deterministic key: a receiver that keeps it can
drop a repeat), ``X-Anniversary-Bot-Timestamp`` (Unix seconds) and
``X-Anniversary-Bot-Signature: sha256=HEX``, the HMAC-SHA256 of ``"{timestamp}.{body}"`` with the
shared secret. A receiver that also answers ``GET lookup_url?key=KEY`` (200 with ``{"id", "url"}``
when it has that post, 404 when not) lets a post left "sending" by a crash be reconciled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import cached_property
from typing import TYPE_CHECKING

from bot import clock
from bot.posters.base import Capabilities, Outcome, OutgoingPost, Poster, PostError, Published

if TYPE_CHECKING:
    from bot.http import PlatformHTTP

SIGNATURE_HEADER = "X-Anniversary-Bot-Signature"
TIMESTAMP_HEADER = "X-Anniversary-Bot-Timestamp"
KEY_HEADER = "X-Anniversary-Bot-Key"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookPoster(Poster):
    name = "webhook"
    description = "POSTs each post as signed JSON to a URL you run"
    capabilities = Capabilities(replies=True, titles=True)
    secret_settings = ("url", "secret")
    Settings = "bot.posters.settings:WebhookSettings"

    @cached_property
    def http(self) -> PlatformHTTP:
        """Built when the adapter first sends or reads: a preview never imports requests."""
        from bot.http import PlatformHTTP

        return PlatformHTTP("webhook", read_timeout=self.settings.get("timeout", 30.0))

    @property
    def can_find(self) -> bool:  # type: ignore[override]
        return bool(self.settings.get("lookup_url"))

    def _headers(self, key: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(clock.now().timestamp()))
        return {
            "Content-Type": "application/json",
            KEY_HEADER: key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.settings["secret"], timestamp, body),
        }

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        payload = {
            "key": post.key,
            "thread_key": post.thread_key,
            "destination": self.destination,
            "event_id": post.event_id,
            "day": post.day.isoformat(),
            "number": post.number,
            "title": post.title,
            "body": post.body,
            "format": post.format,
            "sensitive": post.sensitive,
            "reply_to": previous.remote_id if previous else None,
            "lead": lead.remote_id if lead else None,
            "mentions": [{"id": m.id, "name": m.name} for m in post.mentions],
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        response = self.http.request(
            "POST", self.settings["url"], data=body, headers=self._headers(post.key, body)
        )
        return _published(response, post.key)

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        lookup = self.settings["lookup_url"]
        key_bytes = post.key.encode()
        try:
            response = self.http.request(
                "GET", lookup, params={"key": post.key}, headers=self._headers(post.key, key_bytes)
            )
        except PostError as error:
            if error.status == 404:
                return None
            raise
        return _published(response, post.key)

    def check(self) -> str:
        if not self.settings.get("lookup_url"):
            return "nothing to check without lookup_url (a POST would be a post)"
        self.find(
            OutgoingPost(key="config-check", thread_key="config-check", number=0, body="",
                         format="text", event_id="", day=clock.today()),
            None,
        )  # fmt: skip
        return "lookup_url answers"

    def close(self) -> None:
        if "http" in self.__dict__:  # built: the adapter sent or read something
            self.http.close()


def _published(response, key: str) -> Published:
    """A 2xx with an empty body or JSON is the receiver's acceptance; a body that is neither
    (a proxy's or gateway's page) did not come from the receiver: whether it kept the post is
    unknown, and the publish log looks it up (or asks a person) before any resend."""
    if not response.content.strip():
        return Published(remote_id=key)
    try:
        data = response.json()
    except ValueError:
        raise PostError(
            f"webhook answered {response.status_code} with something that is not JSON: "
            "not the receiver's answer",
            outcome=Outcome.UNKNOWN,
        ) from None
    if isinstance(data, dict) and data.get("id") is not None:
        return Published(remote_id=str(data["id"]), url=data.get("url"))
    return Published(remote_id=key)
