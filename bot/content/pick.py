"""The daily pick: which of a day's events a destination posts, and why.

Enabled per destination (``pick: {enabled: true, ...}`` in the config), it replaces the simple
order of ``bot.app.order_events``. For each day, in this order of preference:

1. only events the destination may post: ``include_tags`` (when given, at least one of them),
   no ``exclude_tags``, and not sent to this destination within ``no_repeat_years`` (the
   publish log's "sent" rows);
2. curated events; when there is none, a candidate (``fallback: candidate``) or nothing
   (``fallback: none``);
3. among those: higher ``priority`` first, then milestone anniversaries (``milestones``, and
   every ``milestone_every`` years), then the events whose tags were used least over the last
   ``balance_days`` days (the tags balance over a week), then Wikipedia's "selected" items,
   then a draw that depends only on ``seed``, the day and the event id (deterministic).

A picked event whose tags or text match ``sensitive_tags``/``sensitive_keywords`` is flagged
sensitive, so adapters with content warnings use them. Nothing here depends on the clock:
the day is always a parameter.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.content import CURATED
from bot.model import Event
from bot.model.dates import AnniversaryDate, years_between

if TYPE_CHECKING:
    from bot.config import Destination
    from bot.store import Store

DEFAULT_MILESTONES = (25, 50, 75, 100, 125, 150, 200, 250, 300)
DEFAULT_SENSITIVE_TAGS = ("disaster", "terrorism", "genocide", "massacre", "holocaust",
                          "war-crimes", "suicide")  # fmt: skip
# "word" matches the word; "word*" any word starting with it; spaces match any white space
DEFAULT_SENSITIVE_KEYWORDS = (
    "massacre*", "genocide*", "holocaust", "terroris*", "bombing*", "suicide*", "murder*",
    "assassinat*", "shooting", "shootings", "executed", "execution", "executions", "lynch*",
    "killed", "killing*", "famine", "pogrom*", "atrocit*", "rape*", "torture*", "slaughter*",
    "war crime*", "ethnic cleansing", "earthquake*", "tsunami*", "plane crash*",
)  # fmt: skip
FALLBACKS = ("candidate", "none")


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

    @cached_property
    def _keywords(self) -> list[tuple[str, re.Pattern[str]]]:
        patterns = []
        for keyword in self.sensitive_keywords:
            word = keyword.strip().lower()
            prefix = word.endswith("*")
            body = r"\s+".join(re.escape(w) for w in word.rstrip("*").split())
            if body:
                tail = r"\w*" if prefix else r"\b"
                patterns.append((keyword, re.compile(rf"\b{body}{tail}", re.IGNORECASE)))
        return patterns

    def sensitive_reason(self, event: Event) -> str | None:
        """Why ``event`` is sensitive (its flag, a tag, a keyword in title or lead), or None."""
        if event.sensitive:
            return "marked sensitive"
        for tag in event.tags:
            if tag in self.sensitive_tags:
                return f"tag {tag}"
        text = f"{event.title} {event.lead}"
        for keyword, pattern in self._keywords:
            if pattern.search(text):
                return f"keyword {keyword!r}"
        return None


# --- what a destination has posted ----------------------------------------------------------


class History:
    """The days each event was sent to one destination, and the tags sent each day."""

    def __init__(self) -> None:
        self.sent: dict[str, list[dt.date]] = defaultdict(list)
        self.day_tags: dict[dt.date, list[tuple[str, ...]]] = defaultdict(list)

    @classmethod
    def from_log(cls, store: Store, destination: str) -> History:
        import json

        history = cls()
        for event_id, day, tags in store.sent_events(destination):
            history.add(day, event_id, json.loads(tags) if tags else [])
        return history

    def add(self, day: dt.date, event_id: str, tags: Iterable[str]) -> None:
        if day not in self.sent[event_id]:
            self.sent[event_id].append(day)
            self.day_tags[day].append(tuple(tags))

    def sent_within(self, event_id: str, day: dt.date, years: int) -> dt.date | None:
        """The last day before ``day`` (and after the same day ``years`` years earlier) this
        event was sent, if any."""
        if years <= 0 or event_id not in self.sent:
            return None
        cutoff = _years_before(day, years)
        recent = [d for d in self.sent[event_id] if cutoff < d < day]
        return max(recent) if recent else None

    def tag_counts(self, day: dt.date, days: int) -> Counter[str]:
        """How often each tag was sent in the ``days - 1`` days before ``day`` ("" for an
        event without tags)."""
        counts: Counter[str] = Counter()
        for back in range(1, days):
            for tags in self.day_tags.get(day - dt.timedelta(days=back), ()):
                counts.update(tags or ("",))
        return counts


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


@dataclass
class DayPick:
    day: dt.date
    chosen: list[Choice] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    repeats: list[tuple[str, dt.date]] = field(default_factory=list)  # (event id, last sent)
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
                    "reasons": c.reasons,
                    "sensitive": c.sensitive,
                }
                for c in self.chosen
            ],  # fmt: skip
            "fallback": self.fallback,
            "skipped": dict(self.skipped),
            "repeats": [{"id": i, "last_sent": d.isoformat()} for i, d in self.repeats],
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
) -> DayPick:
    """The events ``pool`` (the day's anniversaries) gives for ``day``, best first, with the
    reasons; ``history`` is what the destination posted before. ``prepare``: completes a
    chosen event read without its text (``plan_days``) before the sensitive check."""
    result = DayPick(day)
    include, exclude = set(settings.include_tags), set(settings.exclude_tags)
    curated: list[Event] = []
    candidates: list[Event] = []
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
        last = history.sent_within(event.id, day, settings.no_repeat_years)
        if last is not None:
            result.skipped[f"sent within {settings.no_repeat_years} years"] += 1
            result.repeats.append((event.id, last))
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
    counts = history.tag_counts(day, settings.balance_days)
    milestones = {e.id: settings.milestone_years(e.date, day) for e in options}
    seed_text = f"{settings.seed}:{day.isoformat()}:"

    def rank(event: Event) -> tuple:
        return (
            -event.priority,
            milestones[event.id] is None,
            max([counts[t] for t in event.tags] if event.tags else [counts[""]]),
            "selected" not in event.tags,
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
        if prepare is not None:
            best = prepare(best)
        if best.origin == CURATED:
            reasons = [CURATED]
        elif result.curated:
            some = f"{result.curated} curated event{'s' if result.curated != 1 else ''}"
            reasons = [f"fallback: the day's {some} excluded or recently sent; a candidate "
                       f"of {len(candidates)}"]  # fmt: skip
        else:
            reasons = [f"fallback: no curated event; a candidate of {len(candidates)}"]
        if best.priority:
            reasons.append(f"priority {best.priority}")
        years = milestones[best.id]
        if years is not None:
            reasons.append(f"milestone: {years} years")
        elif best.date.year is not None:
            reasons.append(f"{years_between(best.date.year, day.year)} years")
        counted_tags = best.tags or ("",)
        used = max(counts[t] for t in counted_tags)
        label = ", ".join(best.tags) if best.tags else "no tags"
        window = settings.balance_days - 1
        reasons.append(f"tags {label}: used {used}x in the last {window} days")
        if ties > 1:
            reasons.append(f"drawn by seed {settings.seed} among {ties} as good")
        sensitive = settings.sensitive_reason(best)
        if sensitive:
            reasons.append(f"sensitive: {sensitive}")
        result.chosen.append(Choice(best, reasons, sensitive))
        counts.update(tags)
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

    def choose(self, events: list[Event], day: dt.date, limit: int | None = 1) -> DayPick:
        history = History.from_log(self.store, self.destination)
        self.last = choose(day, events, self.settings, history, limit)
        return self.last

    def __call__(self, events: list[Event], day: dt.date, limit: int | None = 1) -> list[Event]:
        picked = self.choose(events, day, limit)
        return [replace(c.event, sensitive=True) if c.sensitive else c.event for c in picked.chosen]

    def is_sensitive(self, event: Event) -> bool:
        """For the publisher: whether to send ``event`` with a content warning."""
        return self.settings.sensitive_reason(event) is not None


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


def _light_events(store: Store) -> dict[tuple[int, int], list[Event]]:
    """Every event without its text and parts (the pick reads them only for the events it
    chooses: see ``_with_text``), by month and day. 133,000 events take 0.3 s this way."""
    import gc
    import json

    by_day: dict[tuple[int, int], list[Event]] = defaultdict(list)
    tag_lists: dict[str, list[str]] = {}  # a few distinct tag lists: parse each once
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small objects and no cycles: collecting while building costs half
    try:
        for row in store.light_event_rows():
            event_id, month, day, year, tags, priority, sensitive, origin = row
            parsed = tag_lists.get(tags)
            if parsed is None:
                parsed = tag_lists[tags] = json.loads(tags)
            date = AnniversaryDate(month, day, year)
            by_day[(month, day)].append(
                Event(
                    event_id,
                    date,
                    "",
                    "",
                    (),
                    None,
                    parsed,
                    priority,
                    bool(sensitive),
                    None,
                    origin,
                )  # fmt: skip
            )
    finally:
        if gc_was_enabled:
            gc.enable()
    return by_day


def plan_days(
    store: Store,
    destination: Destination,
    start: dt.date,
    days: int,
    settings: PickSettings | None = None,
) -> list[DayPick]:
    """What ``destination`` would post on each of ``days`` days from ``start``, and why: the
    pick (or, when it is not enabled, the simple order) run day after day, each day's choice
    counting as sent for the days after it. A day already in the publish log keeps its events."""
    from bot.threads.select import order_events

    settings = settings or pick_settings(destination)
    by_day = _light_events(store)

    def with_text(event: Event) -> Event:
        text = store.title_and_lead(event.id)
        return replace(event, title=text[0], lead=text[1]) if text else event

    history = History.from_log(store, destination.name)
    limit = destination.max_threads_per_day
    stand_in = (2, 28) if destination.leap_day == "feb28" else (3, 1)
    events_by_id: dict[str, Event] = {}
    plan: list[DayPick] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        pool = list(by_day.get((day.month, day.day), ()))
        if not calendar.isleap(day.year) and (day.month, day.day) == stand_in:
            pool += by_day.get((2, 29), [])
        planned = store.planned_event_ids(destination.name, day)
        if planned:
            if not events_by_id:
                events_by_id = {e.id: e for group in by_day.values() for e in group}
            result = DayPick(day, note="already in the publish log: these are posted")
            for event_id in planned:
                event = events_by_id.get(event_id)
                if event is not None:
                    event = with_text(event)
                    result.chosen.append(Choice(event, ["already planned or sent"],
                                                settings.sensitive_reason(event)))  # fmt: skip
        elif settings.enabled:
            result = choose(day, pool, settings, history, limit, with_text)
        else:
            result = DayPick(day, note="the pick is not enabled: the simple order")
            result.curated = sum(e.origin == CURATED for e in pool)
            result.candidates = len(pool) - result.curated
            for event in map(with_text, order_events(pool, day)[:limit]):
                result.chosen.append(Choice(event, ["simple order: curated first, then "
                                                    "priority, then every 25 years"], None))  # fmt: skip
        for choice in result.chosen:
            history.add(day, choice.event.id, choice.event.tags)
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
