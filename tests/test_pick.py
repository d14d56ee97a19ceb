"""The daily pick: each rule on small pools, the hook in threads_for_day, `plan`, and the full
shared data set as candidates (plan --days 366 deterministic, every rule asserted per day)."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.app import import_paths, threads_for_day
from bot.config import Destination
from bot.content.importance import page_words, same_happening
from bot.content.onthisday import KIND_TAGS
from bot.content.pick import (
    DailyPick,
    History,
    PickSettings,
    choose,
    pick_for,
    plan_days,
)
from bot.model import Event
from bot.model.dates import AnniversaryDate, years_between
from bot.store import Store
from bot.threads.select import anniversary_events, order_events
from tests.conftest import SHARED_DATA, write, write_config

DAY = dt.date(2026, 7, 20)


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def event(event_id, year=1990, origin="curated", tags=(), priority=0, lead="Something.",
          sensitive=False, month=7, day=20) -> Event:  # fmt: skip
    return Event(event_id, AnniversaryDate(month, day, year), event_id, lead,
                 [{"blocks": [{"type": "text", "text": "x"}]}], None, list(tags), priority,
                 sensitive, None, origin)  # fmt: skip


def ids(result) -> list[str]:
    return [c.event.id for c in result.chosen]


# --- each rule on a small pool ------------------------------------------------------------------


def test_milestones_first_then_priority_wins_over_them():
    settings = PickSettings(enabled=True)
    pool = [event("plain", 1990), event("fifty", 1976), event("hundred", 1926)]
    result = choose(DAY, pool, settings, History(), limit=3)
    assert ids(result)[2] == "plain"
    assert "50th anniversary" in choose(DAY, pool[:2], settings, History()).chosen[0].reasons
    # 175 is not in the default list; 200 is; every 100 years too (e.g. 400)
    assert PickSettings().milestone_years(AnniversaryDate(7, 20, 1851), DAY) is None
    assert PickSettings().milestone_years(AnniversaryDate(7, 20, 1826), DAY) == 200
    assert PickSettings().milestone_years(AnniversaryDate(7, 20, 1626), DAY) == 400
    assert PickSettings(milestones=(10,)).milestone_years(AnniversaryDate(7, 20, 2016), DAY) == 10
    assert PickSettings().milestone_years(AnniversaryDate(7, 20, None), DAY) is None
    assert PickSettings().milestone_years(AnniversaryDate(7, 20, -75), DAY) == 2100  # no year 0
    urgent = event("urgent", 1990, priority=5)
    assert ids(choose(DAY, [*pool, urgent], settings, History()))[0] == "urgent"


def test_curated_first_and_the_fallback():
    pool = [event("cand-milestone", 1926, origin="wikipedia"), event("cur", 1991)]
    assert ids(choose(DAY, pool, PickSettings(), History())) == ["cur"]
    only_candidates = [pool[0], event("cand-2", 1990, origin="wikipedia")]
    result = choose(DAY, only_candidates, PickSettings(fallback="candidate"), History())
    assert ids(result) == ["cand-milestone"] and result.fallback
    assert result.chosen[0].reasons[0] == "fallback: no curated event; a candidate of 2"
    result = choose(DAY, only_candidates, PickSettings(fallback="none"), History())
    assert ids(result) == [] and "fallback is none" in result.note
    assert choose(DAY, [], PickSettings(), History()).note == "no event on this day"


def test_no_repeat_within_the_years():
    history = History()
    history.add(dt.date(2022, 7, 20), "recent", [])
    history.add(dt.date(2021, 7, 20), "five-years-ago", [])  # exactly 5 years: allowed again
    history.add(dt.date(2019, 7, 20), "long-ago", [])
    pool = [event("recent", 1926), event("five-years-ago", 1990), event("long-ago", 1991)]
    result = choose(DAY, pool, PickSettings(no_repeat_years=5), history, limit=None)
    assert sorted(ids(result)) == ["five-years-ago", "long-ago"]
    assert result.skipped == Counter({"sent within 5 years": 1})
    assert result.repeats == [("recent", dt.date(2022, 7, 20), "recent")]
    # no_repeat_years: 0 repeats freely
    assert "recent" in ids(choose(DAY, pool, PickSettings(no_repeat_years=0), history, None))
    # every curated event recently sent: a candidate instead
    pool = [event("recent", 1926), event("cand", 1990, origin="wikipedia")]
    result = choose(DAY, pool, PickSettings(), history)
    assert ids(result) == ["cand"]
    assert result.chosen[0].reasons[0].startswith("fallback: the day's 1 curated event excluded")


def test_repeats_come_from_the_publish_log(tmp_path):
    store = Store(tmp_path / "s.db")
    store.import_events([event("a", 1926), event("b", 1990)])
    for state, day in (("sent", "2024-07-20"), ("failed", "2025-07-20")):
        store.conn.execute(
            "insert into publish_log (key, destination, event_id, day, number, state) "
            "values (?, ?, ?, ?, 1, ?)",
            [f"forum/a/{day}/1", "forum", "a", day, state],
        )
    store.conn.commit()
    history = History.from_log(store, "forum")
    assert history.sent_within("a", DAY, 5) == dt.date(2024, 7, 20)  # failed rows do not count
    assert History.from_log(store, "other").sent_within("a", DAY, 5) is None
    pick = DailyPick(store, "forum", PickSettings(enabled=True))
    assert [e.id for e in pick(anniversary_events(store, DAY), DAY, 1)] == ["b"]


def test_include_and_exclude_tags():
    pool = [event("war", 1926, tags=["military"]), event("art", 1990, tags=["arts", "music"]),
            event("none", 1991)]  # fmt: skip
    result = choose(DAY, pool, PickSettings(exclude_tags=("military",)), History(), None)
    assert sorted(ids(result)) == ["art", "none"] and result.skipped["excluded tag"] == 1
    result = choose(DAY, pool, PickSettings(include_tags=("music",)), History(), None)
    assert ids(result) == ["art"] and result.skipped["not an included tag"] == 2


def test_tags_balance_over_a_week():
    history = History()
    for back in range(1, 7):  # politics every day of the last six
        history.add(DAY - dt.timedelta(days=back), f"old-{back}", ["politics"])
    history.add(DAY - dt.timedelta(days=7), "older", ["science"])  # outside the week
    pool = [event("p", 1990, tags=["politics"]), event("s", 1991, tags=["science"])]
    result = choose(DAY, pool, PickSettings(), history)
    assert ids(result) == ["s"]
    assert "tags science: used 0x in the last 6 days" in result.chosen[0].reasons
    # two a day: the second balances against the first too
    pool = [event("s1", 1990, tags=["science"]), event("s2", 1991, tags=["science"]),
            event("p", 1992, tags=["politics"])]  # fmt: skip
    assert "p" in ids(choose(DAY, pool, PickSettings(), History(), limit=2))
    # a milestone still wins over balance
    pool = [event("p100", 1926, tags=["politics"]), event("s", 1991, tags=["science"])]
    assert ids(choose(DAY, pool, PickSettings(), history)) == ["p100"]


def test_sensitive_by_flag_tag_or_keyword():
    settings = PickSettings(sensitive_tags=("disaster",),
                            sensitive_keywords=("massacre*", "war crime", "killed"))  # fmt: skip
    cases = {
        "flag": (event("flag", sensitive=True), "marked sensitive"),
        "tag": (event("tag", tags=["disaster"]), "tag disaster"),
        "prefix": (
            event("prefix", lead="The Massacres of 1990."),
            "keyword 'massacre*' ('Massacres')",
        ),
        "phrase": (event("phrase", lead="A war\ncrime trial."), "keyword 'war crime'"),
        "word": (event("word", lead="Six people were KILLED."), "keyword 'killed'"),
        "not a word": (event("not", lead="The skilled workers."), None),
    }
    for name, (item, expected) in cases.items():
        assert settings.sensitive_reason(item) == expected, name
    pick = DailyPick(Store(":memory:"), "forum", settings)
    (flagged,) = pick([event("x", 1926, lead="Dozens were killed.")], DAY, 1)
    assert flagged.sensitive and pick.last.chosen[0].reasons[-1] == "sensitive: keyword 'killed'"
    assert pick.is_sensitive(event("y", lead="killed")) and not pick.is_sensitive(event("z"))


def test_the_draw_depends_on_the_seed_only():
    years = [y for y in range(1990, 2011) if y != 2001][:20]  # none a milestone (2001: 25)
    pool = [event(f"e{n}", year) for n, year in enumerate(years)]  # and no tags
    first = [ids(choose(DAY, pool, PickSettings(seed=s), History()))[0] for s in range(10)]
    again = [ids(choose(DAY, list(reversed(pool)), PickSettings(seed=s), History()))[0]
             for s in range(10)]  # fmt: skip
    assert first == again  # the pool's order does not matter
    assert len(set(first)) > 1  # other seeds, other picks
    assert (
        "drawn by seed 0 among 20 as good"
        in choose(DAY, pool, PickSettings(), History()).chosen[0].reasons
    )


# --- the hook --------------------------------------------------------------------------------------


def destination(**pick) -> Destination:
    return Destination("forum", "outbox", "text", pick=pick or None)


def test_without_a_pick_the_order_is_unchanged(sample_store):
    for day in (dt.date(2026, 1, 10), DAY, dt.date(2027, 2, 28)):
        expected = order_events(anniversary_events(sample_store, day), day)
        threads = threads_for_day(sample_store, day, limit=None)
        assert [t.event_id for t in threads] == [e.id for e in expected]
        assert [t.event_id for t in threads_for_day(sample_store, day, pick=None)] == [
            expected[0].id
        ]
    assert pick_for(sample_store, destination()) is None
    assert pick_for(sample_store, destination(enabled=False, seed=3)) is None


def test_threads_for_day_uses_the_pick(tmp_path):
    store = Store(tmp_path / "s.db")
    store.import_events([event("curated-plain", 1990, lead="Dozens were killed."),
                         event("cand-milestone", 1926, origin="wikipedia")])  # fmt: skip
    # the simple order puts curated events first too; a candidate only fills an empty day
    assert [t.event_id for t in threads_for_day(store, DAY)] == ["curated-plain"]
    pick = pick_for(store, destination(enabled=True))
    (thread,) = threads_for_day(store, DAY, pick=pick)
    assert thread.event_id == "curated-plain"
    assert pick.is_sensitive(store.get_event("curated-plain"))
    none = pick_for(store, destination(enabled=True, fallback="none", exclude_tags=["x"]))
    store.conn.execute("update events set tags = '[\"x\"]' where id = 'curated-plain'")
    assert threads_for_day(store, DAY, pick=none) == []


# --- config ----------------------------------------------------------------------------------------


def test_pick_config(tmp_path, cli_run):
    from bot.config.loading import load_config

    dests = (
        "  forum:\n    type: outbox\n    path: out\n    pick:\n      enabled: true\n"
        "      milestones: [10, 20]\n      fallback: none\n      exclude_tags: [birth]\n"
    )
    config = load_config(write_config(tmp_path / "c.yaml", dests))
    dest = config.destinations["forum"]
    assert dest.pick["milestones"] == [10, 20] and dest.pick["fallback"] == "none"
    assert dest.pick["no_repeat_years"] == 5  # the defaults are filled in
    settings = pick_for(Store(":memory:"), dest).settings
    assert settings.milestones == (10, 20) and settings.exclude_tags == ("birth",)
    bad = write_config(tmp_path / "bad.yaml", dests.replace("fallback: none", "fallback: any"))
    code, _, err = cli_run("--config", str(bad), "config", "check")
    assert code == 2
    assert re.match(
        rf"Error: {re.escape(str(bad))}:\d+: destinations.forum.pick.fallback: Input should be", err
    )
    bad = write_config(tmp_path / "bad2.yaml", dests + "      colour: red\n")
    code, _, err = cli_run("--config", str(bad), "config", "check")
    assert code == 2 and "destinations.forum.pick.colour: unknown key" in err
    code, out, _ = cli_run("--config", str(tmp_path / "c.yaml"), "config", "show")
    assert code == 0 and "pick:" in out and "fallback: none" in out


# --- plan --------------------------------------------------------------------------------------------


def test_plan_command(tmp_path, cli_run):
    db = tmp_path / "s.db"
    store = Store(db)
    store.import_events([event("a", 1926, tags=["politics"]),
                         event("b", 1990, tags=["science"], month=7, day=21),
                         event("c", 1991, origin="wikipedia", month=7, day=22)])  # fmt: skip
    config = write_config(
        tmp_path / "c.yaml",
        "  forum:\n    type: outbox\n    path: out\n    pick:\n      enabled: true\n",
    )
    code, out, err = cli_run("--config", str(config), "--db", str(db), "plan", "--days", "4",
                             "--from", "2026-07-20")  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Plan for forum: 4 days from 2026-07-20; pick enabled, seed 0"
    assert lines[1] == "2026-07-20 Mon  a  a"
    assert lines[2].split("why: ")[1] == (
        "curated; 100th anniversary; importance 30 (event 30); tags politics: used 0x in the "
        "last 6 days"
    )
    assert "fallback: no curated event; a candidate of 1" in out
    assert lines[-1] == "2026-07-23 Thu  (nothing)  [0 curated, 0 candidates]: no event on this day"
    code, out, err = cli_run("--config", str(config), "--db", str(db), "plan", "--days", "2",
                             "--from", "2026-07-20", "--json")  # fmt: skip
    document = json.loads(out)
    assert document["destination"] == "forum" and document["enabled"] is True
    assert [d["events"][0]["id"] for d in document["days"]] == ["a", "b"]
    # without a pick: the simple order, said so
    off = write_config(tmp_path / "off.yaml", "  forum:\n    type: outbox\n    path: out\n")
    code, out, err = cli_run("--config", str(off), "--db", str(db), "plan", "--days", "1",
                             "--from", "2026-07-22")  # fmt: skip
    assert code == 0 and "no daily pick enabled" in err
    assert "simple order" in out and "  c  c" in out
    # the embedded default config has the pick on
    code, out, err = cli_run("--db", str(db), "plan", "--days", "1", "--from", "2026-07-22")
    assert code == 0 and err == "" and "pick enabled" in out


def test_plan_keeps_a_day_already_in_the_publish_log(tmp_path):
    store = Store(tmp_path / "s.db")
    store.import_events([event("a", 1926), event("b", 1990)])
    store.conn.execute(
        "insert into publish_log (key, destination, event_id, day, number, state, created_at) "
        "values ('forum/b/2026-07-20/1', 'forum', 'b', '2026-07-20', 1, 'planned', 'x')"
    )
    (day,) = plan_days(store, destination(enabled=True), DAY, 1)
    assert [c.event.id for c in day.chosen] == ["b"]
    assert day.note.startswith("already in the publish log")


# --- the full shared data set as candidates ---------------------------------------------------------

needs_shared = pytest.mark.shared(SHARED_DATA)
KINDS = {tag for tags in KIND_TAGS.values() for tag in tags}
TAGS = ["politics", "science", "sports", "arts"]
KEYWORDS = ("massacre*", "killed", "bombing*")
START = dt.date(2026, 1, 1)


def curated_yaml() -> str:
    """Curated events on every fifth day of the year: one a milestone, one not, one sensitive
    by keyword on every tenth; tags rotate."""
    out = ["events:"]
    for n in range(0, 366, 5):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=n)
        for k, year in enumerate((1976 if n % 2 else 1990, 1991)):
            lead = "Many were killed." if n % 10 == 0 and k == 1 else "Something happened."
            out.append(
                f'  - date: "{year}-{day:%m-%d}"\n    title: Curated {day:%m-%d} {k}\n'
                f"    lead: {lead}\n    tags: [{TAGS[(n // 5 + k) % 4]}]\n"
                "    parts:\n      - blocks:\n          - type: text\n            text: x"
            )
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def full_store_path(shared_data_store_path, tmp_path_factory) -> Path:
    """The session's store of the shared data set, with curated events on every fifth day."""
    folder = tmp_path_factory.mktemp("full")
    shutil.copy(shared_data_store_path, folder / "full.db")
    store = Store(folder / "full.db")
    import_paths(store, [write(folder / "curated.yaml", curated_yaml())])
    store.close()
    return folder / "full.db"


