"""Opening the store's SQLite file, and saying in one line what is wrong with it.

- A new store is made only where no file exists, and made whole before anyone sees it: it is
  built (migrated, and seeded by the caller) in a temporary file beside the target, then linked
  into place, which fails if the name exists. Two processes creating the same store at once:
  the first link wins, the other opens the winner's store. So an empty (0-byte) file is never a
  store being born: it is refused, like a foreign database, instead of being initialised.
- Readers and writers wait for each other up to ``BUSY_TIMEOUT_SECONDS``; the store is in WAL
  mode, so readers never wait for a writer; a transaction that writes takes the write lock when
  it begins (``BEGIN IMMEDIATE``), so it waits instead of failing on a snapshot another writer
  made stale. When the wait runs out, the error names the process a lock file beside the store
  knows (``STORE.lock``: the daemon; ``STORE.publishing.lock``: whoever publishes).
- A store without write permission (or on a read-only folder or volume) is opened read-only, so
  the commands that only read still work; a read-only WAL store whose ``-shm`` cannot be created
  is opened ``immutable``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.errors import BotError, InputError

BUSY_TIMEOUT_SECONDS = 10.0
READ_ONLY_COMMANDS = "preview, export, events list/show, history, status"


class StoreDatabase(Database):
    """sqlite-utils' Database whose outermost ``atomic()`` is ``BEGIN IMMEDIATE``.

    A deferred transaction that reads and then writes fails at once (SQLITE_BUSY, no wait) when
    another process wrote in between; one that takes the write lock first waits its turn."""

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


class StoreConnection(sqlite3.Connection):
    """A connection to a store file, known to ``close_every_store`` while it is open.

    A connection is a reference cycle (through its statement cache): one a store did not
    close is closed, and its write-ahead log with it, only by the garbage collector."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _OPENED.add(self)


_OPENED: weakref.WeakSet[StoreConnection] = weakref.WeakSet()


def close_every_store() -> bool:
    """Close every store connection this process opened and has not closed yet: when a
    command ends (``bot.cli.main``). False when one is left open: one opened by another thread
    (the daemon's worker) can be closed only there, or by the garbage collector."""
    closed_all = True
    for conn in list(_OPENED):
        try:
            conn.close()
        except sqlite3.ProgrammingError:  # created in another thread
            closed_all = False
    return closed_all


@dataclass
class Connection:
    """A store file opened: read-write, else read-only."""

    conn: sqlite3.Connection
    read_only: bool


def _connect_file(target: str, timeout: float) -> sqlite3.Connection:
    # isolation_level IMMEDIATE: the transaction Python opens before a write takes the write
    # lock at once (see StoreDatabase)
    return sqlite3.connect(
        target, timeout=timeout, isolation_level="IMMEDIATE", factory=StoreConnection
    )


def _connect_read_only(path: Path, timeout: float) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, factory=StoreConnection)
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as error:
        conn.close()
        if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_CANTOPEN:
            raise
    # a WAL store needs its -shm, which a read-only folder cannot hold: nobody can write
    # there either, so the file cannot change under us and may be read as immutable
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout, factory=StoreConnection)


