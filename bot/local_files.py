"""Image files named in events: inside the folder of the event file, images by content, small.

An event's ``file:`` is read from the folder of the event file it came from and nowhere else:
not through ``..``, not through an absolute path elsewhere, not through a symbolic link that
leads out of the folder. The file must be a JPEG, PNG, GIF or WebP by its first bytes (its name
says nothing) and at most ``MAX_IMAGE_BYTES``. ``resolve_image`` checks this at import and
stores the resolved path; ``read_image`` checks the file again when an adapter uploads it, so
that a file swapped after import (for a key file, or for a symbolic link) is not uploaded.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath

from bot.errors import InputError

MAX_IMAGE_BYTES = 10 * 1024 * 1024


class ImageKind(Enum):
    """The image types the bot uploads, with their media type."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    GIF = "image/gif"
    WEBP = "image/webp"

    @property
    def mime(self) -> str:
        return self.value


def image_kind(header: bytes) -> ImageKind | None:
    """The image type its first bytes say (the formats' signatures), else None."""
    if header.startswith(b"\xff\xd8\xff"):
        return ImageKind.JPEG
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageKind.PNG
    if header.startswith((b"GIF87a", b"GIF89a")):
        return ImageKind.GIF
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return ImageKind.WEBP
    return None


class ImageFileError(InputError):
    """An image file that may not be read: ``reason`` completes "the image file PATH ..."."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"image file {path} {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class ImageFile:
    """An image read for upload: the bytes that were checked are the bytes sent."""

    name: str
    kind: ImageKind
    content: bytes


_NOT_AN_IMAGE = "is not an image (JPEG, PNG, GIF or WebP) by its content"
_TOO_LARGE = f"is larger than {MAX_IMAGE_BYTES // 2**20} MB"


def _read_checked(path: Path) -> ImageFile:
    """Open ``path`` without following a symbolic link in its last part, and read it if it is
    a regular file, at most ``MAX_IMAGE_BYTES``, an image by content."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise ImageFileError(path, "not found") from None
    except OSError as error:
        if path.is_symlink():
            raise ImageFileError(path, "is a symbolic link") from None
        raise ImageFileError(path, f"cannot be read: {error.strerror}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ImageFileError(path, "is not a regular file")
        if info.st_size > MAX_IMAGE_BYTES:
            raise ImageFileError(path, _TOO_LARGE)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            content = handle.read(MAX_IMAGE_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(content) > MAX_IMAGE_BYTES:
        raise ImageFileError(path, _TOO_LARGE)
    kind = image_kind(content[:16])
    if kind is None:
        raise ImageFileError(path, _NOT_AN_IMAGE)
    return ImageFile(path.name, kind, content)


def resolve_image(name: str, folder: str | Path) -> Path:
    """The image file ``name`` (as written in an event file in ``folder``), resolved, checked.

    Raises ``ValueError`` with what is wrong (the validator adds file, line and field)."""
    if "\x00" in name or not name.strip():
        raise ValueError("expected the path of an image file")
    written = PurePath(name)
    if ".." in written.parts:
        raise ValueError(f"{name!r} may not go up a folder (..): keep images beside the events")
    root = Path(folder).resolve()
    try:
        resolved = (root / written).resolve(strict=True)
    except FileNotFoundError:
        raise ValueError(f"{name!r} not found in {root}") from None
    except (OSError, RuntimeError) as error:  # a symbolic link loop
        raise ValueError(f"{name!r} cannot be read: {error}") from None
    if not resolved.is_relative_to(root):
        raise ValueError(
            f"{name!r} leads outside the folder of the event file ({root}): keep images in it"
        )
    try:
        _read_checked(resolved)
    except ImageFileError as error:
        raise ValueError(f"{name!r} {error.reason}") from None
    return resolved


def read_image(stored: str) -> ImageFile:
    """The image at the path ``resolve_image`` stored, checked again as it is read for upload.

    Raises ``ImageFileError`` when it is gone, is no longer an image, has grown too large, or
    when a symbolic link was put in its place or in the place of one of its folders."""
    path = Path(stored)
    if not path.is_absolute():
        raise ImageFileError(path, "is not a path resolved at import")
    try:
        real = Path(os.path.realpath(path))
    except OSError as error:
        raise ImageFileError(path, f"cannot be read: {error}") from None
    if real != path and path.exists():
        raise ImageFileError(path, "is reached through a symbolic link since it was imported")
    return _read_checked(path)
