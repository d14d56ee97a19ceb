"""Importing the data set again: a record stored unchanged is known by its source digest, and
its row is not made again; what is stored stays what a full import stores."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys

import pytest

import bot.events.loader
from bot.store import Store
from tests.conftest import write


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


@pytest.fixture
def rows_made(monkeypatch):
    """How many rows the import makes (calls of ``wiki_record_row``), from now on."""
    made = []
    make = bot.events.loader.wiki_record_row

    def counted(record, event_id=None):
        made.append(record["text"])
        return make(record, event_id)

    monkeypatch.setattr(bot.events.loader, "wiki_record_row", counted)
    return made


def _record(text: str, **more: object) -> dict[str, object]:
    return {"year": 1928, "month": 1, "day": 10, "kind": "event", "text": text, **more}


def _lines(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _stored(db) -> list[tuple]:
    store = Store(db)
    try:
        columns = "id, title, lead, source, parts, importance, subject, pages"
        return store.conn.execute(f"select {columns} from events order by id").fetchall()
    finally:
        store.close()


def _refused(tmp_path, cli_run, path, code: int = 2) -> str:
    """The error of an import of ``path`` into a new, empty store: exit ``code``, one line,
    nothing stored."""
    db = tmp_path / "s.db"
    Store(db).close()
    exit_code, _, err = cli_run("--db", str(db), "import", str(path))
    assert exit_code == code and len(err.strip().splitlines()) == 1, err
    assert _stored(db) == []
    return err


RECORDS = [
    _record(f"Event number {n} of the day.", links=[
        {"title": f"Page {n}", "url": f"https://en.wikipedia.org/wiki/Page_{n}"}])
    for n in range(5)
]  # fmt: skip


def test_unchanged_records_are_counted_without_making_their_rows(tmp_path, cli_run, rows_made):
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    db = tmp_path / "s.db"
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err and "(5 new, 0 updated" in out
    assert len(rows_made) == 5
    stored = _stored(db)
    rows_made.clear()
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert "Imported 5 events (0 new, 0 updated, 5 unchanged)" in out
    assert rows_made == [] and _stored(db) == stored


def test_a_changed_record_is_updated_then_unchanged(tmp_path, cli_run, rows_made):
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    changed = [*RECORDS[:4], {**RECORDS[4], "source": "https://en.wikipedia.org/wiki/January_10"}]
    write(path, _lines(changed))
    rows_made.clear()
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert "(0 new, 1 updated, 4 unchanged)" in out and len(rows_made) == 1
    assert [row[3] for row in _stored(db)].count("https://en.wikipedia.org/wiki/January_10") == 1
    rows_made.clear()
    code, out, _ = cli_run("--db", str(db), "import", str(path))
    assert "(0 new, 0 updated, 5 unchanged)" in out and rows_made == []


def test_rows_stored_without_a_digest_get_one_on_the_next_import(tmp_path, cli_run, rows_made):
    """A store written before digests were (migration m012 adds the column empty): its rows
    are made once more, found unchanged, and given their digest."""
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    stored = _stored(db)
    store = Store(db)
    with store.atomic():
        store.conn.execute("update events set source_digest = null")
    store.close()
    rows_made.clear()
    code, out, _ = cli_run("--db", str(db), "import", str(path))
    assert "(0 new, 0 updated, 5 unchanged)" in out and len(rows_made) == 5
    rows_made.clear()
    code, out, _ = cli_run("--db", str(db), "import", str(path))
    assert "(0 new, 0 updated, 5 unchanged)" in out and rows_made == []
    assert _stored(db) == stored


def test_other_code_makes_every_row_again(tmp_path, cli_run, rows_made, monkeypatch):
    """The digest is of the line and of the code that makes its row: a version of the bot
    whose rows could differ takes no stored row for unchanged."""
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    other = hashlib.blake2b(digest_size=8, key=b"another version of the code")
    monkeypatch.setattr(bot.events.loader, "_row_code", lambda: other)
    rows_made.clear()
    code, out, _ = cli_run("--db", str(db), "import", str(path))
    assert "(0 new, 0 updated, 5 unchanged)" in out and len(rows_made) == 5


def test_a_curated_event_is_never_taken_for_an_unchanged_record(tmp_path, cli_run, rows_made):
    """A record promoted to a curated event keeps the curator's event: the import makes its
    row, and the store keeps the curated one (``events_keep_curated``)."""
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    store = Store(db)
    with store.atomic():
        store.conn.execute(
            "update events set origin = 'curated', title = 'Curated' where rowid = 1"
        )
    store.close()
    rows_made.clear()
    code, out, _ = cli_run("--db", str(db), "import", str(path))
    assert "(0 new, 0 updated, 5 unchanged)" in out and len(rows_made) == 1
    assert [row[1] for row in _stored(db)].count("Curated") == 1


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of a few lines: the first record of an id and its repeat in different pieces."""
    monkeypatch.setattr(bot.events.loader, "_CHUNK_BYTES", 400)


