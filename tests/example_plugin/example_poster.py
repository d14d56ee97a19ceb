"""An example third-party adapter: appends each post as one JSON line to a file.

Installed as a plugin (``pip install ./tests/example_plugin``), it registers itself under the
entry-point group ``anniversary_bot.posters`` with the name ``jsonl``; a destination then uses
it with ``type: jsonl`` and ``path: posts.jsonl``.

Its imaginary platform has its own members: a member's handle there is ``~name`` (given as
``handles: {jsonl: "~jane"}`` or a ``jsonl`` column in a members CSV), a post mentions them by
writing it, and ``~`` in event text must therefore be made inert. Nothing in the bot knows about
"jsonl": the three class attributes and the ``escape`` rule below are all it takes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bot.posters import Capabilities, HandleFormat, OutgoingPost, Poster, Published
from bot.posters.base import platform_rule

ZERO_WIDTH_SPACE = "\u200b"
# "~name" in event text would be read as a mention: a zero-width space after "~" keeps it a word
_TILDE_WORD = re.compile(r"~(?=\w)")


class JsonLinesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    format: str = "text"


class JsonLinesPoster(Poster):
    name = "jsonl"
    description = "example plugin: appends each post as a JSON line to a file"
    test_only = True  # installed by the test command: `anniversary-bot posters` hides it
    # mention_syntax is how Poster.mention writes a member who has a handle here
    capabilities = Capabilities(
        max_length=100_000, max_mentions=20, replies=True, titles=True, mention_syntax="{handle}"
    )
    platform = "jsonl"  # the key of members' handles, and the members CSV column
    handle_format = HandleFormat(r"~[a-z0-9_]{1,32}", "~name", sample="~jane")
    can_find = True
    Settings = JsonLinesSettings

    @platform_rule
    def escape(self, text: str, fmt: str) -> str:
        # the contract's escape (Markdown, "@name"), then this platform's own mention sign
        return _TILDE_WORD.sub("~" + ZERO_WIDTH_SPACE, super().escape(text, fmt))

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
            # who this post notifies: the members listed in it with a handle here
            "mentions": [m.handle(self.platform) for m in post.mentions if m.handle(self.platform)],
        }
        with open(self.settings["path"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return Published(remote_id=post.key)

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        for record in self._lines():
            if record["key"] == post.key:
                return Published(remote_id=post.key)
        return None
