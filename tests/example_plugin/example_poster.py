"""An example third-party adapter: appends each post as one JSON line to a file.

Installed as a plugin (``pip install ./tests/example_plugin``), it registers itself under the
entry-point group ``anniversary_bot.posters`` with the name ``jsonl``; a destination then uses
it with ``type: jsonl`` and ``path: posts.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bot.posters import Capabilities, OutgoingPost, Poster, Published


class JsonLinesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    format: str = "text"


class JsonLinesPoster(Poster):
    name = "jsonl"
    description = "example plugin: appends each post as a JSON line to a file"
    capabilities = Capabilities(max_length=100_000, replies=True, titles=True)
    can_find = True
    Settings = JsonLinesSettings

    def _lines(self) -> list[dict]:
        path = Path(self.settings["path"])
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        record = {
            "key": post.key,
            "number": post.number,
            "title": post.title,
            "body": post.body,
            "reply_to": previous.remote_id if previous else None,
        }
        with open(self.settings["path"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return Published(remote_id=post.key)

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        for record in self._lines():
            if record["key"] == post.key:
                return Published(remote_id=post.key)
        return None
