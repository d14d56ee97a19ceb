"""The store file: what is not a store is refused with one line, a new store is created only where
no file exists, a read-only store still answers the commands that only read, and two processes
opening the store at once wait for each other instead of failing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store
from tests.conftest import ROOT, write, write_config

REFERENCE_EVENT_ID = "1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky"

EVENT = """\
date: "1969-07-21"
title: A day after the landing
lead: The crew of Apollo 11 left the Moon.
parts:
  - blocks:
      - type: text
        text: One small step.
"""


@pytest.fixture
def db(sample_store_path, tmp_path) -> Path:
    target = tmp_path / "store.db"
    shutil.copy(sample_store_path, target)
    return target


def assert_one_line(result, exit_code: int, *words: str) -> str:
    code, _, err = result
    assert code == exit_code, err
    assert len(err.strip().splitlines()) == 1, err
    assert "unexpected" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def event_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("select count(*) from events").fetchone()[0]


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    finally:
        conn.close()


# --- what is not a store -------------------------------------------------------------------


def test_an_empty_file_is_refused_not_made_a_new_store(cli_run, tmp_path):
    path = tmp_path / "store.db"
    path.touch()
    err = assert_one_line(cli_run("--db", str(path), "events", "list"), 2, str(path), "empty")
    assert "remove" in err
    assert path.stat().st_size == 0
    assert not Path(f"{path}-wal").exists()


def test_a_foreign_sqlite_database_is_refused_not_migrated(cli_run, tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table users (id integer primary key, name text)")
        conn.execute("insert into users (name) values ('ada')")
    before = path.read_bytes()
    err = assert_one_line(
        cli_run("--db", str(path), "events", "list"), 2, str(path), "not an anniversary-bot store"
    )
    assert "users" in err
    assert table_names(path) == {"users"}
    assert path.read_bytes() == before


def test_another_tools_migrations_are_not_ours(cli_run, tmp_path):
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    other = Migrations("another-tool")

    @other()
    def m001_things(db):
        db["things"].create({"id": int}, pk="id")

    path = tmp_path / "other.db"
    database = Database(path)
    other.apply(database)
    database.close()
    assert_one_line(
        cli_run("--db", str(path), "post", "--dry-run"), 2, str(path), "not an anniversary-bot"
    )
    assert "events" not in table_names(path)


def test_a_database_without_tables_is_refused(cli_run, tmp_path):
    path = tmp_path / "blank.db"
    conn = sqlite3.connect(path)
    conn.execute("pragma user_version = 7")  # a valid header, no tables
    conn.close()
    assert path.stat().st_size > 0
    assert_one_line(cli_run("--db", str(path), "events", "list"), 2, str(path), "no tables")
    assert table_names(path) == set()


def test_junk_is_refused_with_what_to_do(cli_run, tmp_path):
    path = tmp_path / "junk.db"
    junk = bytes(range(256)) * 40
    path.write_bytes(junk)
    err = assert_one_line(cli_run("--db", str(path), "preview"), 2, str(path), "not an SQLite")
    assert "backup" in err
    assert path.read_bytes() == junk


def test_a_folder_is_refused(cli_run, tmp_path):
    assert_one_line(cli_run("--db", str(tmp_path), "events", "list"), 2, str(tmp_path), "folder")


def test_a_store_damaged_inside_says_so(cli_run, db):
    data = bytearray(db.read_bytes())
    # keep the header and the schema (page 1), break the pages the events live in
    start, end = len(data) // 4, 3 * len(data) // 4
    data[start:end] = bytes((i * 37 + 11) % 256 for i in range(end - start))
    db.write_bytes(bytes(data))
    err = assert_one_line(cli_run("--db", str(db), "export"), 2, str(db), "damaged")
    assert "backup" in err


def test_a_full_disk_is_one_line_and_nothing_is_written(cli_run, db, tmp_path, monkeypatch):
    import bot.store

    class StoreOnAFullDisk(bot.store.Store):
        # the command opens the existing store as bot.store.Store (bot/cli/base.py)
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            # SQLite's page limit gives the same SQLITE_FULL as a full disk
            pages = self.conn.execute("pragma page_count").fetchone()[0]
            self.conn.execute(f"pragma max_page_count = {pages}")

    monkeypatch.setattr(bot.store, "Store", StoreOnAFullDisk)
    many = "events:\n" + "".join(
        f"  - date: '1900-01-{day:02d}'\n    title: Event {n} on day {day}\n"
        f"    lead: {'A long lead. ' * 40}\n    parts: [{{blocks: [{{type: text, text: t}}]}}]\n"
        for n in range(60)
        for day in (1, 2, 3)
    )
    events_file = write(tmp_path / "many.yaml", many)
    before = event_count(db)
    err = assert_one_line(cli_run("--db", str(db), "import", str(events_file)), 1, str(db))
    assert "full" in err and "free" in err
    assert event_count(db) == before


# --- a new store ---------------------------------------------------------------------------


def test_db_of_a_missing_file_says_it_creates_a_store(cli_run, tmp_path):
    path = tmp_path / "new" / "store.db"
    code, out, err = cli_run("--db", str(path), "events", "list", "--date", "01-10")
    assert code == 0, err
    assert f"{path}" in err and "creating a new store" in err
    assert REFERENCE_EVENT_ID in out
    code, _, err = cli_run("--db", str(path), "events", "list", "--date", "01-10")
    assert code == 0 and "creating" not in err


def test_a_new_store_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "store.db"
    Store(path).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]


def test_an_older_store_is_upgraded_once(tmp_path):
    from sqlite_utils import Database

    from bot.store import migrations

    path = tmp_path / "old.db"
    database = Database(path)
    migrations.apply(database, stop_before="m003_publish_log")
    database.close()
    store = Store(path)
    assert store.db["publish_log"].exists()
    assert not migrations.pending(store.db)
    store.close()


# --- a read-only store ---------------------------------------------------------------------


def _can_bind_read_only(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && ! touch "$0/x"',
         str(probe)],
        capture_output=True,
    )  # fmt: skip
    return result.returncode == 0


def run_on_read_only(target: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI with ``target`` (the store file, or its folder) read-only.

    As root, file permissions do not apply, so the store is made read-only the way a read-only
    volume is: a read-only bind mount in a mount namespace of the child process only. As another
    user, taking away the write permission is enough."""
    env = {**os.environ, "ANNIVERSARY_BOT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot", *args]
    if os.geteuid() == 0:
        if not _can_bind_read_only(tmp_path):
            pytest.skip("root without a mount namespace cannot make a read-only store")
        command = ["unshare", "--mount", "sh", "-c",
                   'mount --bind -o ro "$0" "$0" && exec "$@"', str(target), *command]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    mode = target.stat().st_mode
    target.chmod(0o555 if target.is_dir() else 0o444)
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    finally:
        target.chmod(mode)