@pytest.mark.parametrize("pieces", ["one piece", "small pieces"])
def test_a_repeat_written_otherwise_is_merged_when_the_first_is_unchanged(
    tmp_path, cli_run, request, pieces
):
    """The same record on two lines written differently (the same row, another digest) is
    merged, also when the first of them is stored unchanged and its row not made."""
    if pieces == "small pieces":
        request.getfixturevalue("small_pieces")
    again = json.dumps(RECORDS[1], indent=None, separators=(",", ":"))
    path = write(tmp_path / "d.jsonl", _lines(RECORDS) + again + "\n")
    db = tmp_path / "s.db"
    for added in (5, 0):
        code, out, err = cli_run("--db", str(db), "import", str(path))
        assert code == 0, err
        assert f"({added} new, 0 updated" in out and "1 identical duplicate merged" in out


def test_a_repeat_of_another_row_is_refused_when_the_first_is_unchanged(
    tmp_path, cli_run, small_pieces
):
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    stored = _stored(db)
    other = {**RECORDS[1], "source": "https://en.wikipedia.org/wiki/January_10"}
    write(path, _lines([*RECORDS, other]))
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{path}:6: duplicate record id '1928-01-10-event-" in err
    assert f"also at {path}:2" in err
    assert _stored(db) == stored


def test_a_day_is_still_read_through_an_index_of_month_and_day(tmp_path):
    """m012 drops the index of (month, day): another index that starts with (month, day) serves
    a day (that of (month, day, origin), or one of m014's)."""
    store = Store(tmp_path / "s.db")
    indexes = {row[0] for row in store.conn.execute("select name from pragma_index_list('events')")}
    assert "idx_events_month_day" not in indexes
    plan = store.conn.execute(
        "explain query plan select id from events where month = 1 and day = 10"
    ).fetchall()
    assert "USING INDEX idx_events_month_day_" in str(plan), plan
    assert "(month=? AND day=?)" in str(plan), plan


# --- a first import: rows made by a second process while the store writes ------------------


@pytest.fixture
def in_background(monkeypatch):
    """Every file large enough for a second process to make its rows; pieces of 2 records."""
    monkeypatch.setattr(bot.events.loader, "BACKGROUND_BYTES", 0)
    monkeypatch.setattr(bot.events.loader, "_CHUNK_BYTES", 400)


def test_rows_made_in_a_second_process_are_the_same(tmp_path, cli_run, monkeypatch):
    records = [*RECORDS, _record("A birth.", kind="birth"), RECORDS[2]]
    path = write(tmp_path / "d.jsonl", _lines(records))
    code, here, err = cli_run("--db", str(tmp_path / "here.db"), "import", str(path))
    assert code == 0, err
    monkeypatch.setattr(bot.events.loader, "BACKGROUND_BYTES", 0)
    monkeypatch.setattr(bot.events.loader, "_CHUNK_BYTES", 400)
    code, there, err = cli_run("--db", str(tmp_path / "there.db"), "import", str(path))
    assert code == 0, err
    assert "(6 new, 0 updated, 1 identical duplicate merged)" in there
    assert here.replace("here.db", "there.db") == there
    assert _stored(tmp_path / "there.db") == _stored(tmp_path / "here.db")


def test_a_bad_record_read_in_a_second_process_names_its_line(tmp_path, cli_run, in_background):
    lines = (
        _lines(RECORDS) + '{"year": 1928, "month": 13, "day": 1, "kind": "event", "text": "x"}\n'
    )
    path = write(tmp_path / "d.jsonl", lines + _lines(RECORDS[:1]))
    err = _refused(tmp_path, cli_run, path)
    assert f"{path}:6: month/day: " in err


