"""Issue 20: the simple order's first events of a day are found in the store without reading
the rest of the day (``first_in_order``, the index of migration m014), and they are the ones
ordering every event of the day gives."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.input_rules import MAX_YEAR, MIN_YEAR
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.store import Store
from bot.threads.select import (
    anniversary_events,
    first_in_order,
    is_milestone,
    milestone_years,
    order_events,
)

DAYS = [(1, 10), (2, 28), (2, 29), (3, 1)]
# the days posted on: common and leap years, February 29's stand-ins
TARGETS = [dt.date(2027, 1, 10), dt.date(2027, 2, 28), dt.date(2028, 2, 28), dt.date(2028, 2, 29),
           dt.date(2027, 3, 1), dt.date(2028, 3, 1)]  # fmt: skip
# 2027's and 2028's milestones (every 25 years, with no year 0 between BC and AD), their
# neighbours, and any other year
YEARS = st.one_of(
    st.none(),
    st.sampled_from([2002, 2003, 1977, 1978, 1927, 1928, 1952, 1953, -24, -25, -23, 2027, 2028]),
    st.integers(-120, 2030).filter(bool),
)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(DAYS),
        YEARS,
        st.sampled_from(["curated", "wikipedia", "wikipedia", "wikipedia", "onthisday"]),
        st.sampled_from([0, 0, 0, 0, -1, 1, 2]),
    ),
    max_size=40,
)


def stored(events: list[tuple[tuple[int, int], int | None, str, int]]) -> Store:
    store = Store(":memory:")
    rows = []
    for number, ((month, day), year, origin, priority) in enumerate(events):
        if (month, day) == (2, 29) and year is not None and year % 4:
            year = None  # a February 29 of a common year does not exist
        # ids that do not sort as they were made: the order's last key is the id
        event_id = f"e{(number * 7919) % 1000:03d}-{number}"
        rows.append(Event(event_id, AnniversaryDate(month, day, year), event_id, event_id, [],
                          None, ["event"], priority, False, None, origin))  # fmt: skip
    store.import_events(rows)
    return store


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=EVENTS,
    day=st.sampled_from(TARGETS),
    leap_day=st.sampled_from(["feb28", "mar1"]),
    limit=st.integers(1, 4),
)
@example(  # three milestones, the earliest a curated one's, and an earlier year that is not one
    events=[((1, 10), 1977, "wikipedia", 0), ((1, 10), 1927, "curated", 0),
            ((1, 10), 2002, "onthisday", 0), ((1, 10), 1800, "wikipedia", 0),
            ((1, 10), -24, "wikipedia", 0), ((1, 10), None, "wikipedia", 0)],
    day=dt.date(2027, 1, 10), leap_day="feb28", limit=4,
)  # fmt: skip
def test_the_first_in_order_are_those_of_the_whole_day_ordered(events, day, leap_day, limit):
    store = stored(events)
    whole_day = order_events(anniversary_events(store, day, leap_day), day)
    assert first_in_order(store, day, limit, leap_day) == [e.id for e in whole_day[:limit]]


def test_the_first_in_order_are_read_through_the_day_order_index():
    store = stored([((1, 10), 1927, "wikipedia", 0)])
    assert ["month", "day", "priority", "year"] in [i.columns for i in store.db["events"].indexes]
    plans = [
        row[-1]
        for row in store.conn.execute(
            "explain query plan select year from events where month = 1 and day = 10 "
            "and priority = 0 and year > 1900 order by year limit 1"
        )
    ]
    assert any("idx_events_month_day_priority_year" in plan for plan in plans), plans


@settings(max_examples=30)
@given(st.integers(1, 9999))
@example(1)
@example(25)
@example(26)
@example(2027)
@example(9999)
def test_the_milestone_years_are_every_year_the_order_calls_a_milestone(year):
    # the years ``first_in_order`` asks the store for, found without trying every year (a
    # start-up cost of ``preview``), are exactly those ``is_milestone`` says, BC ones included
    day = dt.date(year, 1, 1)
    every_year = (y for y in range(MIN_YEAR, MAX_YEAR + 1) if y)  # no event has a year 0
    assert tuple(y for y in milestone_years(year) if y) == tuple(
        y for y in every_year if is_milestone(AnniversaryDate(1, 1, y), day)
    )