def connect(path: str, timeout: float) -> Connection:
    """Open an existing store file: read-write where the file and its folder are writable,
    else read-only. Refuses a folder and an empty file."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{path}: is a folder, not a store: give --db the store's file")
    if target.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty (0 bytes), not an anniversary-bot store: restore the "
            "store from a backup, or remove the empty file to start a new store"
        )
    # os.access, not the mode bits: it also says no on a read-only volume, even to root
    writable = os.access(target, os.W_OK) and os.access(target.parent, os.W_OK)
    if writable:
        return Connection(_connect_file(path, timeout), read_only=False)
    return Connection(_connect_read_only(target, timeout), read_only=True)


def use_wal(conn: sqlite3.Connection) -> bool:
    """Put the store in write-ahead-log mode (readers never wait for a writer; a writer waits
    only for another writer), if it is not already: False when another process holds it
    locked meanwhile (the next connection to open it tries again)."""
    if conn.execute("pragma journal_mode").fetchone()[0] == "wal":
        return True
    try:
        return conn.execute("pragma journal_mode = wal").fetchone()[0] == "wal"
    except sqlite3.OperationalError:
        return False


def check_ours(path: str, conn: sqlite3.Connection, migration_set: str, table: str) -> None:
    """Refuse a database that is not an anniversary-bot store (before anything writes to it)."""
    tables = [
        row[0]
        for row in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "order by name"
        )
    ]
    if not tables:
        raise InputError(
            f"{path}: an SQLite database with no tables, not an anniversary-bot store: give "
            "--db the store's file, or remove this one to start a new store"
        )
    ours = (
        table in tables
        and conn.execute(
            f"select 1 from [{table}] where migration_set = ? limit 1", [migration_set]
        ).fetchone()
    )
    if not ours:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise InputError(
            f"{path}: not an anniversary-bot store (its tables: {shown}): give --db the "
            "store's file; a new store is created only where no file exists"
        )


def create(
    path: str,
    build: Callable[[StoreDatabase], None],
    initialise: Callable[[StoreDatabase], None] | None = None,
) -> bool:
    """Make a new store at ``path``: ``build`` (the migrations) and ``initialise`` (the seed)
    run on a temporary file that is then linked into place. False when another process made
    the store first (then its store is the one to use)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BotError(
            f"{path}: cannot create the store's folder ({error.strerror}): give --db a "
            "writable place"
        ) from None
    import secrets  # only when a store is created: every command opens one

    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
    try:
        db = StoreDatabase(_connect_file(str(temporary), BUSY_TIMEOUT_SECONDS),
                           execute_plugins=False)  # fmt: skip
        try:
            use_wal(db.conn)
            build(db)
            if initialise is not None:
                initialise(db)
        finally:
            db.close()  # the last connection: the WAL is checkpointed into the file
        return _link(temporary, target)
    except OSError as error:
        raise BotError(
            f"{path}: cannot create the store ({error.strerror}): give --db a writable place"
        ) from None
    finally:
        for leftover in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{temporary}{leftover}")


def _link(temporary: Path, target: Path) -> bool:
    try:
        os.link(temporary, target)  # fails if the name exists: the first creator wins
        return True
    except FileExistsError:
        return False
    except OSError:
        # a file system without hard links: a rename, after a last look (a narrow race)
        if target.exists():
            return False
        os.replace(temporary, target)
        return True


def failure(path: str, error: sqlite3.Error, busy_timeout: float) -> BotError | None:
    """The one line a person sees for an SQLite error about the store file; None for an
    error that is not about the file (a bug)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    if primary == sqlite3.SQLITE_NOTADB:
        return InputError(
            f"{path}: not an SQLite database (damaged, or another kind of file): give --db the "
            "store's file, or restore the store from a backup"
        )
    if primary == sqlite3.SQLITE_CORRUPT:
        return InputError(
            f"{path}: the store is damaged ({error}): restore it from a backup; "
            f"'sqlite3 {path} .recover' may save what is left"
        )
    if primary == sqlite3.SQLITE_FULL:
        return BotError(
            f"{path}: the disk is full: this change was not saved; free some space and run the "
            "command again"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return read_only_failure(path)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        holders = lock_holders(path)
        who = f" ({'; '.join(holders)})" if holders else ""
        return BotError(
            f"{path}: another process{who} holds the store and kept it busy for over "
            f"{busy_timeout:g} s: run the command again when it has finished"
        )
    if primary == sqlite3.SQLITE_CANTOPEN:
        return BotError(
            f"{path}: cannot open the store file ({error}): check that it and its folder exist "
            "and can be read"
        )
    if primary == sqlite3.SQLITE_IOERR:
        return BotError(
            f"{path}: the disk failed to read or write the store ({error}): check the disk and "
            "run the command again"
        )
    return None


def read_only_failure(path: str) -> BotError:
    return BotError(
        f"{path}: the store is read-only (no write permission on the file or its folder, or a "
        f"read-only volume) and this command writes to it: make it writable, or use a command "
        f"that only reads ({READ_ONLY_COMMANDS})"
    )


def file_failure(path: str, error: OSError) -> BotError | None:
    """A file beside the store (its lock files) that cannot be written: the same one line as
    a read-only store; None for any other error."""
    beside = str(error.filename or "").startswith(path)
    if beside and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only_failure(path)
    return None


def lock_holders(path: str) -> list[str]:
    """Who the lock files beside the store name, if that process is still alive:
    ``pid 123 (anniversary-bot post ...), per STORE.publishing.lock``."""
    from bot.locks import describe, lock_path, named_in  # for this message only (start-up)

    found = []
    for lock in (lock_path(path, "publishing"), lock_path(path)):
        named = named_in(lock)
        if named is None or not _alive(named[0]):
            continue  # empty (released), or left by a process that is gone
        found.append(f"{describe(*named)}, per {lock}")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OverflowError:
        return False
    return True
