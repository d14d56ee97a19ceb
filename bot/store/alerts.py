"""The alerts' SQL: one row per incident (``bot.operations.alerts`` decides what one is and when
it opens, closes and is told), and the last heartbeat sent per destination and day
(``bot.operations.heartbeat``).

An incident row says whom it still has to tell: ``alert_to`` and ``recovery_to`` hold the
positions (in ``alerts.urls``) of the URLs that have not yet received the alert, or the
"recovered" message. A sweep every five minutes finds the same incident again and again; the
row is what makes it one alert.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store.rows import IncidentRow
    from bot.store_file import StoreDatabase


class AlertsTable:
    """The ``alerts`` and ``heartbeats`` tables' statements (a part of ``Store``)."""

    db: StoreDatabase

    def open_incidents(self, destination: str) -> list[dict[str, Any]]:
        """The incidents of ``destination`` still open."""
        return list(
            self.db.query(
                "select * from alerts where destination = ? and open = 1 order by day, key",
                [destination],
            )
        )

    def incident(self, key: str) -> dict[str, Any] | None:
        found = list(self.db.query("select * from alerts where key = ?", [key]))
        return found[0] if found else None

    def open_incident(
        self, row: IncidentRow, tell: Sequence[int], now: str, *, open: bool = True
    ) -> bool:
        """Record the incident: a new one (or one closed before, opening again) is to be told
        to ``tell``; one already open gets the latest event and reason, and ``tell`` is added
        to whom it still has to tell (the caller names only URLs not told of it before). True
        when it is new."""
        with self.db.atomic():
            found = self.db.conn.execute(
                "select open, alert_to from alerts where key = ?", [row.key]
            ).fetchone()
            if found is not None and found[0] == 1:
                alert_to = sorted(set(json.loads(found[1])) | set(tell))
                self.db.conn.execute(
                    "update alerts set event = ?, post_key = ?, reason = ?, fix = ?, "
                    "alert_to = ?, updated_at = ? where key = ?",
                    [row.event, row.post_key, row.reason, row.fix, json.dumps(alert_to), now,
                     row.key],
                )  # fmt: skip
                return False
            self.db.conn.execute(
                "insert into alerts (key, event, destination, day, event_id, post_key, reason, "
                "fix, open, opened_at, closed_at, alert_to, recovery_to, tries, next_try_at, "
                "last_error, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, '[]', 0, "
                "null, null, ?) on conflict(key) do update set event = excluded.event, "
                "post_key = excluded.post_key, reason = excluded.reason, fix = excluded.fix, "
                "open = excluded.open, opened_at = excluded.opened_at, closed_at = null, "
                "alert_to = excluded.alert_to, recovery_to = '[]', tries = 0, "
                "next_try_at = null, last_error = null, updated_at = excluded.updated_at",
                [row.key, row.event, row.destination, row.day, row.event_id, row.post_key,
                 row.reason, row.fix, int(open), now, json.dumps(list(tell)), now],
            )  # fmt: skip
            return True

    def close_incident(self, key: str, tell: Sequence[int], note: str, now: str) -> None:
        """Close the incident: whoever was not told yet never will be; ``tell`` gets the
        "recovered" message with ``note``."""
        with self.db.atomic():
            self.db.conn.execute(
                "update alerts set open = 0, closed_at = ?, alert_to = '[]', recovery_to = ?, "
                "recovery_note = ?, tries = 0, next_try_at = null, updated_at = ? where key = ?",
                [now, json.dumps(list(tell)), note, now, key],
            )

    def incidents_to_tell(self, now: str) -> list[dict[str, Any]]:
        """Incidents with an alert or a "recovered" message still to deliver, due by ``now``."""
        return list(
            self.db.query(
                "select * from alerts where (alert_to != '[]' or recovery_to != '[]') and "
                "(next_try_at is null or next_try_at <= ?) order by opened_at, key",
                [now],
            )
        )

    def record_delivery(
        self,
        key: str,
        alert_to: Sequence[int],
        recovery_to: Sequence[int],
        next_try_at: str | None,
        last_error: str | None,
        now: str,
    ) -> None:
        """Who is still to be told after a delivery; when to try them again, and why."""
        with self.db.atomic():
            self.db.conn.execute(
                "update alerts set alert_to = ?, recovery_to = ?, tries = tries + ?, "
                "next_try_at = ?, last_error = ?, updated_at = ? where key = ?",
                [json.dumps(list(alert_to)), json.dumps(list(recovery_to)),
                 int(last_error is not None), next_try_at, last_error, now, key],
            )  # fmt: skip

    def last_heartbeat(self, destination: str, day: str) -> str | None:
        """The state ("ok" or "fail") the last heartbeat of the destination's day reported."""
        row = self.db.conn.execute(
            "select state from heartbeats where destination = ? and day = ?", [destination, day]
        ).fetchone()
        return None if row is None else str(row[0])

    def record_heartbeat(self, destination: str, day: str, state: str, now: str) -> None:
        with self.db.atomic():
            self.db.conn.execute(
                "insert into heartbeats (destination, day, state, sent_at) values (?, ?, ?, ?) "
                "on conflict(destination, day) do update set state = excluded.state, "
                "sent_at = excluded.sent_at",
                [destination, day, state, now],
            )
