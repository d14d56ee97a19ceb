"""Importing the data set again: a record stored unchanged is known by its source digest, and
its row is not made again; what is stored stays what a full import stores."""

from __future__ import annotations

import hashlib
import json

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
    db = tmp_path / "s.db"
    Store(db).close()
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{path}:6: month/day: " in err
    assert _stored(db) == []


def test_a_repeat_found_while_a_second_process_reads_writes_nothing(
    tmp_path, cli_run, in_background
):
    other = {**RECORDS[1], "source": "https://en.wikipedia.org/wiki/January_10"}
    path = write(tmp_path / "d.jsonl", _lines([*RECORDS, other, *RECORDS[2:]]))
    db = tmp_path / "s.db"
    Store(db).close()
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{path}:6: duplicate record id '1928-01-10-event-" in err and f"{path}:2" in err
    assert _stored(db) == []


def test_a_second_process_that_dies_is_an_error_and_writes_nothing(
    tmp_path, cli_run, in_background, monkeypatch
):
    import os

    monkeypatch.setattr(bot.events.loader, "_make_pieces", lambda *given: os._exit(3))
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    db = tmp_path / "s.db"
    Store(db).close()
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code != 0 and "the process reading the file stopped (exit code 3)" in err
    assert _stored(db) == []


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
    assert _event_indexes(db) == indexes and _stored(db) == []
    path = write(tmp_path / "d.jsonl", _lines(RECORDS))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    assert _event_indexes(db) == indexes and len(_stored(db)) == 5
