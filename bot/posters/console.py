"""``console``: prints each post to standard output."""

from __future__ import annotations

import sys

from bot.posters.base import Capabilities, OutgoingPost, Poster, Published


class ConsolePoster(Poster):
    name = "console"
    description = "prints each post to standard output"
    capabilities = Capabilities(replies=True, titles=True)
    Settings = "bot.posters.settings:ConsoleSettings"

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        header = f"=== {self.destination} · {post.event_id} · post {post.number}"
        if post.title:
            header += f" · {post.title}"
        sys.stdout.write(f"{header}\n{post.body}\n\n")
        sys.stdout.flush()
        return Published(remote_id=post.key)
