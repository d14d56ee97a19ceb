"""Locks beside the store file that the kernel drops when their holder dies.

Two locks, both ``flock`` on a file next to the store:

- ``STORE.lock``, the daemon's: one ``anniversary-bot run`` per store, held for its life.
- ``STORE.publishing.lock``: whoever publishes (the daemon's job, ``post``, ``retry``,
  ``run --once``) holds it while it sends one destination's day. A second process waits for it
  (a bounded time) instead of sending beside the first. Holding it is also what lets the holder
  treat a row it finds in "sending" as left by a crash or an unanswered request, never as a post
  another live process is sending right now.

The file holds one line, ``PID COMMAND``, so a process that waits or gives up can say who holds
the store.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, ClassVar

from bot.errors import BotError

POLL_SECONDS = 0.05
DEFAULT_WAIT_SECONDS = 600.0  # a long thread with rate limits takes minutes, never an hour


def lock_path(store_path: str | Path, kind: str = "") -> Path:
    return Path(f"{store_path}{'.' + kind if kind else ''}.lock")


def named_in(path: Path) -> tuple[int, str] | None:
    """The (pid, command) a lock file names; None when it is empty (released) or unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    pid, _, command = text.partition(" ")
    return (int(pid), command) if pid.isdigit() else None


def describe(pid: int, command: str) -> str:
    return f"pid {pid}" + (f" ({command})" if command else "")


def holder(path: Path) -> str | None:
    """Who holds (or last held) the lock file: "pid 123 (anniversary-bot post)"."""
    named = named_in(path)
    return describe(*named) if named else None


def _command_line() -> str:
    words = [Path(sys.argv[0]).name if sys.argv else "python"] + sys.argv[1:4]
    return " ".join(w for w in words if w)[:120]


class FileLock:
    """An exclusive ``flock`` on ``path``; ``wait`` seconds at most (0: try once)."""

    def __init__(
        self,
        path: Path,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.handle: IO[str] | None = None
        self._monotonic = monotonic
        self._pause = pause

    def acquire(self, wait: float = 0.0, on_wait: Callable[[str], None] | None = None) -> bool:
        """True when acquired; False when another process still holds it after ``wait``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - the lock lives with it
        deadline = self._monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if self._monotonic() >= deadline:
                    handle.close()
                    return False
                if on_wait is not None and not told:
                    on_wait(holder(self.path) or "another process")
                    told = True
                self._pause(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {_command_line()}\n")
        handle.flush()
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            # emptied first: a reader never names a process that no longer holds it
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.flush()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class PublishingLock(FileLock):
    """Held while one process sends a destination's day; see the module docstring.

    Re-entrant within a process (the daemon's job holds it around ``publish_day``, which takes
    it too): a second ``flock`` on another descriptor of the same file would wait for itself."""

    _held: ClassVar[dict[Path, int]] = {}

    def __init__(
        self,
        store_path: str | Path,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            lock_path(store_path, "publishing").resolve(), monotonic=monotonic, pause=pause
        )
        self.store_path = store_path
        self._nested = False

    def hold(
        self, wait: float = DEFAULT_WAIT_SECONDS, on_wait: Callable[[str], None] | None = None
    ) -> PublishingLock:
        if self._held.get(self.path):
            self._held[self.path] += 1
            self._nested = True
            return self
        if not self.acquire(wait, on_wait):
            who = holder(self.path) or "another process"
            raise StoreBusy(
                f"{self.store_path}: {who} is still publishing from this store after "
                f"{wait:g} s: nothing was sent; run the command again when it has finished"
            )
        self._held[self.path] = 1
        return self

    def release(self) -> None:
        count = self._held.get(self.path, 0)
        if count > 1 or self._nested:
            self._held[self.path] = max(count - 1, 0)
            self._nested = False
            return
        self._held.pop(self.path, None)
        super().release()


class StoreBusy(BotError):
    """Another process holds the store's publishing lock for too long."""


class NoLock:
    """For a store in memory: no other process can reach it."""

    def hold(
        self, wait: float = DEFAULT_WAIT_SECONDS, on_wait: Callable[[str], None] | None = None
    ) -> NoLock:
        return self

    def release(self) -> None:
        return None

    def __enter__(self) -> NoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def publishing_lock(store_path: str | Path) -> PublishingLock | NoLock:
    if str(store_path) == ":memory:":
        return NoLock()
    return PublishingLock(store_path)