READ_ONLY_COMMANDS = [  # each with a piece of what it prints
    (["preview", "--date", "01-10"], "Trotsky"),
    (["preview", "--date", "01-10", "--json"], REFERENCE_EVENT_ID),
    (["export"], REFERENCE_EVENT_ID),
    (["events", "list", "--date", "01-10"], REFERENCE_EVENT_ID),
    (["events", "show", REFERENCE_EVENT_ID], "Trotsky"),
    (["history"], ""),
    (["status"], "box"),
]


@pytest.mark.processes
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_store_answers_every_command_that_only_reads(tmp_path, db, what):
    assert not Path(f"{db}-shm").exists()  # closed cleanly: WAL mode, no -shm to share
    target = db if what == "file" else db.parent
    config = write_config(
        tmp_path / "config" / "config.yaml",
        f"  box:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n",
        "timezone: UTC\n",
    )
    for command, shown in READ_ONLY_COMMANDS:
        result = run_on_read_only(target, tmp_path, "--config", str(config), "--db", str(db),
                                  *command)  # fmt: skip
        assert result.returncode == 0, (command, result.stderr)
        assert "Error" not in result.stderr, (command, result.stderr)
        assert shown in result.stdout, (command, result.stdout)


@pytest.mark.processes
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_command_that_writes_to_a_read_only_store_says_so(tmp_path, db, what):
    target = db if what == "file" else db.parent
    events_file = write(tmp_path / "events" / "apollo.yaml", EVENT)
    config = write_config(
        tmp_path / "config" / "config.yaml",
        f"  box:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n",
        "timezone: UTC\n",
    )
    before = event_count(db)
    for command in (["import", str(events_file)], ["post", "--date", "2026-01-10"]):
        result = run_on_read_only(
            target, tmp_path, "--config", str(config), "--db", str(db), *command
        )
        assert result.returncode == 1, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert str(db) in result.stderr and "read-only" in result.stderr
        assert "unexpected" not in result.stderr
    assert event_count(db) == before
    assert not (tmp_path / "outbox").exists()


