"""Coverage: per-day counts of curated and candidate events, and the terminal calendar."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bot.content.calendar import DayCount, day_counts, format_calendar
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.store import Store
from tests.conftest import write_config


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def event(event_id, month, day, year=1990, origin="curated", tags=()) -> Event:
    return Event(event_id, AnniversaryDate(month, day, year), event_id, "Lead.",
                 [{"blocks": [{"type": "text", "text": "x"}]}], None, list(tags), 0, False,
                 None, origin)  # fmt: skip


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "s.db")
    store.import_events([
        event("a", 1, 10), event("b", 1, 10, tags=["birth"]),
        event("c", 1, 10, origin="wikipedia", tags=["birth"]),
        event("d", 1, 11, origin="wikipedia", tags=["event"]),
        event("leap", 2, 29, 1988), event("leap-c", 2, 29, None, origin="wikipedia"),
        event("feb28", 2, 28, origin="wikipedia"),
    ])  # fmt: skip
    return store


def by_day(counts: list[DayCount]) -> dict[str, tuple[int, int]]:
    return {c.month_day: (c.curated, c.candidates) for c in counts}


def test_counts_per_day(store):
    counts = day_counts(store)
    assert len(counts) == 366 and counts[0].month_day == "01-01" and counts[-1].month_day == "12-31"
    days = by_day(counts)
    assert days["01-10"] == (2, 1) and days["01-11"] == (0, 1) and days["01-12"] == (0, 0)
    assert days["02-29"] == (1, 1) and days["02-28"] == (0, 1)
    assert sum(c.total for c in counts) == store.count_events()


def test_a_year_folds_february_29_as_it_is_posted(store):
    common = by_day(day_counts(store, 2026))
    assert "02-29" not in common and len(common) == 365
    assert common["02-28"] == (1, 2) and common["03-01"] == (0, 0)
    mar1 = by_day(day_counts(store, 2026, leap_day="mar1"))
    assert mar1["02-28"] == (0, 1) and mar1["03-01"] == (1, 1)
    leap = by_day(day_counts(store, 2028))
    assert leap["02-29"] == (1, 1) and leap["02-28"] == (0, 1)


def test_tag_rules_of_a_destination(store):
    days = by_day(day_counts(store, exclude_tags=["birth"]))
    assert days["01-10"] == (1, 0)
    days = by_day(day_counts(store, include_tags=["birth", "event"]))
    assert days["01-10"] == (1, 1) and days["01-11"] == (0, 1) and days["02-29"] == (0, 0)


def test_terminal_calendar_lists_the_empty_days_first(store):
    text = format_calendar(day_counts(store, 2026), 2026, "Coverage 2026")
    lines = text.splitlines()
    assert lines[0] == "Coverage 2026: 3 curated and 4 candidate events over 365 days"
    assert lines[1].startswith(
        "Days with no event at all (362): Jan 1-9, Jan 12-31, Feb 1-27, Mar 1-31"
    )
    assert lines[2] == "Days with no curated event (1): Jan 11"
    assert lines[3] == (
        "February 29's 2 events are counted on February 28 (leap_day: feb28): 2026 is not a "
        "leap year"
    )
    january = lines.index("January 2026: 2 curated, 2 candidates; 30 days without a curated event")
    assert lines[january + 1].split() == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert lines[january + 2].startswith(" " * 33 + " 1!  0+0")  # 2026-01-01 is a Thursday
    week = lines[january + 3]
    assert " 5!  0+0" in week and "10   2+1" in week and "11*  0+1" in week
    december = lines.index(
        "December 2026: 0 curated, 0 candidates; 31 days without a curated event"
    )
    assert lines[december + 6].startswith("28!  0+0")


def test_calendar_command(tmp_path, cli_run, store):
    db = str(store.path)
    code, out, err = cli_run("--db", db, "calendar", "--year", "2028")
    assert code == 0, err
    assert out.startswith("Coverage 2028: 3 curated and 4 candidate events over 366 days\n")
    code, out, _ = cli_run("--db", db, "calendar", "--year", "2026", "--json")
    document = json.loads(out)
    assert document["year"] == 2026 and len(document["days"]) == 365
    assert document["days"][9] == {"date": "01-10", "curated": 2, "candidates": 1}
    config = write_config(
        tmp_path / "c.yaml",
        "  forum:\n    type: outbox\n    path: out\n    leap_day: mar1\n"
        "    pick:\n      enabled: true\n      exclude_tags: [birth]\n",
    )
    code, out, err = cli_run("--config", str(config), "--db", db, "calendar", "--year", "2026",
                             "--to", "forum", "--json")  # fmt: skip
    assert code == 0, err
    days = {d["date"]: (d["curated"], d["candidates"]) for d in json.loads(out)["days"]}
    assert days["01-10"] == (1, 0) and days["03-01"] == (1, 1)
    code, _, err = cli_run("--config", str(config), "--db", db, "calendar", "--to", "nope")
    assert code == 2 and "unknown destination 'nope'" in err


def test_calendar_of_the_bundled_data(sample_store, cli_run):
    code, out, _ = cli_run("--db", str(sample_store.path), "calendar", "--year", "2026")
    assert code == 0
    assert "Days with no event at all (0): none" in out
    assert "Days with no curated event (0): none" in out


def recount(store: Store, exclude: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """Each day's (curated, candidates) counted from the events themselves (those with none of
    the tags ``exclude``)."""
    days: dict[str, list[int]] = {}
    for stored in store.iter_events():
        if set(stored.tags) & set(exclude):
            continue
        key = f"{stored.date.month:02d}-{stored.date.day:02d}"
        days.setdefault(key, [0, 0])[0 if stored.origin == "curated" else 1] += 1
    return {day: (curated, candidates) for day, (curated, candidates) in days.items()}


def nonzero(counts: list[DayCount]) -> dict[str, tuple[int, int]]:
    return {day: pair for day, pair in by_day(counts).items() if pair != (0, 0)}


@pytest.mark.parametrize("rules", [{}, {"exclude_tags": ["birth"]}, {"include_tags": ["event"]}])
def test_the_calendar_reads_counts_not_events(store, rules):
    """1.3 million events took 400 ms to count from their index (2 s with a destination's tag
    rules): the calendar reads the counts the store keeps per day, origin and tags, never a
    row of the events."""
    tables: set[str] = set()

    def watch(action, table, *_):
        if action == sqlite3.SQLITE_READ:
            tables.add(table)
        return sqlite3.SQLITE_OK

    store.conn.set_authorizer(watch)
    try:
        counts = day_counts(store, **rules)
    finally:
        store.conn.set_authorizer(None)
    assert "events" not in tables
    expected = {"01-10": (2, 1), "01-11": (0, 1), "02-28": (0, 1), "02-29": (1, 1)}
    if rules.get("exclude_tags"):
        expected["01-10"] = (1, 0)
    if rules.get("include_tags"):
        expected = {"01-11": (0, 1)}
    assert nonzero(counts) == expected


def test_the_counts_follow_every_change_of_the_events(store):
    assert nonzero(day_counts(store)) == recount(store)
    store.set_origin(["c", "d"], "curated", "2026-01-01T00:00:00")  # promoted
    store.set_origin(["a"], "wikipedia", "2026-01-01T00:00:00")  # refused: curated stays
    store.delete_events(["feb28", "leap"])
    store.import_events([
        event("b", 3, 3, tags=["birth"]),  # the same event, on another day
        event("new", 1, 10, origin="wikipedia"), event("new-2", 12, 31),
        event("d", 1, 11, origin="wikipedia", tags=["event"]),  # stays curated
        event("c", 1, 10, origin="wikipedia", tags=["event"]),  # left as it is: curated now
    ])  # fmt: skip
    counts = nonzero(day_counts(store))
    assert counts == recount(store)
    assert counts == {"01-10": (2, 1), "01-11": (1, 0), "02-29": (0, 1), "03-03": (1, 0),
                      "12-31": (1, 0)}  # fmt: skip
    without_births = nonzero(day_counts(store, exclude_tags=["birth"]))
    assert without_births == recount(store, exclude=("birth",))
    assert without_births["01-10"] == (1, 1) and "03-03" not in without_births  # b, c: births
    store.import_events([event("b", 3, 3, tags=["event"])])  # the tags a count is kept by
    assert nonzero(day_counts(store, exclude_tags=["birth"]))["03-03"] == (1, 0)
    store.delete_events(["a", "c", "new"])
    assert "01-10" not in nonzero(day_counts(store)) and store.count_events() == 4


def test_the_counts_of_a_store_an_older_version_wrote(tmp_path):
    from sqlite_utils import Database

    from bot.store import migrations

    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="m013_day_counts_and_member_indexes")
    for event_id, origin in [("old-1", "curated"), ("old-2", "wikipedia"), ("old-3", "wikipedia")]:
        db["events"].insert(
            {"id": event_id, "month": 1, "day": 10, "year": 1928, "title": event_id, "lead": "x.",
             "parts": '[{"blocks": [{"type": "text", "text": "t"}]}]', "origin": origin}
        )  # fmt: skip
    db.close()
    assert nonzero(day_counts(Store(path))) == {"01-10": (1, 2)}
