"""The publish log's SQL: one row per (destination, event, day, post); ``bot.publishing.log`` owns the
state machine, this module only reads and writes the rows it is told to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store.rows import PlannedRow
    from bot.store_file import StoreDatabase


class PublishLogTable:
    """The ``publish_log`` table's statements (a part of ``Store``)."""

    db: StoreDatabase

    def publish_log_rows(
        self,
        destination: str | None = None,
        day: dt.date | None = None,
        states: Collection[str] | None = None,
        event_id: str | None = None,
        since: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        """The rows matching every filter given (``since``: of that day or later), in the
        order a day's posts go out."""
        return list(self.iter_publish_log_rows(destination, day, states, event_id, since))

    def iter_publish_log_rows(
        self,
        destination: str | None = None,
        day: dt.date | None = None,
        states: Collection[str] | None = None,
        event_id: str | None = None,
        since: dt.date | None = None,
        columns: Sequence[str] = ("*",),
    ) -> Iterator[dict[str, Any]]:
        """``publish_log_rows``, read as they are used, with only ``columns``."""
        where, params = [], []
        for column, value in (("destination", destination), ("event_id", event_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if day is not None:
            where.append("day = ?")
            params.append(day.isoformat())
        if since is not None:
            where.append("day >= ?")
            params.append(since.isoformat())
        if states:
            where.append(f"state in ({', '.join('?' * len(states))})")
            params += list(states)
        sql = f"select {', '.join(columns)} from publish_log"
        if where:
            sql += " where " + " and ".join(where)
        # given states, the rows in them are found through the (destination, state, day) or the
        # (state) index and then sorted: without the "+" SQLite walks every row of the
        # destination in day order to spare that sort (years of sent posts to find a failed one)
        day_order = "+day" if states else "day"
        sql += f" order by {day_order}, destination, created_at, event_id, number"
        return self.db.query(sql, params)

    def last_logged_day_counts(self, destination: str, sent: str) -> tuple[str | None, int, int]:
        """The last day ``destination``'s log has, its posts in state ``sent`` and all its
        posts: counted in the store (the log of years is 100,000 rows and more), on that
        day's rows alone: without ``indexed by`` SQLite counts through the (destination, state,
        day) index, every row the destination ever had, because it holds the columns read."""
        day, posts, sent_posts = self.db.conn.execute(
            "select day, count(*), coalesce(sum(state = ?), 0) from publish_log "
            "indexed by idx_publish_log_destination_day where destination = ? and day = "
            "(select max(day) from publish_log where destination = ?)",
            [sent, destination, destination],
        ).fetchone()
        return day, sent_posts, posts

    def publish_log_row(self, key: str) -> dict[str, Any] | None:
        found = list(self.db.query("select * from publish_log where key = ?", [key]))
        return found[0] if found else None

    def planned_event_ids(self, destination: str, day: dt.date) -> list[str]:
        """The events ``destination``'s log has for ``day``, in the order they were planned."""
        rows = self.db.conn.execute(
            "select event_id from publish_log where destination = ? and day = ? "
            "group by event_id order by min(created_at), min(rowid)",
            [destination, day.isoformat()],
        )
        return [row[0] for row in rows]

    def plan_posts(
        self, destination: str, posts: Sequence[PlannedRow], state: str, now: str
    ) -> dict[str, dict[str, Any]]:
        """Write a ``state`` row for every post not in the log yet; a row still planned or
        failed gets the new text; the rows of ``posts`` by key."""
        with self.db.atomic():
            for post in posts:
                self.db.conn.execute(
                    "insert into publish_log (key, destination, event_id, day, number, part, "
                    "state, title, body, attempts, created_at, updated_at) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) on conflict(key) do update set "
                    "title = excluded.title, body = excluded.body "
                    "where publish_log.state in ('planned', 'failed')",
                    [post.key, destination, post.event_id, post.day.isoformat(), post.number,
                     post.number, state, post.title, post.body, now, now],
                )  # fmt: skip
        keys = [post.key for post in posts]
        rows = self.db.query(
            f"select * from publish_log where key in ({', '.join('?' * len(keys))})", keys
        )
        return {row["key"]: row for row in rows}

    def add_publish_log_row(
        self, key: str, destination: str, event_id: str, day: dt.date, state: str, now: str
    ) -> None:
        """A first post's row with no text yet (nothing when the key is there already)."""
        with self.db.atomic():
            self.db.conn.execute(
                "insert or ignore into publish_log (key, destination, event_id, day, number, "
                "part, state, attempts, created_at, updated_at) "
                "values (?, ?, ?, ?, 1, 1, ?, 0, ?, ?)",
                [key, destination, event_id, day.isoformat(), state, now, now],
            )

    def update_publish_log(self, key: str, values: Mapping[str, Any]) -> None:
        """Set the columns ``values`` names on the row ``key``."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self.db.atomic():
            self.db.conn.execute(
                f"update publish_log set {assignments} where key = ?", [*values.values(), key]
            )

    def claim_post(
        self, key: str, expected: Collection[str], sending: str, claimer: str, now: str
    ) -> bool:
        """Move the row ``key`` to ``sending`` (one more attempt, claimed by ``claimer``) only
        while its state is one of ``expected``: True for exactly one process."""
        states = list(expected)
        conn = self.db.conn
        conn.execute("begin immediate")  # the write lock first: no two processes read-then-write
        try:
            cursor = conn.execute(
                "update publish_log set state = ?, attempts = attempts + 1, claimed_by = ?, "
                "claimed_at = ?, updated_at = ? "
                f"where key = ? and state in ({', '.join('?' * len(states))})",
                [sending, claimer, now, now, key, *states],
            )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        return cursor.rowcount == 1

    def force_post_state(self, key: str, state: str, now: str) -> None:
        """``state`` with one more attempt, whatever the row's state was."""
        with self.db.atomic():
            self.db.conn.execute(
                "update publish_log set state = ?, attempts = attempts + 1, claimed_at = ?, "
                "updated_at = ? where key = ?",
                [state, now, now, key],
            )

    def post_went_out_at(self, key: str) -> str:
        """When the post's request first went out: its claim, else its last update (ISO)."""
        row = self.db.conn.execute(
            "select coalesce(claimed_at, updated_at) from publish_log where key = ?", [key]
        ).fetchone()
        return str(row[0])

    def thread_begun(self, destination: str, day: dt.date, event_id: str) -> bool:
        """The log has a row for the event's thread on that day."""
        return (
            self.db.conn.execute(
                "select 1 from publish_log where destination = ? and day = ? and event_id = ? "
                "limit 1",
                [destination, day.isoformat(), event_id],
            ).fetchone()
            is not None
        )

    def open_posts(
        self, destination: str, since: dt.date, before: dt.date, states: Collection[str]
    ) -> list[dict[str, Any]]:
        """The rows in one of ``states`` from ``since`` up to (not including) ``before``."""
        states = list(states)
        return list(
            self.db.query(
                "select * from publish_log where destination = ? and day >= ? and day < ? and "
                f"state in ({', '.join('?' * len(states))}) order by day, event_id, number",
                [destination, since.isoformat(), before.isoformat(), *states],
            )
        )

    def last_logged_day(self, destination: str, before: dt.date) -> dt.date | None:
        """The latest day before ``before`` that ``destination``'s log has a row for."""
        last = self.db.conn.execute(
            "select max(day) from publish_log where destination = ? and day < ?",
            [destination, before.isoformat()],
        ).fetchone()[0]
        return None if last is None else dt.date.fromisoformat(last)
