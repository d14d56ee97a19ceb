"""``outbox``: each post written as a file in a folder, for a person to paste or a tool to pick up.

Files are written atomically (a temporary file renamed into place), so a crash never leaves half
a post; the JSON sidecar is written last, and ``find`` reads it, so a post whose sidecar exists
was published and one without it is simply written again.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from bot.posters.base import Capabilities, OutgoingPost, Poster, PostError, Published

EXTENSIONS = {"text": ".txt", "markdown": ".md", "html": ".html"}


def write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class OutboxPoster(Poster):
    name = "outbox"
    description = "writes each post as a file (.txt, .md or .html) plus a JSON sidecar"
    capabilities = Capabilities(replies=True, titles=True, mention_syntax="{name}")
    can_find = True
    Settings = "bot.posters.settings:OutboxSettings"

    @classmethod
    def prepare_settings(cls, settings: dict[str, Any], base: Path) -> dict[str, Any]:
        path = Path(settings["path"]).expanduser()
        settings["path"] = str(path if path.is_absolute() else base / path)
        return settings

    @property
    def folder(self) -> Path:
        return Path(self.settings["path"])

    def _paths(self, post: OutgoingPost) -> tuple[Path, Path]:
        safe_thread = re.sub(r"[^A-Za-z0-9._-]+", "_", post.event_id)[:120]
        stem = f"{post.day.isoformat()}/{safe_thread}-{post.number:02d}"
        ext = EXTENSIONS[post.format]
        return self.folder / f"{stem}{ext}", self.folder / f"{stem}.json"

    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        body_path, sidecar_path = self._paths(post)
        try:
            write_atomically(body_path, post.body + "\n")
            sidecar = {
                "key": post.key,
                "event_id": post.event_id,
                "day": post.day.isoformat(),
                "number": post.number,
                "title": post.title,
                "format": post.format,
                "reply_to": previous.remote_id if previous else None,
                "mentions": [{"id": m.id, "name": m.name} for m in post.mentions],
                "length": len(post.body),
                "file": body_path.name,
            }
            write_atomically(sidecar_path, json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n")
        except OSError as error:
            raise PostError(
                f"outbox {self.folder}: cannot write {body_path.name}: {error.strerror}"
            ) from None
        return Published(remote_id=str(body_path.relative_to(self.folder)), url=body_path.as_uri())

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        body_path, sidecar_path = self._paths(post)
        try:
            sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if sidecar.get("key") != post.key or not body_path.exists():
            return None
        return Published(remote_id=str(body_path.relative_to(self.folder)), url=body_path.as_uri())

    def check(self) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".write-check"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise PostError(
                f"outbox {self.folder}: not writable: {error.strerror}", retryable=False
            ) from None
        return f"folder {self.folder} is writable"
