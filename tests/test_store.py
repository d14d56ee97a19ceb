from __future__ import annotations

import io
import json

import pytest

from bot.app import export_events, import_paths, write_json_list
from bot.events.loader import load_files
from bot.store import Store, migrations
from tests.conftest import write

EVENT = """\
date: "1969-07-20"
title: Apollo 11 lands on the Moon
lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
tags: [space]
parts:
  - blocks:
      - type: text
        text: One small step.
"""


def test_schema_is_created_by_migrations(store):
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied == [m.name for m in migrations._migrations]
    assert store.db["events"].exists()
    # a day is read by the index of (month, day, origin) (m010; m012 dropped the one of (month, day))
    assert ["month", "day", "origin"] in [index.columns for index in store.db["events"].indexes]


def test_store_written_by_older_version_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    older = Store.__new__(Store)  # a store as version 1 of the schema left it
    from sqlite_utils import Database

    db = Database(path)
    migrations.apply(db, stop_before="m002_mentions")
    db["events"].insert(
        {"id": "old-event", "month": 1, "day": 10, "year": 1928, "title": "Old", "lead": "x.",
         "parts": '[{"blocks": [{"type": "text", "text": "t"}]}]', "origin": "curated"}
    )  # fmt: skip
    db.close()
    del older
    store = Store(path)
    assert not migrations.pending(store.db)
    assert store.db["members"].exists()
    assert [e.id for e in store.events_on(1, 10)] == ["old-event"]


def test_import_twice_updates_never_duplicates(store, tmp_path):
    path = write(tmp_path / "e.yaml", EVENT)
    _, first = import_paths(store, [path])
    assert (first.added, first.updated) == (1, 0)
    write(path, EVENT.replace("One small step.", "One giant leap."))
    _, second = import_paths(store, [path])
    assert (second.added, second.updated) == (0, 1)
    assert store.count_events() == 1
    (event,) = store.events_on(7, 20)
    assert event.parts[0]["blocks"][0]["text"] == "One giant leap."
    assert event.id == "1969-07-20-apollo-11-lands-on-the-moon"


def test_import_of_unchanged_events_counts_them_unchanged(store, tmp_path, cli_run):
    path = write(tmp_path / "e.yaml", EVENT)
    import_paths(store, [path])
    _, again = import_paths(store, [path])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    db = str(tmp_path / "s.db")
    cli_run("--db", db, "import", str(path))
    code, out, err = cli_run("--db", db, "import", str(path))
    assert code == 0, err
    assert "(0 new, 0 updated, 1 unchanged)" in out


def test_export_then_import_yields_identical_events(sample_store, tmp_path):
    exported = io.StringIO()
    count = export_events(sample_store, exported)
    assert count == sample_store.count_events() >= 366 + 20
    path = write(tmp_path / "export.yaml", exported.getvalue())
    fresh = Store(":memory:")
    import_paths(fresh, [path])
    assert list(fresh.iter_events()) == list(sample_store.iter_events())
    assert fresh.members() == sample_store.members()
    assert fresh.mention_lists() == sample_store.mention_lists()


def test_export_json_round_trip(sample_store, tmp_path):
    exported = io.StringIO()
    export_events(sample_store, exported, "json")
    path = write(tmp_path / "export.json", exported.getvalue())
    fresh = Store(":memory:")
    import_paths(fresh, [path])
    assert list(fresh.iter_events()) == list(sample_store.iter_events())


def test_multi_document_yaml_and_event_list(tmp_path):
    path = write(
        tmp_path / "multi.yaml",
        EVENT + "---\n" + EVENT.replace("07-20", "07-21"),
    )
    batch = load_files([path])
    assert [e.date.iso() for e in batch.events] == ["1969-07-20", "1969-07-21"]
    listed = write(tmp_path / "list.yaml", "- " + EVENT.replace("\n", "\n  ").rstrip() + "\n")
    assert len(load_files([listed]).events) == 1


def test_bc_and_unknown_year_dates(store, tmp_path):
    path = write(
        tmp_path / "e.yaml",
        EVENT.replace('"1969-07-20"', '"-0044-03-15"').replace(
            "Apollo 11 lands on the Moon", "Caesar is killed"
        )
        + "---\n"
        + EVENT.replace('"1969-07-20"', '"05-01"').replace(
            "Apollo 11 lands on the Moon", "May Day"
        ),
    )
    import_paths(store, [path])
    assert [e.id for e in store.events_on(3, 15)] == ["44bc-03-15-caesar-is-killed"]
    assert store.events_on(3, 15)[0].date.year == -44
    assert store.events_on(5, 1)[0].date.year is None
    assert store.events_on(5, 1)[0].id == "05-01-may-day"