@pytest.fixture
def full_db(full_store_path, tmp_path) -> Path:
    target = tmp_path / "full.db"
    shutil.copy(full_store_path, target)
    return target


def plan_config(tmp_path, **pick) -> Path:
    settings = {"enabled": True, "sensitive_tags": [], "sensitive_keywords": list(KEYWORDS),
                **pick}  # fmt: skip
    lines = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in settings.items())
    return write_config(
        tmp_path / f"plan-{abs(hash(json.dumps(pick, sort_keys=True)))}.yaml",
        f"  forum:\n    type: outbox\n    path: out\n    pick:\n{lines}",
    )


def run_plan(cli_run, db, config, *extra) -> dict:
    code, out, err = cli_run("--config", str(config), "--db", str(db), "plan", "--days", "366",
                             "--from", START.isoformat(), "--json", *extra)  # fmt: skip
    assert code == 0, err
    return json.loads(out)


class Rules:
    """Checks a plan against the rules, recomputing every day's options from the store."""

    def __init__(self, db: Path, settings: PickSettings, sent: dict[str, list[dt.date]]):
        self.store = Store(db)
        self.settings = settings
        self.facts = {
            row[0]: row[1:]
            for row in self.store.conn.execute("select id, importance, subject, pages from events")
        }
        self.dates = {
            row[0]: AnniversaryDate(*row[1:])
            for row in self.store.conn.execute("select id, month, day, year from events")
        }
        self.sent: dict[str, list[dt.date]] = {}
        self.by_subject: dict[str, set[str]] = {}
        self.by_year: dict[int | None, set[str]] = {}
        self.day_tags: dict[dt.date, list[list[str]]] = {}
        self.checked = Counter()
        for event_id, days in sent.items():
            for day in days:
                self.add_sent(event_id, day)

    def add_sent(self, event_id: str, day: dt.date) -> None:
        self.sent.setdefault(event_id, []).append(day)
        self.by_subject.setdefault(self.facts[event_id][1], set()).add(event_id)
        self.by_year.setdefault(self.dates[event_id].year, set()).add(event_id)

    def pool(self, day: dt.date) -> list[Event]:
        return anniversary_events(self.store, day)

    def milestone(self, e: Event, day: dt.date) -> int:
        """The milestone's years when it counts (an important event's), else 0."""
        important = e.origin == "curated" or self.facts[e.id][0] >= self.settings.important
        if e.date.year is None or not important:
            return 0
        years = years_between(e.date.year, day.year)
        return years if years > 0 and (years in self.settings.milestones or years % 100 == 0) else 0

    def penalty(self, e: Event, day: dt.date) -> int:
        if e.origin != "curated":
            return 0
        counts = Counter()
        for back in range(1, 7):
            for tags in self.day_tags.get(day - dt.timedelta(days=back), []):
                counts.update([t for t in tags if t not in KINDS] or [""])
        return max(counts[t] for t in ([t for t in e.tags if t not in KINDS] or [""]))

    def about_the_same(self, a: str, b: str) -> bool:
        subject_a, subject_b = self.facts[a][1], self.facts[b][1]
        if subject_a and subject_a == subject_b:
            return True
        date_a, date_b = self.dates[a], self.dates[b]
        if date_a.year != date_b.year or date_a.year is None:
            return False
        apart = abs((dt.date(2000, date_a.month, date_a.day)
                     - dt.date(2000, date_b.month, date_b.day)).days)  # fmt: skip
        main_a, main_b = (page_words((self.facts[i][2] or "").split("\n")[0]) for i in (a, b))
        return apart <= 13 and same_happening(main_a, main_b)

    def repeat(self, e: Event, day: dt.date) -> bool:
        """The event, or one about the same person or happening, sent within the years."""
        cutoff = day.replace(year=day.year - self.settings.no_repeat_years)

        def recent(event_id: str) -> bool:
            return any(cutoff < d < day for d in self.sent.get(event_id, ()))

        subject = self.facts[e.id][1]
        same_subject = self.by_subject.get(subject, set()) if subject else set()
        same_year = self.by_year.get(e.date.year, set())
        return recent(e.id) or any(
            recent(other) and self.about_the_same(e.id, other)
            for other in same_subject | same_year
            if other != e.id
        )

    def sensitive(self, e: Event) -> bool:
        text = f"{e.title} {e.lead}".lower()
        return (
            e.sensitive
            or bool(set(e.tags) & set(self.settings.sensitive_tags))
            or "killed" in re.findall(r"\w+", text)
            or any(w.startswith(("massacre", "bombing")) for w in re.findall(r"\w+", text))
        )

    def check_day(self, day: dt.date, entry: dict) -> None:
        s = self.settings
        include, exclude = set(s.include_tags), set(s.exclude_tags)
        options = [
            e for e in self.pool(day)
            if (not include or set(e.tags) & include) and not set(e.tags) & exclude
            and not self.repeat(e, day)
        ]  # fmt: skip
        curated = [e for e in options if e.origin == "curated"]
        candidates = [e for e in options if e.origin != "curated"]
        chosen_ids = [c["id"] for c in entry["events"]]
        # fallback: curated when any; else a candidate (fallback: candidate) or nothing
        if curated:
            group = curated
            assert all(c["origin"] == "curated" for c in entry["events"]), day
            self.checked["curated first"] += 1
        elif candidates and s.fallback == "candidate":
            group = candidates
            assert entry["fallback"] and chosen_ids, day
            self.checked["fallback candidate"] += 1
        else:
            assert chosen_ids == [], day
            self.checked["nothing"] += 1
            return
        assert len(chosen_ids) == 1
        (chosen,) = [e for e in group if e.id == chosen_ids[0]]
        # include/exclude (the group only holds allowed events) and no repeat
        assert not set(chosen.tags) & exclude and (not include or set(chosen.tags) & include)
        assert not self.repeat(chosen, day)
        # priority, then the biggest milestone of an important event
        assert chosen.priority == max(e.priority for e in group)
        peers = [e for e in group if e.priority == chosen.priority]
        assert self.milestone(chosen, day) == max(self.milestone(e, day) for e in peers), day
        self.checked["milestone"] += self.milestone(chosen, day) > 0
        assert entry["events"][0]["milestone"] == (self.milestone(chosen, day) or None)
        # then the tags of curated events balance over the week, then importance
        peers = [e for e in peers if self.milestone(e, day) == self.milestone(chosen, day)]
        assert self.penalty(chosen, day) == min(self.penalty(e, day) for e in peers), day
        peers = [e for e in peers if self.penalty(e, day) == self.penalty(chosen, day)]
        assert self.facts[chosen.id][0] == max(self.facts[e.id][0] for e in peers), day
        # sensitive flag
        assert (entry["events"][0]["sensitive"] is not None) == self.sensitive(chosen), chosen.id
        self.checked["sensitive"] += entry["events"][0]["sensitive"] is not None
        self.add_sent(chosen.id, day)
        self.day_tags.setdefault(day, []).append(chosen.tags)

    def check(self, plan: dict) -> Counter:
        for offset, entry in enumerate(plan["days"]):
            day = START + dt.timedelta(days=offset)
            assert entry["day"] == day.isoformat()
            self.check_day(day, entry)
        return self.checked


