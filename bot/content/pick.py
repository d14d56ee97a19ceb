"""The daily pick: which of a day's events a destination posts, and why.

Enabled per destination (``pick: {enabled: true, ...}`` in the config; the embedded default
config has it on), it replaces the simple order of ``bot.threads.select.order_events``. For
each day:

1. only events the destination may post: ``include_tags`` (when given, at least one of them),
   no ``exclude_tags``, and nothing sent to this destination within ``no_repeat_years`` (the
   publish log's "sent" rows): not the event, not the same person (a birth or death about
   the same Wikipedia page), not the same happening (the same year, at most 13 days apart:
   Old and New Style dates; about the same pages: ``bot.content.importance.same_happening``);
2. curated events; when there is none, a candidate (``fallback: candidate``) or nothing
   (``fallback: none``);
3. among those: higher ``priority`` first; then the biggest milestone anniversary
   (``milestones``, and every ``milestone_every`` years: 1000 > 500 > 250 > ...) of an
   important event (curated, or of importance ``important`` or more); then the curated
   events whose own tags were used least over the last ``balance_days`` days; then the
   higher importance (``bot.content.importance``); then any milestone; then a draw that
   depends only on ``seed``, the day and the event id (deterministic).

A picked event whose tags or text match ``sensitive_tags``/``sensitive_keywords`` is flagged
sensitive, with the reason, so adapters with content warnings use them. Nothing here depends
on the clock: the day is always a parameter. The ranking reads light columns (importance,
subject, pages); only the events chosen are read whole.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import weakref
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from bot.content import (
    CURATED,
    DEFAULT_MILESTONES,
    DEFAULT_SENSITIVE_KEYWORDS,
    DEFAULT_SENSITIVE_TAGS,
)
from bot.content.importance import (
    IMPORTANT,
    KIND_POINTS,
    SAME_HAPPENING_DAYS,
    event_facts,
    explain,
    page_words,
    same_happening,
)
from bot.errors import InputError
from bot.model import Event
from bot.model.dates import AnniversaryDate, ordinal, years_between

if TYPE_CHECKING:
    from bot.config import Destination
    from bot.store import Store

# the on-this-day kinds are how an item came, not what it is about: they do not balance
KIND_TAG_NAMES = frozenset(KIND_POINTS)
FALLBACKS = ("candidate", "none")


@lru_cache(maxsize=8)
def keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern of every keyword, a group each (``k0``, ``k1``, ...): one search finds the
    first keyword in the text. Kept per set of keywords: a preview of a year makes settings for
    each day, and building the pattern each time cost more than the searches."""
    patterns = []
    firsts = set()
    for index, keyword in enumerate(keywords):
        word = keyword.strip().lower()
        prefix = word.endswith("*")
        words = word.rstrip("*").split()
        if words:
            firsts.add(words[0][0])
            body = r"\s+".join(re.escape(w) for w in words)
            tail = r"\w*" if prefix else r"\b"
            patterns.append(rf"(?P<k{index}>{body}{tail})")
    if not patterns:
        return None
    # each keyword starts a word: one test of the word start and its letter, not one a
    # keyword, at each place of the text (several times faster on 57 keywords)
    start = "".join(re.escape(letter) for letter in sorted(firsts))
    return re.compile(rf"\b(?=[{start}])(?:{'|'.join(patterns)})", re.IGNORECASE)