def test_a_repeat_found_while_a_second_process_reads_writes_nothing(
    tmp_path, cli_run, in_background
):
    other = {**RECORDS[1], "source": "https://en.wikipedia.org/wiki/January_10"}
    path = write(tmp_path / "d.jsonl", _lines([*RECORDS, other, *RECORDS[2:]]))
    err = _refused(tmp_path, cli_run, path)
    assert f"{path}:6: duplicate record id '1928-01-10-event-" in err and f"{path}:2" in err


def _die(*given: object) -> None:
    """A worker process that dies while it checks a piece (module level: handed to it by name)."""
    import os

    os._exit(3)


def test_a_second_process_that_dies_is_an_error_and_writes_nothing(
    tmp_path, cli_run, in_background, monkeypatch
):
    monkeypatch.setattr(bot.events.loader, "_wiki_lines", _die)
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    err = _refused(tmp_path, cli_run, path, code=1)
    assert f"{path}: a process checking the file stopped: nothing was imported" in err


def test_records_read_in_a_second_process_are_made_here_when_changed(
    tmp_path, cli_run, monkeypatch
):
    """Into a store that holds records already, a second process reads and checks the lines;
    this one makes the rows of the changed ones from their lines: the same as made here."""
    changed = [*RECORDS[:4], {**RECORDS[4], "source": "https://en.wikipedia.org/wiki/January_10"}]
    again = json.dumps(changed[1], separators=(",", ":"))  # the same row, another line
    stored = {}
    for where in ("here", "there"):
        if where == "there":
            monkeypatch.setattr(bot.events.loader, "BACKGROUND_BYTES", 0)
            monkeypatch.setattr(bot.events.loader, "_CHUNK_BYTES", 400)
        db = tmp_path / f"{where}.db"
        path = write(tmp_path / "d.jsonl", _lines(RECORDS))
        assert cli_run("--db", str(db), "import", str(path))[0] == 0
        write(path, _lines(changed) + again + "\n")
        code, out, err = cli_run("--db", str(db), "import", str(path))
        assert code == 0, err
        assert "(0 new, 1 updated, 4 unchanged, 1 identical duplicate merged)" in out
        stored[where] = _stored(db)
    assert stored["there"] == stored["here"]


def _event_indexes(db) -> list[tuple]:
    store = Store(db)
    try:
        found = "select name, sql from sqlite_master where tbl_name = 'events' and type = 'index'"
        return sorted(store.conn.execute(found).fetchall())
    finally:
        store.close()


def test_an_import_into_an_empty_store_keeps_its_indexes_and_leaves_none_on_error(
    tmp_path, cli_run
):
    # into a store with no events the indexes are built after the rows: the same indexes
    # after an import, and after one that fails half-way (a duplicate id with another row)
    db = tmp_path / "s.db"
    indexes = _event_indexes(db)
    assert len(indexes) > 2
    other = {**RECORDS[1], "links": []}
    path = write(tmp_path / "bad.jsonl", _lines([*RECORDS, other]))
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2 and "duplicate record id" in err
    assert f"{path}:6: " in err and f"also at {path}:2" in err  # both in one piece
    assert _event_indexes(db) == indexes and _stored(db) == []
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    assert _event_indexes(db) == indexes and len(_stored(db)) == 5


def _statements_of_import(db, path) -> list[str]:
    """The SQL statements an import of ``path`` into the store at ``db`` runs."""
    from bot.app import import_paths

    store = Store(db)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        import_paths(store, [path])
    finally:
        store.close()
    return statements


def test_an_import_into_a_new_store_with_its_sample_builds_the_indexes_after_the_rows(
    tmp_path, monkeypatch
):
    # a new store holds the bundled sample (391 events): its first import of the data set
    # writes the rows without the indexes, then builds them (the same as before)
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "1")
    from bot.app import open_store

    db = tmp_path / "s.db"
    open_store(db).close()
    indexes = _event_indexes(db)
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    statements = _statements_of_import(db, path)
    assert any(statement.startswith("DROP INDEX") or statement.startswith("drop index")
               for statement in statements), statements  # fmt: skip
    assert _event_indexes(db) == indexes and len(_stored(db)) > 391


