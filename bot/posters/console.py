"""``console``: prints each post to standard output."""

from __future__ import annotations

import sys

from pydantic import BaseModel, ConfigDict

from bot.posters.base import Capabilities, OutgoingPost, Poster, Published


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = "text"


class ConsolePoster(Poster):
    name = "console"
    description = "prints each post to standard output"
    capabilities = Capabilities(replies=True, titles=True)
    Settings = ConsoleSettings

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        header = f"=== {self.destination} · {post.event_id} · post {post.number}"
        if post.title:
            header += f" · {post.title}"
        sys.stdout.write(f"{header}\n{post.body}\n\n")
        sys.stdout.flush()
        return Published(remote_id=post.key)
