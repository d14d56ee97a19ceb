"""Malformed input: a one-line error naming file and field, exit code 2, store unchanged."""

from __future__ import annotations

import gzip
import json

import pytest

from bot.store import Store
from tests.conftest import write

GOOD = """\
date: "1969-07-20"
title: Apollo 11 lands on the Moon
lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
parts:
  - blocks:
      - type: text
        text: One small step.
"""

# (file name, content, what the one-line error must contain)
MALFORMED = [
    ("bad-date.yaml", GOOD.replace('"1969-07-20"', '"1969-02-30"'),
     ["bad-date.yaml:1:", "date:", "February has no day 30"]),
    ("no-title.yaml", GOOD.replace("title: Apollo 11 lands on the Moon\n", ""),
     ["no-title.yaml", "title: required field is missing"]),
    ("unknown-block.yaml", GOOD.replace("type: text", "type: podcast"),
     ["unknown-block.yaml:6:", "parts[0].blocks[0].type", "unknown block type 'podcast'"]),
    ("wrong-type.yaml", GOOD.replace("lead: Neil Armstrong and Buzz Aldrin walked on the Moon.", "lead: 42"),
     ["wrong-type.yaml:3:", "lead:", "valid string"]),
    ("syntax.yaml", GOOD.replace("title: Apollo", "title: [Apollo"),
     ["syntax.yaml:", "YAML syntax error"]),
    ("empty.yaml", "", ["empty.yaml", "the file is empty"]),
    ("binary.yaml", "\x00\x01\x02binary", ["binary.yaml", "not a text file"]),
    ("unknown-field.yaml", GOOD.replace("parts:", "colour: red\nparts:"),
     ["unknown-field.yaml:4:", "colour: unknown field"]),
    ("bad-url.yaml", GOOD.replace("type: text\n        text: One small step.", "type: video\n        url: not-a-url"),
     ["bad-url.yaml:7:", "parts[0].blocks[0].url", "expected an http(s) URL"]),
    ("no-parts.yaml", GOOD.split("parts:")[0] + "parts: []\n",
     ["no-parts.yaml:4:", "parts:", "at least 1 item"]),
    ("bad-tag.yaml", GOOD.replace("parts:", "tags: [Space Race]\nparts:"),
     ["bad-tag.yaml:4:", "tags[0]", "lower-case letters"]),
    ("not-leap.yaml", GOOD.replace('"1969-07-20"', '"1927-02-29"'),
     ["not-leap.yaml:1:", "1927 is not a leap year"]),
    ("bad.json", '{"date": "1969-07-20", "title": "x", ', ["bad.json:1:", "JSON syntax error"]),
    ("scalar.yaml", "just some words\n", ["scalar.yaml:1:", "expected an event"]),
    ("mentions-empty.yaml", GOOD.replace("type: text\n        text: One small step.", "type: mentions"),
     ["mentions-empty.yaml:6:", "parts[0].blocks[0]: name at least one mention list"]),
    ("unknown-list.yaml", GOOD.replace("type: text\n        text: One small step.", "type: mentions\n        lists: [nobody-here]"),
     ["unknown-list.yaml:6:", "parts[0].blocks[0].lists", "unknown mention list 'nobody-here'"]),
    ("bad-images.yaml", GOOD.replace("type: text\n        text: One small step.", "type: images\n        images:\n          - url: https://example.org/a.jpg"),
     ["bad-images.yaml:8:", "parts[0].blocks[0].images[0].caption: required field is missing"]),
    ("top-key.yaml", "events: []\nextras: 1\n", ["top-key.yaml:2:", "extras: unknown key"]),
    ("negative-zero.yaml", GOOD.replace('"1969-07-20"', '"0000-07-20"'), ["there is no year 0"]),
    ("latin1.yaml", None, ["latin1.yaml", "not UTF-8"]),
]  # fmt: skip


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def snapshot(path):
    store = Store(path)
    try:
        return [tuple(r) for r in store.conn.execute("select * from events order by id")], [
            tuple(r) for r in store.conn.execute("select * from members order by id")
        ]
    finally:
        store.close()