def test_indexes_match_the_queries(store):
    log_indexes = [index.columns for index in store.db["publish_log"].indexes]
    assert ["destination", "state", "day"] in log_indexes and ["day"] in log_indexes
    assert ["month", "day", "origin"] in [index.columns for index in store.db["events"].indexes]


def test_search_finds_words_by_their_beginning_and_follows_changes(store, tmp_path):
    path = write(tmp_path / "e.yaml", EVENT)
    import_paths(store, [path])
    assert [e.title for e in store.find_events(search="moon")] == ["Apollo 11 lands on the Moon"]
    assert len(store.find_events(search="Armstr aldrin")) == 1  # every word, each a beginning
    assert store.find_events(search="strong") == []  # the middle of a word is not a word
    assert len(store.find_events(search="1969-07-20-apollo")) == 1  # an id's beginning
    write(path, EVENT.replace("Neil Armstrong", "Michael Collins"))
    import_paths(store, [path])
    assert store.find_events(search="armstrong") == []
    assert len(store.find_events(search="collins")) == 1


def test_search_index_is_built_for_a_store_an_older_version_wrote(tmp_path):
    path = tmp_path / "old.db"
    from sqlite_utils import Database

    db = Database(path)
    migrations.apply(db, stop_before="m010_indexes_for_the_queries")
    db["events"].insert(
        {"id": "old-event", "month": 1, "day": 10, "year": 1928, "title": "Trotsky exiled",
         "lead": "x.", "parts": '[{"blocks": [{"type": "text", "text": "t"}]}]',
         "origin": "curated"}
    )  # fmt: skip
    db.close()
    store = Store(path)
    assert [e.id for e in store.find_events(search="trotsky")] == ["old-event"]


def test_search_keeps_no_column_sizes_and_finds_what_it_found_before_m015(tmp_path):
    # m015 builds the search index again without the column sizes (never read): a store an
    # older version wrote finds the same events, and keeps finding changed ones (m010's
    # triggers)
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m015_search_without_column_sizes")
    db.execute("pragma journal_mode = wal")
    db.execute(
        "insert into events (id, month, day, year, title, lead, parts, origin) values "
        "('old-event', 1, 10, 1928, 'Trotsky exiled', 'The Soviet Union orders it.', "
        "'[]', 'curated')"
    )
    db.execute("insert into events_search(rowid, title, lead) select rowid, title, lead "
               "from events")  # fmt: skip
    db.conn.commit()
    db.close()
    store = Store(path)
    tables = {row[0] for row in store.conn.execute("select name from sqlite_master")}
    assert "events_search_docsize" not in tables  # the column sizes FTS5 keeps by default
    assert [e.id for e in store.find_events(search="soviet")] == ["old-event"]
    store.conn.execute("update events set lead = 'Moscow orders it.' where id = 'old-event'")
    assert store.find_events(search="soviet") == []
    assert [e.id for e in store.find_events(search="moscow")] == ["old-event"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_writes_each_event_as_it_is_read(sample_store, fmt, monkeypatch):
    out = io.StringIO()
    read = sample_store.iter_events

    def watched():
        previous = None
        for event in read():
            # the event read before this one is written out already: no list of them all
            assert previous is None or previous in out.getvalue()
            previous = event.id
            yield event

    monkeypatch.setattr(sample_store, "iter_events", watched)
    assert export_events(sample_store, out, fmt) == sample_store.count_events()


@pytest.mark.parametrize(
    "items", [[], [{}], [1, "é", None], [{"a": [1, {"b": "x\ny"}], "c": {}}, [], {"d": []}]]
)
@pytest.mark.parametrize("level", [0, 2])
def test_json_list_is_written_as_json_writes_it(items, level):
    out = io.StringIO()
    assert write_json_list(iter(items), out, level=level, ensure_ascii=False) == len(items)
    nested = json.dumps({"k": {"k": items}} if level == 2 else items, ensure_ascii=False, indent=2)
    assert nested.endswith(out.getvalue() + ("\n  }\n}" if level else ""))