@dataclass(frozen=True)
class PickSettings:
    enabled: bool = False
    milestones: tuple[int, ...] = DEFAULT_MILESTONES
    milestone_every: int = 100
    no_repeat_years: int = 5
    balance_days: int = 7
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    sensitive_tags: tuple[str, ...] = DEFAULT_SENSITIVE_TAGS
    sensitive_keywords: tuple[str, ...] = DEFAULT_SENSITIVE_KEYWORDS
    fallback: str = "candidate"
    seed: int = 0
    important: int = IMPORTANT

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None, **overrides: Any) -> PickSettings:
        values = {k: v for k, v in dict(data or {}).items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("milestones", "include_tags", "exclude_tags", "sensitive_tags",
                    "sensitive_keywords"):  # fmt: skip
            if key in values:
                values[key] = tuple(values[key])
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        settings = cls(**known)
        if settings.fallback not in FALLBACKS:
            raise ValueError(
                f"pick.fallback: expected candidate or none, got {settings.fallback!r}"
            )
        return settings

    def history_since(self, day: dt.date) -> dt.date:
        """The last day before the history the rules read for ``day``: what was sent within
        ``no_repeat_years``, the tags of the last ``balance_days``."""
        back = min(max(self.balance_days, 1), day.toordinal() - 1)  # none before year 1
        window = day - dt.timedelta(days=back)
        if self.no_repeat_years > 0:
            window = min(window, _years_before(day, self.no_repeat_years))
        return window

    def milestone_years(self, date: AnniversaryDate, day: dt.date) -> int | None:
        """The anniversary's years when it is a milestone, else None."""
        if date.year is None:
            return None
        years = years_between(date.year, day.year)
        if years <= 0:
            return None
        if years in self.milestones or (self.milestone_every and years % self.milestone_every == 0):
            return years
        return None

    def sensitive_reason(self, event: Event) -> str | None:
        """Why ``event`` is sensitive (its flag, a tag, a keyword in title or lead), or None."""
        if event.sensitive:
            return "marked sensitive"
        for tag in event.tags:
            if tag in self.sensitive_tags:
                return f"tag {tag}"
        pattern = keywords_pattern(self.sensitive_keywords)
        found = pattern.search(f"{event.title} {event.lead}") if pattern else None
        if found is None or found.lastgroup is None:
            return None
        keyword = self.sensitive_keywords[int(found.lastgroup[1:])]
        words = " ".join(found.group(0).split())
        shown = "" if words.casefold() == keyword.casefold() else f" ({words!r})"
        return f"keyword {keyword!r}{shown}"


# --- what an event is about -----------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """The light columns the ranking reads (``bot.content.importance.FACT_COLUMNS``)."""

    importance: int = 0
    subject: str | None = None
    pages: str = ""

    @classmethod
    def of(cls, event: Event) -> Facts:
        """Computed from a whole event, as the store computed them when it stored it."""
        return cls(*event_facts(event.tags, event.parts, event.lead))

    @cached_property
    def words(self) -> frozenset[str]:
        """The words of the main page."""
        return page_words(self.pages.partition("\n")[0])


def _day_of_year(date: AnniversaryDate) -> int:
    return dt.date(2000, date.month, date.day).toordinal()  # 2000: February 29 included


def _same_happening(event: Event, facts: Facts, other_date: AnniversaryDate, other: Facts) -> bool:
    """Two events of the same year, at most ``SAME_HAPPENING_DAYS`` apart (Old and New
    Style), about the same pages."""
    return (
        event.date.year == other_date.year
        and abs(_day_of_year(event.date) - _day_of_year(other_date)) <= SAME_HAPPENING_DAYS
        and same_happening(facts.words, other.words)
    )


def _about_the_same(event: Event, facts: Facts, other: Event, other_facts: Facts) -> bool:
    """The same person (subject) or the same happening."""
    if facts.subject and facts.subject == other_facts.subject:
        return True
    return bool(facts.pages and other_facts.pages) and _same_happening(
        event, facts, other.date, other_facts
    )


# --- what a destination has posted ----------------------------------------------------------


class History:
    """The days each event was sent to one destination, the tags sent each day, and the
    people and happenings those events were about."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dt.date]] = defaultdict(list)
        self.day_tags: dict[dt.date, list[tuple[str, ...]]] = defaultdict(list)
        self.people: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
        # by the year of the event: (day sent, its date, its facts, its id)
        self.happenings: dict[int, list[tuple[dt.date, AnniversaryDate, Facts, str]]] = defaultdict(
            list
        )
        # the years of those happenings by their day of the year (``_day_of_year``)
        self.happening_years: dict[int, set[int]] = defaultdict(set)

    @classmethod
    def from_log(cls, store: Store, destination: str, since: dt.date | None = None) -> History:
        """What ``destination`` was sent (after the day ``since``, when given)."""
        import json

        history = cls()
        for row in store.sent_event_facts(destination, since.isoformat() if since else ""):
            event_id, day, tags, year, month, mday, subject, pages = row
            date = AnniversaryDate(month, mday, year) if month is not None else None
            facts = Facts(0, subject, pages or "")
            history.add(dt.date.fromisoformat(day), event_id,
                        json.loads(tags) if tags else [], date, facts)  # fmt: skip
        return history

    def add(
        self,
        day: dt.date,
        event_id: str,
        tags: Iterable[str],
        date: AnniversaryDate | None = None,
        facts: Facts | None = None,
    ) -> None:
        if day in self.sent[event_id]:
            return
        self.sent[event_id].append(day)
        self.day_tags[day].append(tuple(tags))
        if facts is None:
            return
        if facts.subject:
            self.people[facts.subject].append((day, event_id))
        if date is not None and date.year is not None and facts.pages:
            self.happenings[date.year].append((day, date, facts, event_id))
            self.happening_years[_day_of_year(date)].add(date.year)

    def may_repeat(self, month: int, day: int) -> Callable[[str, int | None, str | None], bool]:
        """Whether an event of ``month`` and ``day`` (its id, year and subject) may be one the
        rules call a repeat (``sent_within``, ``same_subject_within``): true for each that is,
        and for a few that are not (any day sent; any happening of its year near its day)."""
        middle = _day_of_year(AnniversaryDate(month, day))
        near = range(middle - SAME_HAPPENING_DAYS, middle + SAME_HAPPENING_DAYS + 1)
        years = set().union(*(self.happening_years.get(d, ()) for d in near))
        sent, people = self.sent, self.people

        def may(event_id: str, year: int | None, subject: str | None) -> bool:
            return event_id in sent or (subject is not None and subject in people) or year in years

        return may

    def sent_within(self, event_id: str, day: dt.date, years: int) -> dt.date | None:
        """The last day before ``day`` (and after the same day ``years`` years earlier) this
        event was sent, if any."""
        if years <= 0 or event_id not in self.sent:
            return None
        cutoff = _years_before(day, years)
        recent = [d for d in self.sent[event_id] if cutoff < d < day]
        return max(recent) if recent else None

    def same_subject_within(
        self, event: Event, facts: Facts, day: dt.date, years: int
    ) -> tuple[str, dt.date] | None:
        """(the id of an earlier event about the same person or happening, the last day it
        was sent) when one was sent in the ``years`` before ``day``; else None."""
        people = self.people.get(facts.subject) if facts.subject else None
        happenings = self.happenings.get(event.date.year) if event.date.year is not None else None
        if years <= 0 or not (people or happenings):
            return None
        cutoff = _years_before(day, years)
        found = [(d, i) for d, i in people or () if i != event.id and cutoff < d < day]
        for sent, when, other, other_id in happenings or ():
            if (
                other_id != event.id
                and cutoff < sent < day
                and _same_happening(event, facts, when, other)
            ):
                found.append((sent, other_id))
        if not found:
            return None
        last, other_id = max(found)
        return other_id, last

    def tag_counts(self, day: dt.date, days: int) -> Counter[str]:
        """How often each tag was sent in the ``days - 1`` days before ``day`` ("" for an
        event without tags of its own; the on-this-day kinds do not count)."""
        counts: Counter[str] = Counter()
        for back in range(1, min(days, day.toordinal())):  # none before January 1 of year 1
            for tags in self.day_tags.get(day - dt.timedelta(days=back), ()):
                counts.update(_own_tags(tags))
        return counts


def _own_tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(t for t in tags if t not in KIND_TAG_NAMES) or ("",)


def _years_before(day: dt.date, years: int) -> dt.date:
    year = day.year - years
    if year < 1:
        return dt.date.min
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


# --- one day ---------------------------------------------------------------------------------


@dataclass
class Choice:
    event: Event
    reasons: list[str]
    sensitive: str | None = None
    importance: int = 0
    milestone: int | None = None  # the years, when a milestone that counted


@dataclass
class DayPick:
    day: dt.date
    chosen: list[Choice] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    # (event id, last sent, the id of the event sent then: itself or one about the same subject)
    repeats: list[tuple[str, dt.date, str]] = field(default_factory=list)
    fallback: bool = False
    note: str | None = None
    curated: int = 0  # the day's events, before any rule
    candidates: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "events": [
                {
                    "id": c.event.id,
                    "title": c.event.title,
                    "origin": c.event.origin,
                    "tags": list(c.event.tags),
                    "importance": c.importance,
                    "milestone": c.milestone,
                    "reasons": c.reasons,
                    "sensitive": c.sensitive,
                }
                for c in self.chosen
            ],  # fmt: skip
            "fallback": self.fallback,
            "skipped": dict(self.skipped),
            "repeats": [
                {"id": i, "last_sent": d.isoformat(), "same_as": other}
                for i, d, other in self.repeats
            ],  # fmt: skip
            "note": self.note,
            "curated": self.curated,
            "candidates": self.candidates,
        }


def choose(
    day: dt.date,
    pool: list[Event],
    settings: PickSettings,
    history: History,
    limit: int | None = 1,
    prepare: Callable[[Event], Event] | None = None,
    facts: Mapping[str, Facts] | None = None,
    candidates_of_day: int | None = None,
) -> DayPick:
    """The events ``pool`` (the day's anniversaries) gives for ``day``, best first, with the
    reasons; ``history`` is what the destination posted before. ``facts``: each event's
    light columns by id (computed from the event when absent); ``prepare``: completes a
    chosen event read without its text and parts (``plan_days``) before the sensitive check;
    ``candidates_of_day``: the day's candidates when ``pool`` holds a preselection of them."""
    result = DayPick(day)
    include, exclude = set(settings.include_tags), set(settings.exclude_tags)
    known: dict[str, Facts] = {}
    for event in pool:
        found = facts.get(event.id) if facts is not None else None
        known[event.id] = found if found is not None else Facts.of(event)
    curated: list[Event] = []
    candidates: list[Event] = []
    years = settings.no_repeat_years
    for event in pool:
        is_curated = event.origin == CURATED
        if is_curated:
            result.curated += 1
        else:
            result.candidates += 1
        tags = set(event.tags)
        if include and not tags & include:
            result.skipped["not an included tag"] += 1
            continue
        if tags & exclude:
            result.skipped["excluded tag"] += 1
            continue
        last = history.sent_within(event.id, day, years)
        if last is not None:
            result.skipped[f"sent within {years} years"] += 1
            result.repeats.append((event.id, last, event.id))
            continue
        same = history.same_subject_within(event, known[event.id], day, years)
        if same is not None:
            result.skipped[f"same subject sent within {years} years"] += 1
            result.repeats.append((event.id, same[1], same[0]))
            continue
        (curated if is_curated else candidates).append(event)
    if curated:
        options = curated
    elif candidates and settings.fallback == "candidate":
        options = candidates
        result.fallback = True
    else:
        if not pool:
            result.note = "no event on this day"
        elif not curated and not candidates:
            result.note = "every event of the day is excluded or was sent recently"
        elif result.curated == 0:
            result.note = "no curated event, and fallback is none: nothing is posted"
        else:
            result.note = "no curated event left, and fallback is none: nothing is posted"
        return result
    if candidates_of_day is not None:
        result.candidates = candidates_of_day
    counts = history.tag_counts(day, settings.balance_days)
    milestones = {e.id: settings.milestone_years(e.date, day) for e in options}
    seed_text = f"{settings.seed}:{day.isoformat()}:"

    def counted_milestone(event: Event) -> int:
        """The milestone's years when it counts: an important event's."""
        important = event.origin == CURATED or known[event.id].importance >= settings.important
        return (milestones[event.id] or 0) if important else 0

    def used(event: Event) -> int:
        """How often the curated event's own tags were posted this week (candidates carry
        only their kind, which does not balance)."""
        if event.origin != CURATED:
            return 0
        return max(counts[t] for t in _own_tags(event.tags))

    def rank(event: Event) -> tuple:
        return (
            -event.priority,
            -counted_milestone(event),
            used(event),
            -known[event.id].importance,
            milestones[event.id] is None,
        )

    def draw(event: Event) -> tuple:
        return (zlib.crc32((seed_text + event.id).encode()), event.id)

    options = list(options)
    while options and (limit is None or len(result.chosen) < limit):
        ranks = [rank(e) for e in options]
        best_rank = min(ranks)
        tied = [e for e, r in zip(options, ranks, strict=True) if r == best_rank]
        ties = len(tied)
        best = min(tied, key=draw)
        options.remove(best)
        best_facts = known[best.id]
        if limit is None or len(result.chosen) + 1 < limit:  # one subject once a day too
            kept = [e for e in options if not _about_the_same(e, known[e.id], best, best_facts)]
            if len(kept) < len(options):
                result.skipped["same subject as a pick of the day"] += len(options) - len(kept)
            options = kept
        if prepare is not None:
            best = prepare(best)
        if best.origin == CURATED:
            reasons = [CURATED]
        elif result.curated:
            some = f"{result.curated} curated event{'s' if result.curated != 1 else ''}"
            reasons = [f"fallback: the day's {some} excluded or recently sent; a candidate "
                       f"of {result.candidates}"]  # fmt: skip
        else:
            reasons = [f"fallback: no curated event; a candidate of {result.candidates}"]
        if best.priority:
            reasons.append(f"priority {best.priority}")
        counted = counted_milestone(best) or None
        age = milestones[best.id]
        if counted is not None:
            reasons.append(f"{ordinal(counted)} anniversary")
        elif age is not None:
            reasons.append(f"{ordinal(age)} anniversary (counts only for importance "
                           f"{settings.important} or more)")  # fmt: skip
        elif best.date.year is not None:
            reasons.append(f"{years_between(best.date.year, day.year)} years")
        reasons.append(explain(best.tags, best.parts) if best.parts else
                       f"importance {best_facts.importance}")  # fmt: skip
        own = [t for t in best.tags if t not in KIND_TAG_NAMES]
        if best.origin == CURATED:
            label = ", ".join(own) if own else "no tags"
            window = settings.balance_days - 1
            reasons.append(f"tags {label}: used {used(best)}x in the last {window} days")
        if ties > 1:
            reasons.append(f"drawn by seed {settings.seed} among {ties} as good")
        sensitive = settings.sensitive_reason(best)
        if sensitive:
            reasons.append(f"sensitive: {sensitive}")
        result.chosen.append(Choice(best, reasons, sensitive, best_facts.importance, counted))
        counts.update(_own_tags(best.tags))
    return result


# --- the hook for bot.app.threads_for_day -----------------------------------------------------


class DailyPick:
    """``threads_for_day(..., pick=DailyPick(...))``: called with the day's events, the day
    and the limit; returns the events to post, best first, flagged sensitive where the rules
    say so. The history is read from the publish log on each call."""

    def __init__(self, store: Store, destination: str, settings: PickSettings) -> None:
        self.store = store
        self.destination = destination
        self.settings = settings
        self.last: DayPick | None = None

    def choose(
        self,
        events: list[Event],
        day: dt.date,
        limit: int | None = 1,
        facts: Mapping[str, tuple[int, str | None, str]] | None = None,
        prepare: Callable[[Event], Event] | None = None,
    ) -> DayPick:
        """``facts`` and ``prepare``: for ``events`` read without text and parts (``choose``)."""
        history = sent_history(self.store, self.destination, self.settings.history_since(day))
        known = {key: Facts(*found) for key, found in facts.items()} if facts else None
        self.last = choose(day, events, self.settings, history, limit, prepare, known)
        return self.last

    def __call__(
        self,
        events: list[Event],
        day: dt.date,
        limit: int | None = 1,
        facts: Mapping[str, tuple[int, str | None, str]] | None = None,
        prepare: Callable[[Event], Event] | None = None,
    ) -> list[Event]:
        return _flagged(self.choose(events, day, limit, facts, prepare))

    def for_day(
        self,
        day: dt.date,
        limit: int,
        leap_day: str = "feb28",
        prepare: Callable[[Event], Event] | None = None,
    ) -> list[Event]:
        """``__call__`` with the day's events as stored: ranked on those that can be its best
        (its preselection, read without text and parts), and on the whole day only when the
        preselection cannot decide (``preselection_decides``). ``prepare`` completes a chosen
        event."""
        from bot.threads.select import light_anniversary_events

        light, facts, whole = light_anniversary_events(
            self.store, day, leap_day, self.settings.important, PRESELECT_TOP
        )
        picked = self.choose(light, day, limit, facts, prepare)
        if not whole and not preselection_decides(picked, limit):
            light, facts, _ = light_anniversary_events(self.store, day, leap_day)
            picked = self.choose(light, day, limit, facts, prepare)
        return _flagged(picked)

    def is_sensitive(self, event: Event) -> bool:
        """For the publisher: whether to send ``event`` with a content warning."""
        return self.settings.sensitive_reason(event) is not None


def _flagged(picked: DayPick) -> list[Event]:
    """The chosen events, those the rules call sensitive flagged so."""
    return [replace(c.event, sensitive=True) if c.sensitive else c.event for c in picked.chosen]


def pick_settings(destination: Destination, **overrides: Any) -> PickSettings:
    return PickSettings.from_mapping(getattr(destination, "pick", None), **overrides)


def pick_for(store: Store, destination: Destination) -> DailyPick | None:
    """The daily pick of ``destination`` (a ``bot.config.Destination``), or None when its
    config does not enable one: pass it as ``threads_for_day(..., pick=pick_for(store, dest))``."""
    settings = pick_settings(destination)
    if not settings.enabled:
        return None
    return DailyPick(store, destination.name, settings)


# --- a plan over many days -------------------------------------------------------------------


# the candidates of a day the plan reads beyond the important ones: enough for the best that
# no rule excludes; a day whose preselection runs out is read whole
PRESELECT_TOP = 12


def preselection_decides(result: DayPick, limit: int) -> bool:
    """Whether ``result``, the pick among a day's preselection (curated, of a priority, of
    importance ``important`` or more, the ``PRESELECT_TOP`` most important), is the pick of the
    whole day: ``limit`` events chosen and none of a negative priority (every event left
    out is a candidate of priority 0, less important than each chosen one of priority 0
    or more, and not an important one's milestone)."""
    return len(result.chosen) >= limit and all(c.event.priority >= 0 for c in result.chosen)


def plan_days(
    store: Store,
    destination: Destination,
    start: dt.date,
    days: int,
    settings: PickSettings | None = None,
) -> list[DayPick]:
    """What ``destination`` would post on each of ``days`` days from ``start``, and why: the
    pick (or, when it is not enabled, the simple order) run day after day, each day's choice
    counting as sent for the days after it. A day already in the publish log keeps its events.

    The pick ranks each day's preselection (``Store.light_events_on``, read without text and
    parts, which are read only for the events chosen: ``with_text``): the events that can be
    the best the rules allow; a day where the rules exclude all of them is read whole and
    ranked again, so the choice is the one the whole day gives."""
    import json

    from bot.threads.select import first_in_order, light_event, light_rows

    settings = settings or pick_settings(destination)
    stand_in = (2, 28) if destination.leap_day == "feb28" else (3, 1)
    dates = [start + dt.timedelta(days=offset) for offset in range(days)]
    wanted = dict.fromkeys((d.month, d.day) for d in dates)
    if any(not calendar.isleap(d.year) and (d.month, d.day) == stand_in for d in dates):
        wanted[(2, 29)] = None
    facts: dict[str, Facts] = {}
    if settings.enabled:  # rows: events are made of those a day's choice reads (pool_of)
        by_day, totals = light_rows(store, wanted, settings.important, PRESELECT_TOP)
    else:  # the simple order: each day's first events found in the store (first_in_order)
        by_day, totals = {}, {}
    tag_lists: dict[str, list[str]] = {}
    include, exclude = set(settings.include_tags), set(settings.exclude_tags)
    tag_rules = bool(include or exclude)
    excluded_tags: dict[str, bool] = {}  # by the tags' JSON: whether the tag rules exclude

    def excluded(tags: str) -> bool:
        found = excluded_tags.get(tags)
        if found is None:
            own = set(json.loads(tags))
            found = excluded_tags[tags] = bool(include and not own & include or own & exclude)
        return found

    def pool_of(rows: list[tuple[Any, ...]]) -> list[Event]:
        pool = []
        for row in rows:
            event, found = light_event(row, tag_lists)
            facts[event.id] = Facts(*found)
            pool.append(event)
        return pool

    def days_of(day: dt.date) -> list[tuple[int, int]]:
        if not calendar.isleap(day.year) and (day.month, day.day) == stand_in:
            return [(day.month, day.day), (2, 29)]
        return [(day.month, day.day)]

    def with_text(event: Event) -> Event:
        text = store.title_and_lead(event.id)
        parts = store.parts_of(event.id)
        if text is None or parts is None:
            return event
        return replace(event, title=text[0], lead=text[1], parts=json.loads(parts))

    history = History.from_log(store, destination.name)
    limit = destination.max_threads_per_day
    plan: list[DayPick] = []
    for day in dates:
        keys = days_of(day)
        rows = [row for key in keys for row in by_day.get(key, ())]
        planned = store.planned_event_ids(destination.name, day)
        if planned:
            pool_of(rows)  # the facts of the day's events as stored, for the history
            result = DayPick(day, note="already in the publish log: these are posted")
            for event_id in planned:
                try:
                    event = store.get_event(event_id)
                except InputError:
                    continue
                result.chosen.append(Choice(event, ["already planned or sent"],
                                            settings.sensitive_reason(event)))  # fmt: skip
        elif settings.enabled:
            curated = sum(row[7] == CURATED for row in rows)  # all read: see light_events_on
            of_day = sum(totals.get(key, 0) for key in keys) - curated
            # a candidate no rule skips counts for nothing when a curated event is chosen:
            # the day is ranked on the curated events and the candidates a rule may skip,
            # and again on all when the choice is a candidate or nothing
            may_repeat = {key: history.may_repeat(*key) for key in keys}
            read = [row for row in rows if row[7] == CURATED or (tag_rules and excluded(row[4]))
                    or may_repeat[(row[1], row[2])](row[0], row[3], row[9])]  # fmt: skip
            pool = pool_of(read)
            result = choose(day, pool, settings, history, limit, with_text, facts, of_day)
            if (not result.chosen or result.fallback) and len(read) < len(rows):
                pool = pool_of(rows)
                result = choose(day, pool, settings, history, limit, with_text, facts, of_day)
            read_whole = all(len(by_day.get(key, ())) == totals.get(key, 0) for key in keys)
            if (
                not preselection_decides(result, limit)
                and settings.fallback == "candidate"
                and not read_whole
            ):
                whole, _ = light_rows(store, keys)
                by_day.update(whole)
                pool = pool_of([row for key in keys for row in whole.get(key, ())])
                result = choose(day, pool, settings, history, limit, with_text, facts)
        else:
            result = DayPick(day, note="the pick is not enabled: the simple order")
            for key in keys:
                curated, total = store.origin_counts_on(*key, CURATED)
                result.curated += curated
                result.candidates += total - curated
            first = first_in_order(store, day, limit, destination.leap_day)
            for event in map(store.get_event, first):
                result.chosen.append(Choice(event, ["simple order: curated first, then "
                                                    "priority, then every 25 years"], None))  # fmt: skip
        for choice in result.chosen:
            event = choice.event
            history.add(day, event.id, event.tags, event.date,
                        facts.get(event.id) or Facts.of(event))  # fmt: skip
        plan.append(result)
    return plan


def format_plan(plan: list[DayPick], destination: str, settings: PickSettings) -> str:
    out: list[str] = []
    state = "enabled" if settings.enabled else "not enabled (simple order)"
    out.append(
        f"Plan for {destination}: {len(plan)} day{'s' if len(plan) != 1 else ''} from "
        f"{plan[0].day.isoformat() if plan else '-'}; pick {state}, seed {settings.seed}\n"
    )
    for day_pick in plan:
        day = day_pick.day
        head = f"{day.isoformat()} {day:%a}"
        pool = f"[{day_pick.curated} curated, {day_pick.candidates:,} candidates]"
        if not day_pick.chosen:
            out.append(f"{head}  (nothing)  {pool}: {day_pick.note}\n")
        for index, choice in enumerate(day_pick.chosen):
            prefix = head if index == 0 else " " * len(head)
            out.append(f"{prefix}  {choice.event.id}  {choice.event.title}\n")
            why = "; ".join(choice.reasons)
            out.append(f"{' ' * len(head)}    why: {why}\n")
        if day_pick.chosen:
            extra = [f"{count} {reason}" for reason, count in sorted(day_pick.skipped.items())]
            skipped = f"; skipped {', '.join(extra)}" if extra else ""
            out.append(f"{' ' * len(head)}    of {pool}{skipped}\n")
    return "".join(out)


# each store's histories read by sent_history: by destination, with the store's mark then and
# the day they begin after
_HISTORIES: weakref.WeakKeyDictionary[Store, dict[str, tuple[Any, dt.date, History]]] = (
    weakref.WeakKeyDictionary()
)


def sent_history(store: Store, destination: str, since: dt.date) -> History:
    """``History.from_log`` after the day ``since``, read again only when the store may have
    changed since (``Store.change_mark``) or an earlier day is asked for: a preview of a year
    reads it once, not once a day. Shared: not to be added to (``plan_days`` reads its own)."""
    mark = store.change_mark()
    histories = _HISTORIES.setdefault(store, {})
    found = histories.get(destination)
    if found is None or found[0] != mark or found[1] > since:
        found = histories[destination] = (mark, since, History.from_log(store, destination, since))
    return found[2]