@pytest.mark.parametrize("name, content, expected", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input(tmp_path, cli_run, name, content, expected):
    db = tmp_path / "store.db"
    code, _, _ = cli_run("--db", str(db), "import", str(write(tmp_path / "ok.yaml", GOOD)))
    assert code == 0
    before = snapshot(db)
    path = tmp_path / "in" / name
    path.parent.mkdir()
    if content is None:
        path.write_bytes("title: Caf\xe9\n".encode("latin-1"))
    else:
        path.write_text(content, encoding="utf-8")
    code, out, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in expected:
        assert fragment in lines[0]
    assert snapshot(db) == before


def test_one_bad_file_among_good_ones_writes_nothing(tmp_path, cli_run):
    db = tmp_path / "store.db"
    folder = tmp_path / "events"
    for day in range(1, 6):
        write(folder / f"good-{day}.yaml", GOOD.replace("07-20", f"07-0{day}"))
    write(folder / "zz-bad.yaml", GOOD.replace("type: text", "type: nope"))
    before = snapshot(db)
    code, _, err = cli_run("--db", str(db), "import", str(folder))
    assert code == 2 and "zz-bad.yaml" in err
    assert snapshot(db) == before


def test_duplicate_ids_in_one_import(tmp_path, cli_run):
    first = write(tmp_path / "a.yaml", "id: same\n" + GOOD)
    second = write(
        tmp_path / "b.yaml", "id: same\n" + GOOD.replace("Apollo 11 lands", "Eagle lands")
    )
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(first), str(second))
    assert code == 2
    assert "b.yaml:1: id: duplicate id 'same', also at " in err and "a.yaml:1" in err


def test_jsonl_errors_name_the_line(tmp_path, cli_run):
    good = {"month": 1, "day": 10, "year": 1928, "kind": "event", "text": "Something happened.",
            "links": [], "source": "https://en.wikipedia.org/wiki/January_10"}  # fmt: skip
    lines = [
        json.dumps(good),
        json.dumps({**good, "text": "Other."}),
        json.dumps({**good, "day": 32}),
    ]
    path = tmp_path / "records.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    assert code == 2
    assert err.strip().splitlines()[-1] == f"Error: {path}:3: month/day: January has no day 32"


def test_missing_path(tmp_path, cli_run):
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert (
        err.strip().splitlines()[-1] == f"Error: {tmp_path / 'nope.yaml'}: no such file or folder"
    )


# --- JSON lines, read a piece at a time inside the one transaction -------------------------


def _record(text: str, **more: object) -> str:
    return json.dumps({"year": 1928, "month": 1, "day": 10, "kind": "event", "text": text, **more})


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of a few lines: every rule that spans pieces is met across them."""
    import bot.events.loader

    monkeypatch.setattr(bot.events.loader, "_CHUNK_BYTES", 150)


def test_an_identical_record_again_in_a_later_piece_is_merged(tmp_path, cli_run, small_pieces):
    lines = [_record(f"Event number {n} of the day.") for n in range(6)]
    path = write(tmp_path / "d.jsonl", "\n".join([*lines, lines[1]]) + "\n")
    code, out, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    assert code == 0, err
    assert "Imported 6 events (6 new, 0 updated, 1 identical duplicate merged)" in out


def test_an_id_again_with_another_record_names_both_lines_and_writes_nothing(
    tmp_path, cli_run, small_pieces
):
    lines = [_record(f"Event number {n} of the day.") for n in range(6)]
    changed = _record("Event number 1 of the day.", source="https://en.wikipedia.org/wiki/X")
    path = write(tmp_path / "d.jsonl", "\n".join([*lines, changed]) + "\n")
    db = tmp_path / "s.db"
    Store(db).close()
    code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{path}:7: duplicate record id '1928-01-10-event-" in err
    assert f"also at {path}:2" in err
    assert Store(db).count_events() == 0  # the pieces written before the error: rolled back


def test_a_record_with_the_id_of_an_event_in_an_event_file_is_refused(tmp_path, cli_run):
    from bot.events.loader import wiki_record_row

    record = json.loads(_record("Trotsky is exiled."))
    event_id = wiki_record_row(record)[0]
    events = write(tmp_path / "a.yaml", f"id: {event_id}\n" + GOOD)
    lines = write(tmp_path / "b.jsonl", json.dumps(record) + "\n")
    db = tmp_path / "s.db"
    Store(db).close()
    code, _, err = cli_run("--db", str(db), "import", str(events), str(lines))
    assert code == 2
    assert f"{lines}:1: duplicate record id {event_id!r}, also at {events}:1" in err
    assert Store(db).count_events() == 0
