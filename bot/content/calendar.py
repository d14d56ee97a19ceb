"""Coverage: for every day of the year, how many curated and candidate events exist, so
curators see the empty days first. ``day_counts`` is the data (the HTML preview's calendar
page can use it); ``format_calendar`` the terminal view."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.content import CURATED
from bot.model.dates import MONTH_NAMES
from bot.wording import plural

if TYPE_CHECKING:
    from bot.store import Store

# click.style's shape: the text, and keywords such as fg= and bold=
Style = Callable[..., str]

SHORT_MONTHS = list(calendar.month_abbr)


@dataclass(frozen=True)
class DayCount:
    month: int
    day: int
    curated: int
    candidates: int
    folded: int = 0  # February 29 events counted here in a common year

    @property
    def total(self) -> int:
        return self.curated + self.candidates

    @property
    def month_day(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def to_json(self) -> dict[str, Any]:
        return {"date": self.month_day, "curated": self.curated, "candidates": self.candidates}


def day_counts(
    store: Store,
    year: int | None = None,
    leap_day: str = "feb28",
    include_tags: tuple[str, ...] | list[str] = (),
    exclude_tags: tuple[str, ...] | list[str] = (),
) -> list[DayCount]:
    """Every day of the year in order, with its number of curated and candidate events
    (candidates: any origin but "curated").

    ``year``: the days of that year, where in a common year the February 29 events count on
    February 28 (``leap_day="feb28"``) or March 1 (``"mar1"``), as they are posted; None: all
    366 month-days, February 29 on its own. ``include_tags``/``exclude_tags``: only the events
    a destination may post (its pick's tag rules)."""
    found: dict[tuple[int, int], list[int]] = {}
    counts = store.counts_by_day(CURATED, include_tags or (), exclude_tags or ())
    for month, day, is_curated, count in counts:
        found.setdefault((month, day), [0, 0])[0 if is_curated else 1] += count
    leap = year is None or calendar.isleap(year)
    stand_in = (2, 28) if leap_day == "feb28" else (3, 1)
    out: list[DayCount] = []
    for month in range(1, 13):
        for day in range(1, calendar.monthrange(2000 if leap else 2001, month)[1] + 1):
            curated, candidates = found.get((month, day), (0, 0))
            folded = 0
            if not leap and (month, day) == stand_in:
                extra = found.get((2, 29), (0, 0))
                curated, candidates, folded = curated + extra[0], candidates + extra[1], sum(extra)
            out.append(DayCount(month, day, curated, candidates, folded))
    return out


def _ranges(days: list[DayCount]) -> str:
    """ "Jan 1-9, Jan 11, Feb 3-5": consecutive days of a month as one range."""
    parts: list[str] = []
    run: list[DayCount] = []

    def close() -> None:
        if run:
            first, last = run[0], run[-1]
            span = f"{first.day}-{last.day}" if last.day != first.day else f"{first.day}"
            parts.append(f"{SHORT_MONTHS[first.month]} {span}")

    for count in days:
        if run and (count.month != run[-1].month or count.day != run[-1].day + 1):
            close()
            run = []
        run.append(count)
    close()
    return ", ".join(parts)


def _cell(count: DayCount, style: Style) -> str:
    mark = "!" if count.total == 0 else ("*" if count.curated == 0 else " ")
    candidates = str(count.candidates) if count.candidates < 1000 else "1k+"
    text = f"{count.day:>2}{mark} {count.curated:>2}+{candidates}"
    pad = " " * (10 - len(text))  # outside the colour: a line's end strips clean
    if count.total == 0:
        return style(text, fg="red", bold=True) + pad
    if count.curated == 0:
        return style(text, fg="yellow") + pad
    return text + pad


def format_calendar(
    counts: list[DayCount],
    year: int | None,
    title: str,
    style: Style | None = None,
    leap_day: str = "feb28",
) -> str:
    """Empty days first (no event at all, then no curated event), then the twelve months as
    grids: each day "DD c+k" with c curated and k candidate events; "*" marks a day without a
    curated event, "!" a day without any (in colour where ``style`` is click.style)."""
    style = style or (lambda text, **_: text)
    nothing = [c for c in counts if c.total == 0]
    no_curated = [c for c in counts if c.curated == 0 and c.total > 0]
    curated_total = sum(c.curated for c in counts)
    candidates_total = sum(c.candidates for c in counts)
    out = [
        f"{title}: {curated_total:,} curated and {candidates_total:,} candidate events over "
        f"{len(counts)} days\n",
        f"Days with no event at all ({len(nothing)}): {_ranges(nothing) or 'none'}\n",
        f"Days with no curated event ({len(no_curated)}): {_ranges(no_curated) or 'none'}\n",
    ]
    folded = [c for c in counts if c.folded]
    for count in folded:
        out.append(
            f"February 29's {plural(count.folded, 'event')} "
            f"{'is' if count.folded == 1 else 'are'} counted on {MONTH_NAMES[count.month]} "
            f"{count.day} (leap_day: {leap_day}): {year} is not a leap year\n"
        )
    out.append('\nEach day: "DD curated+candidates"; * no curated event, ! no event at all\n')
    layout_year = year if year is not None else 2000
    by_day = {(c.month, c.day): c for c in counts}
    week = calendar.Calendar(firstweekday=0)
    for month in range(1, 13):
        month_counts = [c for c in counts if c.month == month]
        missing = sum(1 for c in month_counts if c.curated == 0)
        out.append(
            f"\n{MONTH_NAMES[month]}{f' {year}' if year else ''}: "
            f"{sum(c.curated for c in month_counts):,} curated, "
            f"{sum(c.candidates for c in month_counts):,} candidates; "
            f"{missing} day{'s' if missing != 1 else ''} without a curated event\n"
        )
        if year is not None:
            out.append(" ".join(f"{name:<10}" for name in calendar.day_abbr).rstrip() + "\n")
        for row in week.monthdayscalendar(layout_year, month):
            cells = []
            for day in row:
                day_count = by_day.get((month, day)) if day else None
                cells.append(_cell(day_count, style) if day_count else " " * 10)
            out.append(" ".join(cells).rstrip() + "\n")
    return "".join(out)
