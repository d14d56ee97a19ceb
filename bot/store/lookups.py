"""Narrow reads and writes of events and members for the pick, the calendar, the on-this-day
import, promotion and the mention checks: each reads only the columns its caller needs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from bot.model import Event

if TYPE_CHECKING:
    from bot.store_file import StoreDatabase

# the columns of ``light_event_rows``, in order
LIGHT_COLUMNS = ("id", "month", "day", "year", "tags", "priority", "sensitive", "origin",
                 "importance", "subject", "pages")  # fmt: skip


class EventLookups:
    """Statements on ``events`` and ``members`` beyond whole records (a part of ``Store``)."""

    db: StoreDatabase

    # --- events ---------------------------------------------------------------------------

    def light_event_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every event as a tuple of ``LIGHT_COLUMNS``: no text, no parts (fast to read)."""
        return self.db.conn.execute(f"select {', '.join(LIGHT_COLUMNS)} from events")

    def light_events_on(
        self, days: Iterable[tuple[int, int]], important: int | None = None, top: int = 0
    ) -> Iterator[tuple[Any, ...]]:
        """The events of each (month, day) of ``days`` (the index on month and day) as tuples of
        ``LIGHT_COLUMNS`` and the number of the day's events. With ``important``: only the events that can be the
        daily pick's best candidate (curated, given a priority, of importance ``important``
        or more, or among the ``top`` most important, ties included); see
        ``bot.content.pick.plan_days``."""
        columns = ", ".join(LIGHT_COLUMNS)
        if important is None:
            sql = f"select {columns}, count(*) over () from events where month = ? and day = ?"
            for month, day in days:
                yield from self.db.conn.execute(sql, [month, day])
            return
        # each part found through an index (m010, m014): the day's other events are not read;
        # the ``top`` most important, ties included: those of the ``top``-th importance or more
        day_is = "from events where month = ?1 and day = ?2"
        parts = [f"select rowid {day_is} and {condition}" for condition in
                 ("origin = 'curated'", "priority > 0", "priority < 0", "importance >= ?3")]  # fmt: skip
        if top > 0:
            # imported here: only the daily pick asks for a top (start-up of the others)
            from bot.input_rules import INT64_MIN

            parts.append(
                f"select rowid {day_is} and importance >= coalesce((select importance {day_is} "
                f"order by importance desc limit 1 offset ?4), {INT64_MIN})"
            )
        sql = (
            f"select {columns}, ?5 from events where rowid in ({' union all '.join(parts)}) "
            "order by importance desc, priority, year, rowid"
        )
        count = f"select count(*) {day_is}"
        for month, day in days:
            (total,) = self.db.conn.execute(count, [month, day]).fetchone()
            yield from self.db.conn.execute(sql, [month, day, important, top - 1, total])

    def sent_event_facts(self, destination: str, since: str = "") -> list[tuple[Any, ...]]:
        """(event id, day sent, tags, year, month, day, subject, pages) of every event sent to
        ``destination`` (after the day ``since``, YYYY-MM-DD, when given), once per day: what
        the daily pick must not repeat."""
        return self.db.conn.execute(
            "select p.event_id, p.day, e.tags, e.year, e.month, e.day, e.subject, e.pages "
            "from publish_log p left join events e on e.id = p.event_id "
            "where p.destination = ? and p.state = 'sent' and p.day > ? "
            "group by p.event_id, p.day",
            [destination, since],
        ).fetchall()

    def change_mark(self) -> tuple[int, int]:
        """Differs from an earlier mark when the store may have changed since: a commit by
        another connection (SQLite's ``data_version``) or a change through this one."""
        (version,) = self.db.conn.execute("pragma data_version").fetchone()
        return version, self.db.conn.total_changes

    def parts_of(self, event_id: str) -> str | None:
        """An event's parts as stored JSON."""
        row = self.db.conn.execute("select parts from events where id = ?", [event_id]).fetchone()
        return row[0] if row else None

    def title_and_lead(self, event_id: str) -> tuple[str, str] | None:
        row = self.db.conn.execute(
            "select title, lead from events where id = ?", [event_id]
        ).fetchone()
        return (row[0], row[1]) if row else None

    def origins_and_parts(self, event_ids: list[str]) -> dict[str, tuple[str, str]]:
        """For each of ``event_ids`` in the store: (origin, parts as stored JSON)."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(event_ids), 500):  # below SQLite's limit of bound values
            chunk = event_ids[start : start + 500]
            rows = self.db.conn.execute(
                f"select id, origin, parts from events where id in ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((row[0], (row[1], row[2])) for row in rows)
        return found

    def set_origin(self, event_ids: Iterable[str], origin: str, now: str) -> None:
        """Give every one of ``event_ids`` the origin ``origin``, in one transaction."""
        with self.db.atomic():
            for event_id in event_ids:
                self.db.conn.execute(
                    "update events set origin = ?, updated_at = ? where id = ?",
                    [origin, now, event_id],
                )

    def events_not_of_origin(
        self,
        origin: str,
        month: int | None = None,
        day: int | None = None,
        search: str | None = None,
        limit: int | None = 50,
    ) -> list[Event]:
        """Events whose origin is not ``origin``, on ``month``/``day`` when given, whose title,
        lead or id contains ``search`` when given; by date."""
        where = ["origin != ?"]
        params: list[object] = [origin]
        if month is not None:
            where.append("month = ? and day = ?")
            params += [month, day]
        if search:
            where.append("(title like ? or lead like ? or id like ?)")
            params += [f"%{search}%"] * 3
        sql = f"select * from events where {' and '.join(where)} order by month, day, year, id"
        if limit:
            sql += f" limit {int(limit)}"
        return [Event.from_row(row) for row in self.db.query(sql, params)]

    def counts_by_day(
        self, curated: str, include_tags: Iterable[str] = (), exclude_tags: Iterable[str] = ()
    ) -> list[tuple[int, int, bool, int]]:
        """(month, day, origin is ``curated``, number of events) for every day and origin with
        events, counting only events with one of ``include_tags`` (when given) and none of
        ``exclude_tags``: from the counts per day, origin and tags that m013 keeps."""
        include, exclude = list(include_tags), list(exclude_tags)
        where: list[str] = []
        params: list[object] = [curated]  # the select's "origin = ?" comes first
        if include:
            marks = ", ".join("?" * len(include))
            where.append(f"exists (select 1 from json_each(tags) where value in ({marks}))")
            params += include
        if exclude:
            marks = ", ".join("?" * len(exclude))
            where.append(f"not exists (select 1 from json_each(tags) where value in ({marks}))")
            params += exclude
        sql = "select month, day, origin = ?, sum(events) from event_day_counts"
        if where:
            sql += " where " + " and ".join(where)
        sql += " group by month, day, origin"
        return [
            (month, day, bool(is_curated), count)
            for month, day, is_curated, count in self.db.conn.execute(sql, params)
        ]

    def events_with_mentions(self) -> Iterator[tuple[str, str]]:
        """(id, parts as stored JSON) of the events that may have a mentions block, by id."""
        # the LIKE only skips the parsing of events that cannot have a mentions block; the
        # same LIKE as the index of m013, which holds these events alone
        return self.db.conn.execute(
            "select id, parts from events where parts like '%mentions%' order by id"
        )

    def event_credits(self) -> Iterator[tuple[str, str]]:
        """(id, credit) of the events that thank someone, by id."""
        return self.db.conn.execute(
            "select id, credit from events where credit is not null order by id"  # m013's index
        )

    def event_naming_list(self, name: str) -> str | None:
        """The id of an event whose parts name the mention list ``name``."""
        used = self.db.conn.execute(
            "select id from events where parts like ? limit 1", [f'%"{name}"%']
        ).fetchone()
        return used[0] if used else None

    # --- members --------------------------------------------------------------------------

    def member_names(self) -> dict[str, str]:
        """Every member's display name by id."""
        return dict(self.db.conn.execute("select id, name from members"))

    def event_references(self, event_id: str) -> tuple[list[int], int]:
        """What still refers to ``event_id``: the ids of its drafts, and how many posts of the
        publish log name it."""
        drafts = [
            row[0]
            for row in self.db.conn.execute(
                "select id from drafts where event_id = ? order by id", [event_id]
            )
        ]
        logged = self.db.conn.execute(
            "select count(*) from publish_log where event_id = ?", [event_id]
        ).fetchone()[0]
        return drafts, logged

    def delete_events(self, event_ids: list[str]) -> None:
        """Delete the events ``event_ids`` and their drafts, in one transaction; the publish
        log keeps its rows (what went out stays in ``history``)."""
        with self.db.atomic():
            for event_id in event_ids:
                self.db.conn.execute("delete from drafts where event_id = ?", [event_id])
                self.db.conn.execute("delete from events where id = ?", [event_id])

    def has_member(self, member_id: str) -> bool:
        return (
            self.db.conn.execute("select 1 from members where id = ?", [member_id]).fetchone()
            is not None
        )

    # --- the simple order ------------------------------------------------------------------

    def first_in_order_candidates(
        self, month: int, day: int, years: Sequence[int], limit: int, curated: str
    ) -> list[tuple[str, int | None, str, int]]:
        """(id, year, origin, priority) of the events of the day that can be among the first
        ``limit`` of the simple order (``bot.threads.select.first_in_order``), each read
        through the index on month, day, priority and year (m014): those of origin
        ``curated``, those with a priority, those of ``years`` (the milestones), and of the
        others the ``limit`` first by year (none last) and id, of ``years`` and of the rest.
        An event may come twice."""
        columns = "select id, year, origin, priority from events where month = ?1 and day = ?2"
        # of ``years``, those between the day's first and last (a few seeks on the index)
        first, last = (
            self.db.conn.execute(
                f"select {which}(year) from events where month = ? and day = ? and priority = 0",
                [month, day],
            ).fetchone()[0]
            for which in ("min", "max")
        )
        years = [y for y in years if first is not None and first <= y <= last]
        marks = "select value from json_each(?5)"  # one statement whatever the years
        rest = f"{columns} and priority = 0 and origin != ?3"
        sql = (
            f"{columns} and origin = ?3 "
            f"union all {columns} and priority > 0 "
            f"union all {columns} and priority < 0 "
            f"union all select * from ({rest} and year in ({marks}) order by year, id limit ?4) "
            f"union all select * from ({rest} and year is not null and year not in ({marks}) "
            "order by year, id limit ?4) "
            f"union all select * from ({rest} and year is null order by id limit ?4)"
        )
        return self.db.conn.execute(sql, [month, day, curated, limit, json.dumps(years)]).fetchall()

    def origin_counts_on(self, month: int, day: int, curated: str) -> tuple[int, int]:
        """(events of origin ``curated``, all events) of the day, counted on the indexes."""
        sql = "select count(*) from events where month = ? and day = ?"
        query = self.db.conn.execute
        (curated_count,) = query(f"{sql} and origin = ?", [month, day, curated]).fetchone()
        (total,) = query(sql, [month, day]).fetchone()
        return curated_count, total
