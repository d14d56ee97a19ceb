"""The event store: SQLite through sqlite-utils, created and upgraded by versioned migrations."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot.errors import BotError, InputError
from bot.model import EVENT_COLUMNS, Event

migrations = Migrations("anniversary-bot")


@migrations()
def m001_events(db: Database) -> None:
    db["events"].create(
        {
            "id": str, "month": int, "day": int, "year": int, "title": str, "lead": str,
            "credit": str, "tags": str, "priority": int, "sensitive": int, "source": str,
            "origin": str, "parts": str, "updated_at": str,
        },
        pk="id",
        not_null={"month", "day", "title", "lead", "parts", "origin"},
        defaults={"tags": "[]", "priority": 0, "sensitive": 0, "origin": "curated"},
    )  # fmt: skip
    db["events"].create_index(["month", "day"])


@migrations()
def m002_mentions(db: Database) -> None:
    db["members"].create(
        {"id": str, "name": str, "handles": str, "tags": str, "opted_out": str},
        pk="id",
        not_null={"name"},
        defaults={"handles": "{}", "tags": "[]"},
    )
    db["members"].create_index(["name"])
    db["mention_lists"].create(
        {"name": str, "description": str, "members": str, "include_tags": str},
        pk="name",
        defaults={"members": "[]", "include_tags": "[]"},
    )


@dataclass
class ImportResult:
    added: int
    updated: int
    members: int
    lists: int


class Store:
    """All access to the SQLite file goes through here."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        try:
            # execute_plugins=False: sqlite-utils plugins installed for other tools have no
            # business in this store's connection (and loading them costs ~10 ms a command)
            if self.path == ":memory:":
                self.db = Database(memory=True, execute_plugins=False)
            else:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self.db = Database(self.path, execute_plugins=False)
            self.db.conn.execute("PRAGMA busy_timeout = 10000")
            if migrations.pending(self.db):
                if self.path != ":memory:":
                    self.db.enable_wal()
                migrations.apply(self.db)
        except sqlite3.DatabaseError as error:
            raise BotError(
                f"{self.path}: cannot open the store ({error}): is it an anniversary-bot store?"
            ) from None

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    # --- events ---------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self.conn.execute("select 1 from events limit 1").fetchone() is None

    def count_events(self) -> int:
        return self.conn.execute("select count(*) from events").fetchone()[0]

    def import_events(
        self,
        events: list[Event],
        members: list[dict[str, Any]] = (),
        lists: list[dict[str, Any]] = (),
        progress: Callable[[int], None] | None = None,
        rows: list[tuple] = (),
    ) -> ImportResult:
        """Insert or update ``events`` and ready-made event ``rows`` (and mention members and
        lists) in one transaction: on any error nothing is written."""
        self.check_mention_references(events, members, lists)
        rows = [e.to_row() for e in events] + list(rows)
        existing = {row[0] for row in self.conn.execute("select id from events")}
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        columns = ", ".join(EVENT_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS[1:])
        changed = " or ".join(f"{c} is not excluded.{c}" for c in EVENT_COLUMNS[1:])
        sql = (
            f"insert into events ({columns}, updated_at) values "
            f"({', '.join('?' * len(EVENT_COLUMNS))}, ?) on conflict(id) do update set "
            f"{updates}, updated_at = excluded.updated_at where {changed}"
        )
        chunk = 5000
        with self.db.atomic():
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                self.conn.executemany(sql, [(*row, now) for row in part])
                if progress is not None:
                    progress(len(part))
            self.save_members(members)
            self.save_lists(lists)
        added = sum(1 for row in rows if row[0] not in existing)
        return ImportResult(added, len(rows) - added, len(members), len(lists))

    def events_on(self, month: int, day: int) -> list[Event]:
        rows = self.db.query(
            "select * from events where month = ? and day = ? order by id", [month, day]
        )
        return [Event.from_row(row) for row in rows]

    def get_event(self, event_id: str) -> Event:
        rows = list(self.db.query("select * from events where id = ?", [event_id]))
        if not rows:
            raise InputError(f"no event with id {event_id!r}: see 'anniversary-bot events list'")
        return Event.from_row(rows[0])

    def find_events(
        self,
        month: int | None = None,
        day: int | None = None,
        year: int | None = None,
        search: str | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        where, params = [], []
        if month is not None:
            where.append("month = ? and day = ?")
            params += [month, day]
        if year is not None:
            where.append("year = ?")
            params.append(year)
        if search:
            where.append("(title like ? or lead like ? or id like ?)")
            params += [f"%{search}%"] * 3
        sql = "select * from events"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by month, day, year, id"
        if limit:
            sql += f" limit {int(limit)}"
        return [Event.from_row(row) for row in self.db.query(sql, params)]

    def iter_events(self) -> Iterator[Event]:
        for row in self.db.query("select * from events order by month, day, year, id"):
            yield Event.from_row(row)

    def days_with_events(self) -> list[tuple[int, int]]:
        return [tuple(r) for r in self.conn.execute("select distinct month, day from events")]

    # --- mention members and lists ---------------------------------------------------------

    def delete_member(self, member_id: str) -> None:
        with self.db.atomic():
            self.conn.execute("delete from members where id = ?", [member_id])

    def delete_list(self, name: str) -> None:
        with self.db.atomic():
            self.conn.execute("delete from mention_lists where name = ?", [name])

    def save_members(self, members: list[dict[str, Any]]) -> None:
        for member in members:
            self.db["members"].upsert(
                {
                    "id": member["id"],
                    "name": member["name"],
                    "handles": json.dumps(member.get("handles") or {}),
                    "tags": json.dumps(member.get("tags") or []),
                    "opted_out": member.get("opted_out"),
                },
                pk="id",
            )

    def save_lists(self, lists: list[dict[str, Any]]) -> None:
        for mention_list in lists:
            self.db["mention_lists"].upsert(
                {
                    "name": mention_list["name"],
                    "description": mention_list.get("description"),
                    "members": json.dumps(mention_list.get("members") or []),
                    "include_tags": json.dumps(mention_list.get("include_tags") or []),
                },
                pk="name",
            )

    def members(self) -> list[dict[str, Any]]:
        return [
            {
                "id": row["id"],
                "name": row["name"],
                "handles": json.loads(row["handles"]),
                "tags": json.loads(row["tags"]),
                "opted_out": row["opted_out"],
            }
            for row in self.db.query("select * from members order by rowid")
        ]

    def mention_lists(self) -> list[dict[str, Any]]:
        return [
            {
                "name": row["name"],
                "description": row["description"],
                "members": json.loads(row["members"]),
                "include_tags": json.loads(row["include_tags"]),
            }
            for row in self.db.query("select * from mention_lists order by rowid")
        ]

    def check_mention_references(
        self,
        events: list[Event],
        members: list[dict[str, Any]] = (),
        lists: list[dict[str, Any]] = (),
        locate: Callable[[str, tuple], str] | None = None,
    ) -> None:
        """Every list and member an event or list names must exist, here or in the store."""
        known_members = {m["id"] for m in members} | {m["name"] for m in members}
        known_member_ids = {m["id"] for m in members}
        for row in self.conn.execute("select id, name from members"):
            known_members.update(row)
            known_member_ids.add(row[0])
        known_lists = {x["name"] for x in lists}
        known_lists.update(r[0] for r in self.conn.execute("select name from mention_lists"))
        for mention_list in lists:
            for member_id in mention_list.get("members") or []:
                if member_id not in known_member_ids:
                    raise InputError(
                        f"list {mention_list['name']!r} names unknown member {member_id!r}: "
                        "add the member (members:) or remove it from the list"
                    )
        for event in events:
            if event.origin != "curated":
                continue
            for part_index, part in enumerate(event.parts):
                for block_index, block in enumerate(part["blocks"]):
                    if block["type"] != "mentions":
                        continue
                    path = ("parts", part_index, "blocks", block_index)
                    where = locate(event.id, path) if locate else event.id
                    field = f"parts[{part_index}].blocks[{block_index}]"
                    for name in block["lists"]:
                        if name not in known_lists:
                            raise InputError(
                                f"{where}: {field}.lists: unknown mention list {name!r}: define "
                                "it (lists:) or import the file that does first"
                            )
                    for name in block["members"]:
                        if name not in known_members:
                            raise InputError(
                                f"{where}: {field}.members: unknown member {name!r}: give a "
                                "member id or exact display name (members:)"
                            )


@migrations()
def m003_publish_log(db: Database) -> None:
    # one row per post a destination should receive; written before the request goes out
    db["publish_log"].create(
        {
            "key": str, "destination": str, "event_id": str, "day": str, "number": int,
            "part": int, "state": str, "title": str, "body": str, "remote_id": str, "url": str,
            "attempts": int, "last_error": str, "next_retry_at": str, "created_at": str,
            "updated_at": str, "sent_at": str,
        },
        pk="key",
        not_null={"destination", "event_id", "day", "number", "state"},
        defaults={"attempts": 0},
    )  # fmt: skip
    db["publish_log"].create_index(["destination", "day"])
    db["publish_log"].create_index(["state"])


@migrations()
def m004_drafts(db: Database) -> None:
    # drafts (bot/drafts.py): one row per (destination, day, event): the fitted thread as it
    # was rendered, a person's edits of its posts, and its review state
    db["drafts"].create(
        {
            "id": int, "destination": str, "day": str, "event_id": str, "position": int,
            "state": str, "previous_state": str, "event_hash": str, "thread": str,
            "overrides": str, "reason": str, "created_at": str, "updated_at": str,
            "approved_at": str,
        },
        pk="id",
        not_null={"destination", "day", "event_id", "state", "event_hash", "thread"},
        defaults={"overrides": "{}", "position": 0},
    )  # fmt: skip
    db["drafts"].create_index(["destination", "day", "event_id"], unique=True)
    db["drafts"].create_index(["day"])


@migrations()
def m005_content_keep_curated(db: Database) -> None:
    # content (bot/content/): an event a curator promoted (or wrote) stays curated when the
    # on-this-day feed or data set is imported again: that update of the row is skipped
    db.execute(
        "create trigger events_keep_curated before update on events "
        "when old.origin = 'curated' and new.origin != 'curated' "
        "begin select raise(ignore); end"
    )
