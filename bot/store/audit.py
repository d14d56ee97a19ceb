"""The audit table's SQL: every change a person made through the web page, who and when."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.store_file import StoreDatabase


class AuditTable:
    """The ``audit`` table's statements (a part of ``Store``)."""

    db: StoreDatabase

    def record_change(
        self,
        at: str,
        user: str,
        role: str,
        action: str,
        target: str,
        detail: str = "",
        day: dt.date | None = None,
        destination: str | None = None,
    ) -> None:
        """One change: who (``user`` in ``role``), when (``at``, UTC ISO), what (``action`` on
        ``target``, ``detail``), and the day and destination it concerns, if any."""
        with self.db.atomic():
            self.db.conn.execute(
                "insert into audit (at, user, role, action, target, detail, day, destination) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                [at, user, role, action, target, detail, day.isoformat() if day else None,
                 destination],
            )  # fmt: skip

    def audit_rows(self, day: dt.date | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The latest changes (of one day), newest first."""
        if day is None:
            return list(self.db.query("select * from audit order by id desc limit ?", [limit]))
        return list(
            self.db.query(
                "select * from audit where day = ? order by id desc limit ?",
                [day.isoformat(), limit],
            )
        )
