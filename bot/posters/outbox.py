"""``outbox``: each post written as a file in a folder, for a person to paste or a tool to pick up.

Files are written atomically (a temporary file renamed into place), so a crash never leaves half
a post; the JSON sidecar is written last, and ``find`` reads it, so a post whose sidecar exists
was published and one without it is simply written again.

A post's files are ``<day>/<event id>-<post number>``: an id too long for a file name (over 120
characters) is cut and a hash of the whole id added, so two events never share a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from bot.posters.base import Capabilities, OutgoingPost, Poster, PostError, Published

EXTENSIONS = {"text": ".txt", "markdown": ".md", "html": ".html"}


def write_atomically(path: Path, content: str, durable: bool = True) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed); ``durable``: on the disk
    before the rename, so that a crash cannot leave it empty (a post must survive; a page of
    the preview site, which is written again in a moment, need not wait for the disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(content)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


NAME_LENGTH = 120  # of the event id's part of a file name: names stay well under 255 bytes
HASH_LENGTH = 10


def old_file_name_part(event_id: str) -> str:
    """The name every outbox used before long ids got a hash: two ids sharing their first 120
    characters got the same name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", event_id)[:NAME_LENGTH]


def file_name_part(event_id: str) -> str:
    """The event id's part of a post's file name: the id itself where it fits and is safe as a
    name (as it always was); else its safe first characters and a hash of the whole id, so that
    two ids never share a name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", event_id)
    if safe == event_id and len(safe) <= NAME_LENGTH:
        return safe
    digest = hashlib.sha256(event_id.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    return f"{safe[: NAME_LENGTH - HASH_LENGTH - 1]}-{digest}"


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

    def _paths(self, post: OutgoingPost, name: str | None = None) -> tuple[Path, Path]:
        stem = f"{post.day.isoformat()}/{name or file_name_part(post.event_id)}-{post.number:02d}"
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
        name, old_name = file_name_part(post.event_id), old_file_name_part(post.event_id)
        for candidate in (name, old_name) if old_name != name else (name,):
            body_path, sidecar_path = self._paths(post, candidate)
            try:
                sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            # the sidecar's key, not the file name, says whose post this is: a file of another
            # post under the same name (written before names were unique) is not this post
            if sidecar.get("key") == post.key and body_path.exists():
                remote_id = str(body_path.relative_to(self.folder))
                return Published(remote_id=remote_id, url=body_path.as_uri())
        return None

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