@needs_shared
def test_full_data_set_plan_is_deterministic_and_follows_every_rule(full_db, tmp_path, cli_run):
    config = plan_config(tmp_path, seed=7)
    plan = run_plan(cli_run, full_db, config)
    assert run_plan(cli_run, full_db, config) == plan  # deterministic for a seed
    other = run_plan(cli_run, full_db, config, "--seed", "8")
    changed = sum(
        a["events"] != b["events"] for a, b in zip(plan["days"], other["days"], strict=True)
    )
    assert changed > 50  # another seed draws differently among equals
    assert len(plan["days"]) == 366 and plan["days"][-1]["day"] == "2027-01-01"
    checked = Rules(full_db, PickSettings(seed=7, sensitive_tags=(),
                                          sensitive_keywords=KEYWORDS), {}).check(plan)  # fmt: skip
    curated_days = {(dt.date(2000, 1, 1) + dt.timedelta(days=n)).strftime("%m-%d")
                    for n in range(0, 366, 5)}  # fmt: skip
    plan_days_with_curated = [d for d in plan["days"] if d["day"][5:] in curated_days]
    assert checked["curated first"] == len(plan_days_with_curated) == 75
    assert checked["fallback candidate"] == 366 - checked["curated first"]
    assert checked["milestone"] > 200
    assert checked["sensitive"] > 10
    # 2027-01-01 repeats no 2026-01-01 pick (within five years)
    assert plan["days"][0]["events"][0]["id"] != plan["days"][-1]["events"][0]["id"]
    assert plan["days"][-1]["repeats"][0]["id"] == plan["days"][0]["events"][0]["id"]


