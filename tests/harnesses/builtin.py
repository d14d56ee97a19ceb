"""Harnesses for the contract suite (bot.testing) of the adapters that need no platform: the
file outbox, the console and the signed webhook (posted to a local receiver)."""

from __future__ import annotations

from typing import Any

from bot.testing import Harness
from tests.servers import WebhookReceiver

WEBHOOK_SECRET = "contract-shared-secret-0123456789"


class OutboxHarness(Harness):
    name = "outbox"

    def settings(self) -> dict[str, Any]:
        return {"path": str(self.tmp_path / "outbox"), "format": "text"}

    def received(self) -> list[str]:
        files = sorted((self.tmp_path / "outbox").rglob("*.txt"))
        return [f.read_text().rstrip("\n") for f in files]


class ConsoleHarness(Harness):
    name = "console"

    def settings(self) -> dict[str, Any]:
        return {"format": "text"}

    def received(self) -> list[str]:
        out = self.capsys.readouterr().out
        return [chunk.split("\n", 1)[1].rstrip("\n") for chunk in out.split("=== ")[1:]]


class WebhookHarness(Harness):
    name = "webhook"

    def __init__(self, tmp_path: Any, capsys: Any) -> None:
        super().__init__(tmp_path, capsys)
        self.server = WebhookReceiver(WEBHOOK_SECRET).__enter__()

    def settings(self) -> dict[str, Any]:
        return {"url": self.server.url, "secret": WEBHOOK_SECRET, "format": "text",
                "lookup_url": self.server.lookup_url, "timeout": 5.0}  # fmt: skip

    def received(self) -> list[str]:
        return [posts[0]["body"] for posts in self.server.accepted.values()]

    def close(self) -> None:
        self.server.__exit__(None, None, None)