def test_an_import_into_a_store_of_many_events_keeps_its_indexes(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.store.FEW_EVENTS", 3)
    db = tmp_path / "s.db"
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    Store(db).close()
    _statements_of_import(db, path)
    more = write(tmp_path / "e.jsonl", _lines([_record("Another event.")]))
    statements = _statements_of_import(db, more)
    assert not any("drop index" in statement.lower() for statement in statements)
    assert len(_stored(db)) == 6


def test_a_bad_record_before_an_unreadable_part_is_the_error_named(
    tmp_path, cli_run, in_background
):
    # the workers check pieces while the file is read ahead of them: a bad record on line 6
    # is the file's first problem, though the NUL byte of line 11 is read before it is checked
    bad = '{"year": 1928, "month": 13, "day": 1, "kind": "event", "text": "x"}\n'
    more = _lines([_record(f"A later event, number {n}.") for n in range(4)])
    path = tmp_path / "d.jsonl"
    path.write_bytes((_lines(RECORDS) + bad + more + "\x00\n").encode())
    err = _refused(tmp_path, cli_run, path)
    assert f"{path}:6: month/day: " in err


def test_a_record_of_the_id_of_a_curated_event_stored_before_leaves_it(tmp_path, cli_run):
    # the store holds no record of the data set, but a curated event under a record's id:
    # the record leaves it as it is (m005: a curated event stays curated), as any import
    # does, and the same record again is a repeat of it
    from bot.events.loader import wiki_record_row

    event_id = wiki_record_row(RECORDS[3])[0]
    db = tmp_path / "s.db"
    curated = write(
        tmp_path / "e.yaml",
        f"events:\n  - id: {event_id}\n    date: '1928-01-10'\n    title: A curated event\n"
        "    lead: Its lead.\n    parts:\n      - blocks:\n          - type: text\n"
        "            text: Its part.\n",
    )
    code, _, err = cli_run("--db", str(db), "import", str(curated))
    assert code == 0, err
    path = write(tmp_path / "d.jsonl", _lines([*RECORDS, RECORDS[3]]))
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert "(4 new, 0 updated, 1 unchanged, 1 identical duplicate merged)" in out
    stored = {row[0]: row for row in _stored(db)}
    assert stored[event_id][1] == "A curated event" and len(stored) == 5


def test_a_record_again_in_a_later_piece_of_a_first_import_is_merged(
    tmp_path, cli_run, in_background
):
    # pieces of two records: the repeat (the same record, written without spaces) is found
    # by the stored row of the first, written three pieces before
    again = json.dumps(RECORDS[1], separators=(",", ":"))
    path = write(tmp_path / "d.jsonl", _lines(RECORDS) + again + "\n")
    db = tmp_path / "s.db"
    Store(db).close()
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0, err
    assert "(5 new, 0 updated, 1 identical duplicate merged)" in out
    assert len(_stored(db)) == 5


def _journal_mode(db) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma journal_mode").fetchone()[0]
    finally:
        conn.close()


def test_a_first_import_writes_without_the_log_and_leaves_the_store_with_it(tmp_path):
    # no other connection: the rows are written once, into the file (no write-ahead log
    # for the import), and the log is back after it
    db = tmp_path / "s.db"
    Store(db).close()
    assert _journal_mode(db) == "wal"
    statements = [s.lower() for s in _statements_of_import(db, write(
        tmp_path / "d.jsonl", _lines(RECORDS)))]  # fmt: skip
    out_of_wal = statements.index("pragma journal_mode = delete")
    back = statements.index("pragma journal_mode = wal")
    assert out_of_wal < statements.index("begin immediate") < back
    assert _journal_mode(db) == "wal" and len(_stored(db)) == 5


def test_a_first_import_keeps_the_log_while_another_connection_reads_the_store(tmp_path):
    # SQLite refuses to leave WAL mode while another connection has the store open: the
    # import goes on with the log, and the reader reads the store as it was meanwhile
    db = tmp_path / "s.db"
    Store(db).close()
    reader = sqlite3.connect(db)
    try:
        assert reader.execute("select count(*) from events").fetchone() == (0,)
        reader.execute("begin")
        reader.execute("select count(*) from events").fetchone()  # a read transaction open
        _statements_of_import(db, write(tmp_path / "d.jsonl", _lines(RECORDS)))
        assert reader.execute("select count(*) from events").fetchone() == (0,)
        reader.execute("commit")
        assert reader.execute("select count(*) from events").fetchone() == (5,)
    finally:
        reader.close()
    assert _journal_mode(db) == "wal"


def test_a_store_without_its_log_gets_it_back_when_opened(tmp_path):
    db = tmp_path / "s.db"
    Store(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("pragma journal_mode = delete").fetchone() == ("delete",)
    conn.close()
    Store(db).close()
    assert _journal_mode(db) == "wal"


@pytest.mark.processes
def test_a_first_import_killed_half_way_leaves_the_store_as_it_was(tmp_path):
    # the import's process is killed after its last piece, before its transaction ends: the
    # store holds what it held, and has its write-ahead log again once opened
    db = tmp_path / "s.db"
    store = Store(db)
    store.import_events([], rows=[bot.events.loader.wiki_record_row(_record("Stored before."))])
    store.close()
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    script = (
        "import os, signal, sys\n"
        "import bot.events.loader as loader\n"
        "from bot.app import import_paths\n"
        "from bot.store import Store\n"
        "pieces = loader.wiki_record_pieces\n"
        "def dying(*args, **kwargs):\n"
        "    yield from pieces(*args, **kwargs)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "loader.wiki_record_pieces = dying\n"
        "import_paths(Store(sys.argv[1]), [sys.argv[2]])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(db), str(path)], check=False)
    assert done.returncode == -signal.SIGKILL
    assert (tmp_path / "s.db-journal").exists()  # it wrote without the log
    assert [row[1] for row in _stored(db)] == ["Stored before"]
    assert _journal_mode(db) == "wal" and not (tmp_path / "s.db-journal").exists()


def test_the_search_index_merges_as_before_after_an_import(tmp_path, cli_run):
    # an import has FTS5 merge the index's segments only when it is over: the option is
    # back to its default after it, and after an import that fails
    db = tmp_path / "s.db"
    Store(db).close()

    def automerge() -> list[tuple]:
        conn = sqlite3.connect(db)
        try:
            return conn.execute(
                "select v from events_search_config where k = 'automerge'"
            ).fetchall()
        finally:
            conn.close()

    assert automerge() in ([], [(4,)])
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    assert automerge() == [(4,)]
    bad = write(tmp_path / "bad.jsonl", _lines([_record("Fine."), {"year": 1}]))
    assert cli_run("--db", str(db), "import", str(bad))[0] == 2
    assert automerge() == [(4,)]
    code, out, _ = cli_run("--db", str(db), "events", "list", "--search", "number")
    assert code == 0 and out.count("Event number") == 5


def test_the_calendar_counts_of_a_first_import_are_those_of_its_events(
    tmp_path, cli_run, in_background
):
    # the pieces written whole are counted from their rows, one with a repeat from the store
    # (both ways must agree with the events stored); days, kinds and a curated event apart
    records = [
        *RECORDS,
        _record("A birth.", kind="birth", month=3, day=1),
        _record("A death.", kind="death", month=3, day=1),
        RECORDS[0],  # a repeat, two pieces on
        _record("Another day.", month=12, day=31),
    ]
    db = tmp_path / "s.db"
    curated = write(
        tmp_path / "e.yaml",
        "events:\n  - id: curated-one\n    date: '1928-01-10'\n    title: A curated event\n"
        "    lead: Its lead.\n    parts:\n      - blocks:\n          - type: text\n"
        "            text: Its part.\n",
    )
    assert cli_run("--db", str(db), "import", str(curated))[0] == 0
    path = write(tmp_path / "d.jsonl", _lines(records))
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 0 and "1 identical duplicate merged" in out, err
    conn = sqlite3.connect(db)
    try:
        counts = conn.execute(
            "select month, day, origin, tags, events from event_day_counts order by 1, 2, 3, 4"
        ).fetchall()
        events = conn.execute(
            "select month, day, origin, coalesce(tags, '[]'), count(*) from events "
            "group by 1, 2, 3, 4 order by 1, 2, 3, 4"
        ).fetchall()
    finally:
        conn.close()
    assert counts == events and sum(row[-1] for row in counts) == 9