@needs_shared
def test_full_data_set_repeats_from_the_publish_log(full_db, tmp_path, cli_run):
    config = plan_config(tmp_path)
    first = run_plan(cli_run, full_db, config)
    store = Store(full_db)
    sent: dict[str, list[dt.date]] = {}
    blocked, allowed = [], []
    for offset, entry in enumerate(first["days"][:60]):
        day = START + dt.timedelta(days=offset)
        event_id = entry["events"][0]["id"]
        back = 2 if offset % 2 else 6  # sent 2 years ago: blocked; 6 years ago: allowed
        when = day.replace(year=day.year - back)
        store.conn.execute(
            "insert into publish_log (key, destination, event_id, day, number, state) "
            "values (?, 'forum', ?, ?, 1, 'sent')",
            [f"forum/{event_id}/{when}/1", event_id, when.isoformat()],
        )
        sent.setdefault(event_id, []).append(when)
        (blocked if back == 2 else allowed).append((offset, event_id))
    store.conn.commit()
    second = run_plan(cli_run, full_db, config)
    for offset, event_id in blocked:
        entry = second["days"][offset]
        assert entry["events"][0]["id"] != event_id
        assert event_id in [r["id"] for r in entry["repeats"]]
    assert any(second["days"][o]["events"][0]["id"] == e for o, e in allowed)
    Rules(full_db, PickSettings(sensitive_tags=(), sensitive_keywords=KEYWORDS), sent).check(second)


