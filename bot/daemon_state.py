"""What a monitor can learn about the daemon (``anniversary-bot run``) from the files beside
its store, without asking it: whether it runs (it holds ``STORE.lock``, see ``bot.locks``),
which process it is and since when (the lock file names the holder and is written when it
takes the lock), and when it last swept (``STORE.last-sweep``, rewritten after each sweep)."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from bot.locks import lock_path, named_in


@dataclass(frozen=True)
class DaemonState:
    running: bool
    pid: int | None = None
    command: str | None = None
    since: dt.datetime | None = None  # when it took the lock: when it started


def daemon_state(store_path: str | Path) -> DaemonState:
    """Whether a daemon holds the store's instance lock now. The lock is only tried, never
    taken (a shared, non-blocking ``flock`` that fails while the daemon holds its exclusive
    one), so asking writes nothing and a daemon starting at that moment is not delayed."""
    path = lock_path(store_path)
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, after the try
    except OSError:
        return DaemonState(running=False)  # never started here, or the folder is unreadable
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            named = named_in(path)
            written = os.fstat(handle.fileno()).st_mtime
            since = dt.datetime.fromtimestamp(written, dt.UTC).replace(microsecond=0)
            if named is None:
                return DaemonState(running=True, since=since)
            return DaemonState(True, named[0], named[1], since)
        fcntl.flock(handle, fcntl.LOCK_UN)
        return DaemonState(running=False)
    finally:
        handle.close()


def sweep_path(store_path: str | Path) -> Path:
    return Path(f"{store_path}.last-sweep")


def record_sweep(store_path: str | Path, when: dt.datetime) -> None:
    """Remember that the daemon swept at ``when`` (written whole: a reader never sees half)."""
    if str(store_path) == ":memory:":
        return
    path = sweep_path(store_path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(when.astimezone(dt.UTC).isoformat(timespec="seconds") + "\n")
    os.replace(temporary, path)


def last_sweep(store_path: str | Path) -> dt.datetime | None:
    """When the daemon of this store last swept; None when it never did (or the file is
    unreadable, which a monitor sees as "never": the daemon rewrites it every few minutes)."""
    try:
        text = sweep_path(store_path).read_text(encoding="utf-8").strip()
        return dt.datetime.fromisoformat(text)
    except (OSError, ValueError):
        return None