# --- two processes ---------------------------------------------------------------------------


def start(*args: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "ANNIVERSARY_BOT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.mark.processes
@pytest.mark.parametrize("trial", range(4))
def test_two_posts_on_a_new_store_both_open_it(tmp_path, trial):
    path = tmp_path / "store.db"
    config = write_config(
        tmp_path / "config.yaml",
        f"  box:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n",
        "timezone: UTC\n",
    )
    args = ("--config", str(config), "--db", str(path), "post", "--date", "2026-01-10")
    first, second = start(*args, home=tmp_path / "home"), start(*args, home=tmp_path / "home")
    results = [finish(first), finish(second)]
    for _, out, err in results:
        assert "locked" not in err and "cannot open" not in err and "unexpected" not in err, err
        assert "no events" not in out + err, (out, err)  # neither saw a store not yet seeded
    assert any(code == 0 for code, _, _ in results), results
    store = Store(path)
    assert store.count_events() > 366
    sent = store.conn.execute(
        "select count(*) from publish_log where state = 'sent' and day = '2026-01-10'"
    ).fetchone()[0]
    assert sent == 3  # the reference thread: a lead and two replies, each sent once
    store.close()


@pytest.mark.processes
def test_readers_do_not_wait_for_a_writer_and_writers_wait_their_turn(tmp_path, db):
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")  # another process writing, for as long as it takes
    holder.execute("update events set priority = priority where id = ?", [REFERENCE_EVENT_ID])
    try:
        reader = start("--db", str(db), "events", "list", "--date", "01-10", home=tmp_path / "h")
        code, out, err = finish(reader)
        assert code == 0, err
        assert REFERENCE_EVENT_ID in out
        writer = start("--db", str(db), "import", str(write(tmp_path / "a.yaml", EVENT)),
                       home=tmp_path / "h")  # fmt: skip
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=1.5)  # still waiting for the holder, not failed at once
    finally:
        holder.execute("commit")
        holder.close()
    code, out, err = finish(writer)
    assert code == 0, err
    assert "1 new" in out + err


@pytest.mark.parametrize(
    "lock_name, content, named",
    [
        ("store.db.publishing.lock", "{pid} anniversary-bot post --date 01-10\n",
         "pid {pid} (anniversary-bot post"),
        ("store.db.lock", "{pid}", "pid {pid}"),
    ],
)  # fmt: skip
def test_a_wait_that_runs_out_names_who_holds_the_store(
    cli_run, tmp_path, db, monkeypatch, lock_name, content, named
):
    import bot.store_file

    monkeypatch.setattr(bot.store_file, "BUSY_TIMEOUT_SECONDS", 0.2)
    pid = os.getpid()  # this test holds the store: a live process the lock file names
    (tmp_path / lock_name).write_text(content.format(pid=pid))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")
    holder.execute("update events set priority = priority where id = ?", [REFERENCE_EVENT_ID])
    try:
        result = cli_run("--db", str(db), "import", str(write(tmp_path / "a.yaml", EVENT)))
    finally:
        holder.execute("rollback")
        holder.close()
    err = assert_one_line(result, 1, str(db), "another process", named.format(pid=pid))
    assert "again" in err


@pytest.mark.processes
def test_a_lock_file_of_a_process_that_is_gone_is_not_named(cli_run, tmp_path, db, monkeypatch):
    import bot.store_file

    monkeypatch.setattr(bot.store_file, "BUSY_TIMEOUT_SECONDS", 0.2)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    (tmp_path / "store.db.lock").write_text(gone)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin immediate")
    holder.execute("update events set priority = priority where id = ?", [REFERENCE_EVENT_ID])
    try:
        result = cli_run("--db", str(db), "import", str(write(tmp_path / "a.yaml", EVENT)))
    finally:
        holder.execute("rollback")
        holder.close()
    err = assert_one_line(result, 1, str(db), "another process")
    assert f"pid {gone}" not in err