@needs_shared
@pytest.mark.parametrize(
    "pick",
    [
        {"exclude_tags": ["death", "politics"]},
        {"include_tags": ["event", "science"]},
        {"fallback": "none"},
        {"milestones": [10, 33], "no_repeat_years": 1},
    ],
    ids=["exclude", "include", "fallback-none", "other-milestones"],
)
def test_full_data_set_rules_with_other_settings(full_db, tmp_path, cli_run, pick):
    plan = run_plan(cli_run, full_db, plan_config(tmp_path, **pick))
    settings = PickSettings.from_mapping(
        {**pick, "sensitive_tags": [], "sensitive_keywords": list(KEYWORDS)}
    )
    checked = Rules(full_db, settings, {}).check(plan)
    chosen = [e for d in plan["days"] for e in d["events"]]
    if "exclude_tags" in pick:
        assert not any({"death", "politics"} & set(e["tags"]) for e in chosen)
    if "include_tags" in pick:
        assert all({"event", "science"} & set(e["tags"]) for e in chosen)
    if pick.get("fallback") == "none":
        assert checked["nothing"] == 366 - checked["curated first"]
        assert all(e["origin"] == "curated" for e in chosen)


def test_rules_helper_matches_the_milestone_settings():
    # the independent checker above counts milestones as the settings do
    settings = PickSettings()
    for year in (1976, 1926, 1826, 1626, 1851, 2025):
        rules = Rules.__new__(Rules)
        rules.settings = settings
        e = event("x", year)
        assert (rules.milestone(e, dt.date(2026, 1, 1)) > 0) == (
            settings.milestone_years(e.date, dt.date(2026, 1, 1)) is not None
        )
    assert calendar.isleap(2028)
