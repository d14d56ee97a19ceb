"""The example plugin's harness for the bot's contract suite (bot.testing.contract),
registered under the entry-point group ``anniversary_bot.harnesses``: the bot's own contract
test finds it there, and ``test_example_poster.py`` runs the suite over it from this folder."""

from __future__ import annotations

import json
from typing import Any

from bot.testing import Harness


class JsonLinesHarness(Harness):
    name = "jsonl"

    def settings(self) -> dict[str, Any]:
        return {"path": str(self.tmp_path / "posts.jsonl"), "format": "text"}

    def received(self) -> list[str]:
        path = self.tmp_path / "posts.jsonl"
        return [json.loads(line)["body"] for line in path.read_text().splitlines()]
