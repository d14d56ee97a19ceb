"""Issue 20: the daily pick ranks a day's preselection (the events that can be its best, read
through the indexes) and reads the whole day only when that cannot decide; what it chooses is
what the whole day gives, for `plan`, previews and posting alike."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.app import threads_for_day
from bot.config import Destination
from bot.content.importance import IMPORTANT
from bot.content.pick import PRESELECT_TOP, DailyPick, PickSettings, plan_days, sent_history
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.store import Store
from bot.threads.select import light_anniversary_events
from tests.conftest import SAVED_FEED, SHARED_DATA

DAY = dt.date(2027, 7, 20)


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def candidate(event_id: str, kind: str, pages: int, priority: int = 0) -> Event:
    """An imported candidate: its kind as its tag, ``pages`` linked pages (its importance)."""
    links = [{"title": f"{event_id} {letter}", "url": f"https://en.wikipedia.org/wiki/{event_id}_{letter}"}
             for letter in "abcdef"[:pages]]  # fmt: skip
    return Event(event_id, AnniversaryDate(7, 20, 1990), event_id, f"{event_id} happens.",
                 [{"blocks": [{"type": "links", "links": links}]}], None, [kind], priority,
                 False, None, "wikipedia")  # fmt: skip


def test_a_candidate_of_negative_priority_does_not_win_over_one_left_out_of_the_preselection(
    tmp_path,
):
    """The most important candidates are all excluded by a tag; of the two left, the one of
    priority -1 is in the preselection (important), the other (priority 0, little importance)
    is not: priority 0 ranks first, so the whole day must be read."""
    store = Store(tmp_path / "s.db")
    excluded = [candidate(f"excluded-{n}", "event", 3) for n in range(PRESELECT_TOP)]
    store.import_events([*excluded, candidate("lowered", "selected", 3, priority=-1),
                         candidate("plain", "death", 1)])  # fmt: skip
    light = {row[0]: row for row in store.light_events_on([(7, 20)])}
    assert light["lowered"][8] >= IMPORTANT > light["plain"][8]
    assert "plain" not in {row[0] for row in store.light_events_on([(7, 20)], IMPORTANT,
                                                                    PRESELECT_TOP)}  # fmt: skip
    settings = {"enabled": True, "exclude_tags": ["event"]}
    destination = Destination("forum", "outbox", "text", pick=settings)
    pick = DailyPick(store, "forum", PickSettings.from_mapping(settings))
    (day,) = plan_days(store, destination, DAY, 1)
    assert [c.event.id for c in day.chosen] == ["plain"]
    assert [t.event_id for t in threads_for_day(store, DAY, pick=pick)] == ["plain"]


def sent_before(store: Store, day: dt.date, event_ids: list[str], years: int = 1) -> None:
    """``event_ids`` as sent to the forum ``years`` before ``day`` (the publish log's rows)."""
    sent = day.replace(year=day.year - years).isoformat()
    store.conn.executemany(
        "insert into publish_log (key, destination, event_id, day, number, state, created_at) "
        "values (?, 'forum', ?, ?, 1, 'sent', 'x')",
        [(f"forum/{event_id}/{sent}/1", event_id, sent) for event_id in event_ids],
    )
    store.conn.commit()


@pytest.mark.shared(SHARED_DATA, SAVED_FEED)
@pytest.mark.parametrize(
    "settings",
    [{}, {"exclude_tags": ["event", "selected"]}, {"include_tags": ["birth"], "seed": 3},
     {"milestones": [50, 100], "important": 60}, {"sent": 6}, {"sent": 40, "seed": 5}],
)  # fmt: skip
def test_the_pick_of_a_preselection_is_the_pick_of_the_whole_day(
    shared_data_store_path, tmp_path, settings
):
    """``sent``: the day's most important events sent a year before (not to be repeated), so
    that the pick reaches further down the preselection, or past it."""
    path = tmp_path / "store.db"
    shutil.copy(shared_data_store_path, path)
    store = Store(path)
    settings = dict(settings)  # the parameter is shared between runs
    sent = settings.pop("sent", 0)
    pick = DailyPick(store, "forum", PickSettings.from_mapping({"enabled": True, **settings}))
    days = [DAY + dt.timedelta(days=offset) for offset in range(0, 366, 5)]
    for day in days if sent else ():
        pool, facts, _ = light_anniversary_events(store, day)
        best = sorted(pool, key=lambda e: (-facts[e.id][0], e.id))[:sent]
        sent_before(store, day, [e.id for e in best])
    read_whole = 0
    for day in days:
        pool, facts, whole = light_anniversary_events(store, day)
        expected = [(e.id, e.sensitive) for e in pick(pool, day, 2, facts=facts)]
        assert [(e.id, e.sensitive) for e in pick.for_day(day, 2)] == expected, day
        _, _, whole = light_anniversary_events(store, day, "feb28", pick.settings.important,
                                               PRESELECT_TOP)  # fmt: skip
        read_whole += whole
    assert read_whole < 10  # the preselection is a small part of the day's events


def test_a_preview_of_many_days_reads_what_was_sent_once(tmp_path, monkeypatch):
    """The pick's history (every event sent to the destination) is read once per process
    while the store stays the same, not once a day; a post sent since is read again."""
    from bot.preview.html import write_site
    from tests.test_html_preview import config_of

    store = Store(tmp_path / "s.db")
    store.import_events([candidate("first", "selected", 3), candidate("second", "event", 1)])
    reads: list[str] = []
    real = Store.sent_event_facts
    monkeypatch.setattr(Store, "sent_event_facts",
                        lambda self, name, *since: reads.append(name) or real(self, name, *since))  # fmt: skip
    forum = Destination("forum", "outbox", "text", settings={"path": str(tmp_path / "out")},
                        pick={"enabled": True})  # fmt: skip
    write_site(store, config_of(forum), [forum], DAY - dt.timedelta(days=3), 7, tmp_path / "site")
    assert reads == ["forum"]
    pick = DailyPick(store, "forum", PickSettings(enabled=True))
    assert [e.id for e in pick.for_day(DAY, 1)] == ["first"]
    sent_before(store, DAY, ["first"])
    assert [e.id for e in pick.for_day(DAY, 1)] == ["second"]
    assert reads == ["forum", "forum"]


def test_the_pick_reads_only_the_history_its_rules_look_at(tmp_path):
    """What was sent before ``no_repeat_years`` (and the week of ``balance_days``) is not read."""
    store = Store(tmp_path / "s.db")
    store.import_events([candidate("first", "selected", 3), candidate("second", "event", 1)])
    sent_before(store, DAY, ["first"], years=4)
    sent_before(store, DAY, ["second"], years=6)
    settings = PickSettings(enabled=True, no_repeat_years=5)
    history = sent_history(store, "forum", settings.history_since(DAY))
    assert list(history.sent) == ["first"]
    assert [e.id for e in DailyPick(store, "forum", settings).for_day(DAY, 1)] == ["second"]
    everything = sent_history(store, "forum", dt.date(1, 1, 1))
    assert sorted(everything.sent) == ["first", "second"]
    assert PickSettings(no_repeat_years=0, balance_days=7).history_since(DAY) == dt.date(
        2027, 7, 13
    )
    assert PickSettings().history_since(dt.date(1, 1, 3)) == dt.date(1, 1, 1)
