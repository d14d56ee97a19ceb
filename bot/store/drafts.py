"""The drafts table's SQL; ``bot.drafts`` owns the review workflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store_file import StoreDatabase


class DraftsTable:
    """The ``drafts`` table's statements (a part of ``Store``)."""

    db: StoreDatabase

    def draft_rows(
        self,
        draft_id: int | None = None,
        destination: str | None = None,
        day: dt.date | None = None,
        since: dt.date | None = None,
    ) -> list[dict[str, Any]]:
        """The drafts matching every filter given, by day, destination and position."""
        where: list[str] = []
        params: list[Any] = []
        for condition, value in (
            ("id = ?", draft_id),
            ("destination = ?", destination),
            ("day = ?", day.isoformat() if day else None),
            ("day >= ?", since.isoformat() if since else None),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        sql = "select * from drafts"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by day, destination, position, id"
        return list(self.db.query(sql, params))

    def add_draft(
        self,
        destination: str,
        day: dt.date,
        event_id: str,
        position: int,
        state: str,
        event_hash: str,
        thread: str,
        now: str,
    ) -> int:
        """A new draft with no overrides; its id."""
        with self.db.atomic():
            cursor = self.db.conn.execute(
                "insert into drafts (destination, day, event_id, position, state, "
                "event_hash, thread, overrides, created_at, updated_at) "
                "values (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
                [destination, day.isoformat(), event_id, position, state, event_hash, thread,
                 now, now],
            )  # fmt: skip
        return int(cursor.lastrowid or 0)

    def update_draft(self, draft_id: int, values: Mapping[str, Any]) -> None:
        """Set the columns ``values`` names on the draft ``draft_id``."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self.db.atomic():
            self.db.conn.execute(
                f"update drafts set {assignments} where id = ?", [*values.values(), draft_id]
            )

    def delete_draft(self, draft_id: int) -> None:
        with self.db.atomic():
            self.db.conn.execute("delete from drafts where id = ?", [draft_id])
