"""Issue 20: ``plan`` makes events of only the few candidates of a day that count when a
curated event is chosen (those a rule may skip: the counts and repeats it prints), and ranks
the whole preselection when the choice is a candidate or nothing. Its days are the days the
daily pick gives when it ranks every event of the preselection, as it did before."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.config import Destination
from bot.content import CURATED
from bot.content.pick import (
    PRESELECT_TOP,
    DayPick,
    Facts,
    History,
    PickSettings,
    choose,
    plan_days,
    preselection_decides,
)
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.store import Store
from bot.threads.select import anniversary_days, light_events
from tests.conftest import SAVED_FEED, SHARED_DATA

START = dt.date(2027, 2, 20)  # a common year: February 29's events come on February 28
DAYS = 24


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def ranked_on_the_whole_preselection(
    store: Store, destination: Destination, settings: PickSettings
) -> list[DayPick]:
    """``plan_days`` as it was: each day's choice among every event of its preselection."""
    history = History.from_log(store, destination.name)
    limit = destination.max_threads_per_day
    plan = []
    for day in (START + dt.timedelta(days=offset) for offset in range(DAYS)):
        keys = anniversary_days(day, destination.leap_day)
        by_day, light_facts, totals = light_events(store, keys, settings.important, PRESELECT_TOP)
        facts = {event_id: Facts(*found) for event_id, found in light_facts.items()}
        pool = [e for key in keys for e in by_day.get(key, ())]
        of_day = sum(totals.values()) - sum(e.origin == CURATED for e in pool)
        result = choose(day, pool, settings, history, limit, None, facts, of_day)
        if not preselection_decides(result, limit) and settings.fallback == "candidate":
            by_day, light_facts, _ = light_events(store, keys)
            facts.update((i, Facts(*found)) for i, found in light_facts.items())
            pool = [e for key in keys for e in by_day.get(key, ())]
            result = choose(day, pool, settings, history, limit, None, facts)
        for choice in result.chosen:
            event = choice.event
            history.add(day, event.id, event.tags, event.date, facts[event.id])
        plan.append(result)
    return plan


def summary(day: DayPick) -> dict:
    """What the plan prints of a day but the text of its events (read for the chosen alone)."""
    found = day.to_json()
    found["events"] = [(e["id"], e["milestone"], e["importance"]) for e in found["events"]]
    return found


def sent_before(store: Store, rows: list[tuple[str, dt.date]]) -> None:
    """Each (event id, day) of ``rows`` as sent to the forum that day (the publish log)."""
    store.conn.executemany(
        "insert into publish_log (key, destination, event_id, day, number, state, created_at) "
        "values (?, 'forum', ?, ?, 1, 'sent', 'x')",
        [(f"forum/{event_id}/{day}/1", event_id, day.isoformat()) for event_id, day in rows],
    )
    store.conn.commit()


@pytest.mark.shared(SHARED_DATA, SAVED_FEED)
@pytest.mark.parametrize(
    "settings",
    [{}, {"exclude_tags": ["birth", "space"]}, {"include_tags": ["death", "science"]},
     {"fallback": "none", "seed": 4}, {"no_repeat_years": 0}],
)  # fmt: skip
def test_the_plan_is_the_pick_among_the_whole_preselection(
    shared_data_store_path, tmp_path, settings
):
    """Curated events on every other day (of several tags, one a February 29); the most
    important candidates of each day sent a year before, and of every third day the next
    ones sent two years before: the days after them find the same people and happenings
    (births and deaths of the same page; the same year a few days apart) and skip them; and
    events about people of other days, sent three years before."""

    path = tmp_path / "store.db"
    shutil.copy(shared_data_store_path, path)
    store = Store(path)
    curated = []
    for offset in range(0, DAYS, 2):
        day = START + dt.timedelta(days=offset)
        date = AnniversaryDate(day.month, day.day, 1900 + offset)
        tags = ["science", "space"] if offset % 4 else ["politics"]
        curated.append(Event(f"curated-{offset}", date, f"Curated {offset}", "It happens.", [],
                             None, tags, 0, False, None, CURATED))  # fmt: skip
    curated.append(Event("curated-leap", AnniversaryDate(2, 29, 1904), "Leap", "It happens.",
                         [], None, ["science"], 0, False, None, CURATED))  # fmt: skip
    # a candidate the rules skip for its id alone (no year, no page), and a birth for its
    # subject alone (the person's death, another day, was sent): of priority 1, preselected
    ada = [{"blocks": [{"type": "links", "links": [
        {"title": "Ada Example", "url": "https://en.wikipedia.org/wiki/Ada_Example"}]}]}]  # fmt: skip
    day = START + dt.timedelta(days=2)
    store.import_events([*curated, *(
        Event(event_id, date, title, f"{title}.", parts, None, [kind], 1, False, None, "wikipedia")
        for event_id, date, title, parts, kind in [
            ("no-year", AnniversaryDate(day.month, day.day), "A yearless thing", [], "event"),
            ("ada-born", AnniversaryDate(day.month, day.day, 7), "Ada Example is born", ada,
             "birth"),
            ("ada-dies", AnniversaryDate(11, 27, 61), "Ada Example dies", ada, "death"),
        ]
    )])  # fmt: skip
    sent = [("no-year", day.replace(year=day.year - 1)), ("ada-dies", dt.date(2025, 11, 27))]
    for offset in range(DAYS):
        day = START + dt.timedelta(days=offset)
        by_day, facts, _ = light_events(store, anniversary_days(day), 0, 0)
        pool = sorted((e for key in by_day for e in by_day[key] if e.origin != CURATED),
                      key=lambda e: (-facts[e.id][0], e.id))  # fmt: skip
        sent += [(e.id, day.replace(year=day.year - 1)) for e in pool[:8]]
        if offset % 3 == 0:
            sent += [(e.id, day.replace(year=day.year - 2)) for e in pool[8:20]]
    # people of other days: their births or deaths on the days planned are the same subject
    others = [(m, d) for m in range(1, 13) for d in range(1, 29) if (m, d) < (2, 10) or m > 3]
    _, facts, _ = light_events(store, others, 0, 0)
    about_people = sorted(event_id for event_id, found in facts.items() if found[1])
    sent += [(event_id, START.replace(year=START.year - 3)) for event_id in about_people[::4]]
    sent_before(store, sent)
    pick = PickSettings.from_mapping({"enabled": True, **settings})
    destination = Destination("forum", "outbox", "text", pick={"enabled": True, **settings})

    planned = plan_days(store, destination, START, DAYS, pick)
    expected = ranked_on_the_whole_preselection(store, destination, pick)

    assert [summary(day) for day in planned] == [summary(day) for day in expected]
    skipped = sum((day.skipped for day in planned), start=type(planned[0].skipped)())
    if not settings:  # the rules the plan narrows on all apply, on days of each kind
        assert all(skipped[f"{what} within 5 years"] for what in ("sent", "same subject sent"))
    assert {day.fallback for day in planned} == {settings.get("fallback") != "none", False}
