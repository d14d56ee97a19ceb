"""The event store: SQLite through sqlite-utils, created and upgraded by versioned migrations."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import operator
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot import clock
from bot.errors import BotError, InputError, RepeatedRecordError
from bot.model import EVENT_COLUMNS, Event, slug_id, title_key
from bot.store.alerts import AlertsTable
from bot.store.audit import AuditTable
from bot.store.drafts import DraftsTable
from bot.store.lookups import EventLookups
from bot.store.publish_log import PublishLogTable

if TYPE_CHECKING:
    from bot.events.loader import WikiRecord
    from bot.store_file import StoreDatabase

    # a record of the data set: (line, id, digest, row), the row None when the store holds
    # it unchanged
    _MadeRow = tuple[int, str, int, tuple[Any, ...] | None]

migrations = Migrations("anniversary-bot")
# an import into a store holding fewer events than this drops the events' indexes and builds
# them again after its rows (see Store.import_events): rebuilding them for the events held
# costs at most some tens of milliseconds
FEW_EVENTS = 10_000
# what a row is counted by for the calendar (event_day_counts, m013)
_DAY_COUNTED = operator.itemgetter(
    *(EVENT_COLUMNS.index(c) for c in ("month", "day", "origin", "tags"))
)
# FTS5's default: the search index merges its segments four at a time as rows are written
_SEARCH_AUTOMERGE = 4


def _sql_text(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@migrations()
def m001_events(db: Database) -> None:
    db.table("events").create(
        {
            "id": str, "month": int, "day": int, "year": int, "title": str, "lead": str,
            "credit": str, "tags": str, "priority": int, "sensitive": int, "source": str,
            "origin": str, "parts": str, "updated_at": str,
        },
        pk="id",
        not_null={"month", "day", "title", "lead", "parts", "origin"},
        defaults={"tags": "[]", "priority": 0, "sensitive": 0, "origin": "curated"},
    )  # fmt: skip
    db.table("events").create_index(["month", "day"])


@migrations()
def m002_mentions(db: Database) -> None:
    db.table("members").create(
        {"id": str, "name": str, "handles": str, "tags": str, "opted_out": str},
        pk="id",
        not_null={"name"},
        defaults={"handles": "{}", "tags": "[]"},
    )
    db.table("members").create_index(["name"])
    db.table("mention_lists").create(
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
    unchanged: int = 0  # given, and already stored exactly so: not written again
    merged: int = 0  # identical duplicates of streamed rows, written once


class Store(EventLookups, PublishLogTable, DraftsTable, AlertsTable, AuditTable):
    """All access to the SQLite file goes through here: every SQL statement of the package is
    a method of this class (the publish log's, the drafts' and the narrow lookups' live in
    their own modules of this package)."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        initialise: Callable[[Store], object] | None = None,
    ) -> None:
        """Open the store at ``path`` (see ``bot.store_file``): an existing store, upgraded by
        the pending migrations; else a new one, on which ``initialise`` runs (the sample data,
        say) before any other process can see it. ``created`` says which; ``read_only`` whether
        the file could only be opened for reading."""
        from bot import store_file

        self.path = str(path)
        self.created = False
        self.read_only = False
        self.busy_timeout = store_file.BUSY_TIMEOUT_SECONDS
        # execute_plugins=False: sqlite-utils plugins installed for other tools have no
        # business in this store's connection (and loading them costs ~10 ms a command)
        if self.path == ":memory:":
            self.db = store_file.StoreDatabase(memory=True, execute_plugins=False)
            migrations.apply(self.db)
            self.created = True
            if initialise is not None:
                initialise(self)
            return
        try:
            if not os.path.lexists(self.path):
                self.created = store_file.create(
                    self.path, migrations.apply, self._on(initialise) if initialise else None
                )
            opened = store_file.connect(self.path, self.busy_timeout)
            self.db = store_file.StoreDatabase(opened.conn, execute_plugins=False)
            self.read_only = opened.read_only
            try:
                store_file.check_ours(
                    self.path, self.conn, migrations.name, migrations.migrations_table
                )
                if not self.read_only:
                    # one a first import left when it was killed has no write-ahead log (see
                    # _written_once): it gets it back before it is read or written
                    store_file.use_wal(self.conn)
                self._upgrade()
            except BaseException:
                self.db.close()
                raise
        except sqlite3.Error as error:
            raise store_file.failure(self.path, error, self.busy_timeout) or BotError(
                f"{self.path}: cannot open the store ({error})"
            ) from None

    def _on(self, initialise: Callable[[Store], object]) -> Callable[[StoreDatabase], None]:
        """``initialise`` for the new store's temporary file (see ``store_file.create``)."""

        def run(db: StoreDatabase) -> None:
            self.db = db
            try:
                initialise(self)
            finally:
                del self.db

        return run

    def _upgrade(self) -> None:
        """Apply pending migrations (a store an older version wrote), once, however many
        processes open it at the same time: the check is repeated under the write lock."""
        if not migrations.pending(self.db):
            return
        if self.read_only:
            raise BotError(
                f"{self.path}: the store was written by an older version and must be upgraded, "
                "which needs write access: open it once with write permission"
            )
        with self.db.atomic():  # BEGIN IMMEDIATE: one process upgrades, the others wait
            if migrations.pending(self.db):
                migrations.apply(self.db)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def atomic(self) -> contextlib.AbstractContextManager[object]:
        """One transaction for the store calls inside it (``BEGIN IMMEDIATE`` when outermost:
        see ``bot.store_file.StoreDatabase``); nested, a savepoint."""
        return self.db.atomic()

    # --- events ---------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self.conn.execute("select 1 from events limit 1").fetchone() is None

    def count_events(self) -> int:
        return self.conn.execute("select count(*) from events").fetchone()[0]

    def import_events(
        self,
        events: list[Event],
        members: Sequence[dict[str, Any]] = (),
        lists: Sequence[dict[str, Any]] = (),
        progress: Callable[[int], None] | None = None,
        rows: Sequence[tuple[Any, ...]] = (),
        derived_ids: Mapping[str, str] | None = None,
        pieces: Iterable[tuple[str, list[WikiRecord]]] = (),
        taken: Mapping[str, str | None] | None = None,
    ) -> ImportResult:
        """Insert or update ``events`` and ready-made event ``rows`` (and mention members and
        lists) in one transaction: on any error nothing is written. ``derived_ids``: the ids
        that were derived from a title, not given, each with where its title is (file:line):
        see ``_settle_derived_ids``. ``pieces``: more rows, read as they are written, with
        ``taken`` (see ``_write_pieces``)."""
        if derived_ids:
            events = self._settle_derived_ids(events, derived_ids)
        self.check_mention_references(events, members, lists)
        from bot.content.importance import FACT_COLUMNS, event_facts

        # ready-made rows carry their facts (bot.events.loader.wiki_record_row); events get
        # theirs here: the importance, subject and pages the daily pick ranks on
        all_rows = [(*e.to_row(), *event_facts(e.tags, e.parts, e.lead)) for e in events]
        all_rows += rows
        now = clock.now().isoformat(timespec="seconds")
        stored = EVENT_COLUMNS + FACT_COLUMNS
        columns = ", ".join(stored)
        updates = ", ".join(f"{c} = excluded.{c}" for c in stored[1:])
        changed = " or ".join(f"{c} is not excluded.{c}" for c in stored[1:])
        # a row written with its source digest (a record of the data set) or without (any
        # other): the digest of a row whose content this import changes is the new one's
        sql = (
            f"insert into events ({columns}, source_digest, updated_at) values "
            f"({', '.join('?' * len(stored))}, ?, ?) on conflict(id) do update set "
            f"{updates}, source_digest = excluded.source_digest, "
            f"updated_at = excluded.updated_at where {changed}"
        )
        chunk = 5000
        # a first import: into a store of few events (a new one holds the bundled sample),
        # asked once, before the transaction, for both of its ways of writing (below)
        first = self._holds_few_events()
        with self._written_once(first), self.db.atomic(), self._import_cache():
            # counted, not looked up: a set of every stored id would grow with the store; the
            # upsert writes only a new or changed row, and an import never removes one
            before, written = self.count_events(), 0
            # the search index's segments merged when the import is over (FTS5's crisis merges
            # still keep their number down meanwhile), not a little after each piece: a fifth
            # of the index's cost. Set back below, in this transaction
            self._search_merges(0)
            last_rowid = self.conn.execute("select max(rowid) from events").fetchone()[0] or 0
            # a first import: the indexes built once after the rows (a sort), not row by row,
            # which also has SQLite keep each row's pages for its undo (a statement journal);
            # in this transaction, so an error leaves them as they were
            indexes = self._drop_event_indexes() if first else []
            # no record of the data set stored yet: none to look up as unchanged
            records_stored = self._holds_records()
            for start in range(0, len(all_rows), chunk):
                part = all_rows[start : start + chunk]
                written += self.conn.executemany(sql, [(*row, None, now) for row in part]).rowcount
                if progress is not None:
                    progress(len(part))
            indexed = self._index_new_rows(last_rowid)
            given, streamed, merged = self._write_pieces(
                sql, now, pieces, taken or {}, progress, records_stored, indexed
            )
            given, written = given + len(all_rows), written + streamed
            for index in indexes:
                self.conn.execute(index)
            self._search_merges(_SEARCH_AUTOMERGE)
            from bot.events.mentions import merged_records

            merged_members, merged_lists = merged_records(self, list(members), list(lists))
            added = self.count_events() - before
            self.save_members(merged_members)
            self.save_lists(merged_lists)
        return ImportResult(
            added, written - added, len(members), len(lists), given - written, merged
        )

    def _index_new_rows(self, after: int, counted: Counter[tuple] | None = None) -> int:
        """The events inserted after rowid ``after`` into the search index and counted for the
        calendar, each in one statement (a trigger per row took three times as long; changed
        and deleted rows: the triggers of m010 and m013); the last rowid, for the next call.
        Called after each piece of an import: the work is done while the worker processes
        check the next pieces, not after them. ``counted``: those events counted already by
        (month, day, origin, tags), from the rows written (``_write_new_piece``)."""
        last = self.conn.execute("select max(rowid) from events").fetchone()[0] or 0
        if last > after:
            self.conn.execute(
                "insert into events_search(rowid, title, lead) "
                "select rowid, title, lead from events where rowid > ?",
                [after],
            )
        if counted:
            self.conn.executemany(
                "insert into event_day_counts (month, day, origin, tags, events) "
                "values (?, ?, ?, ?, ?) on conflict (month, day, origin, tags) "
                "do update set events = events + excluded.events",
                [(*day, events) for day, events in counted.items()],
            )
        elif last > after:
            self.conn.execute(
                "insert into event_day_counts (month, day, origin, tags, events) "
                "select month, day, origin, coalesce(tags, '[]'), count(*) from events "
                "where rowid > ? group by month, day, origin, coalesce(tags, '[]') "
                "on conflict (month, day, origin, tags) "
                "do update set events = events + excluded.events",
                [after],
            )
        return last

    def _write_pieces(
        self,
        sql: str,
        now: str,
        pieces: Iterable[tuple[str, list[WikiRecord]]],
        taken: Mapping[str, str | None],
        progress: Callable[[int], None] | None,
        records_stored: bool,
        indexed: int,
    ) -> tuple[int, int, int]:
        """Write the rows of records read a piece of a file at a time
        (``bot.events.loader.wiki_record_pieces``): (rows given, rows written, identical
        duplicates merged). A record stored with the same source digest is unchanged: its row
        is not made again. An id given twice is merged when both rows are the same, else an
        error naming both lines; an id in ``taken`` (the import's other rows) is skipped for a
        saved feed answer's richer row (None) or is an error naming where it is. Not in memory,
        so that the import's memory stays that of a few pieces however long the file, the ids
        seen so far are found in a temporary table when the store held records of the data set
        before this import (``records_stored``: a record left unchanged is not written), else
        through the events' primary key (every row is written: ``_settle_repeats``).
        ``indexed``: the last rowid ``_index_new_rows`` was given."""
        conn = self.conn
        if records_stored:
            # keyed by the id's hash (an integer key is the cheapest to insert at random); the
            # id beside it tells a collision of hashes from a repeat. A cache of 32 MB at most:
            # the default 2 MB made every insert of the data set x10 a read of the temporary file
            conn.execute("pragma temp.cache_size = -32768")
            conn.execute(
                "create temp table if not exists import_seen (key integer primary key, "
                "id text, file integer, line integer, digest integer, row_hash integer)"
            )
            conn.execute("delete from temp.import_seen")
        # rows of records new to the store, the time written in the statement: a record's
        # values come whole from the worker process, not made again here (one tuple less per
        # row in the process every other waits for); one already there stays for
        # _settle_repeats
        new_sql = sql[: sql.rindex(", ?)")] + f", {_sql_text(now)}) on conflict(id) do nothing"
        start_rowid = indexed
        given = written = merged = 0
        files: list[str] = []  # the table names a file by its place here: a smaller row
        for file, piece in pieces:
            if not files or files[-1] != file:
                files.append(file)
            records = [record for record in piece if record[1] not in taken] if taken else piece
            if len(records) != len(piece):
                merged += self._taken_records(file, piece, taken)
            counted = None
            if records_stored:
                piece_given, piece_written, repeats = self._write_piece_over_records(
                    files, records, sql, now
                )
            else:
                piece_given, piece_written, repeats, counted = self._write_new_piece(
                    file, records, sql, new_sql, now, start_rowid, indexed
                )
            given, written = given + piece_given, written + piece_written
            merged += repeats
            indexed = self._index_new_rows(indexed, counted)
            if progress is not None:
                progress(piece_given)
        return given, written, merged

    def _write_piece_over_records(
        self, files: list[str], records: list[WikiRecord], sql: str, now: str
    ) -> tuple[int, int, int]:
        """Write a piece of records into a store that held records of the data set before the
        import (``_write_pieces``): a record stored with the same digest is unchanged (its row
        not made, nothing written); an id met before is found in the temporary table of the
        ids seen: (records given, rows written, repeats merged)."""
        from bot.events.loader import wiki_entry_row

        conn = self.conn
        stored = self._source_digests([r[1] for r in records])
        made: list[_MadeRow] = [
            (line, event_id, digest, None if stored.get(event_id) == digest
             else wiki_entry_row(record or {}, event_id) if values is None else values[:-1])
            for line, event_id, digest, record, values in records
        ]  # fmt: skip
        seen = conn.executemany(
            "insert or ignore into temp.import_seen values (?, ?, ?, ?, ?, ?)",
            [(hash(event_id), event_id, len(files) - 1, line, digest, row and hash(row))
             for line, event_id, digest, row in made],
        ).rowcount  # fmt: skip
        repeats = 0
        if seen != len(made):  # an id met before: rare (3 in the shared data set)
            fresh = self._drop_repeats(files, made)
            repeats, made = len(made) - len(fresh), fresh
        written = conn.executemany(
            sql, [(*row, digest, now) for _, _, digest, row in made if row is not None]
        ).rowcount
        # a stored record of another digest (made by older code, or stored before digests
        # were) whose row came out the same: its digest, so the next import skips it
        conn.executemany(
            "update events set source_digest = ? where id = ? and origin = 'wikipedia' "
            "and source_digest is not ?",
            [(digest, event_id, digest) for _, event_id, digest, row in made
             if row is not None and event_id in stored],
        )  # fmt: skip
        return len(made), written, repeats

    @staticmethod
    def _taken_records(file: str, piece: list[WikiRecord], taken: Mapping[str, str | None]) -> int:
        """How many records of ``piece`` a saved feed answer of the import holds too (its
        richer row stays); an id an event file of the import has is an error naming both."""
        merged = 0
        for line, event_id, *_ in piece:
            if event_id in taken:
                where = taken[event_id]
                if where is not None:
                    raise RepeatedRecordError(file, line, event_id, where)
                merged += 1
        return merged

    def _write_new_piece(
        self,
        file: str,
        records: list[WikiRecord],
        sql: str,
        new_sql: str,
        now: str,
        start_rowid: int,
        indexed: int,
    ) -> tuple[int, int, int, Counter[tuple] | None]:
        """Write a piece of records into a store that held no record of the data set before
        the import (``_write_pieces``): every row is written by ``new_sql`` (``on conflict do
        nothing``), and an id met before is found by the events' primary key (a table of the
        ids seen cost more than the rows at ten times the data set: inserts at random places):
        (records given, rows written, repeats merged, the rows counted for the calendar when
        all were written: counted here from the rows in hand, a quarter of the time of reading
        them back)."""
        from bot.events.loader import wiki_entry_row

        # the statement's values as the records bring them (the hot path); the records with
        # their rows only for the rare piece that did not write them all
        values = [
            (*wiki_entry_row(record or {}, event_id), digest) if ready is None else ready
            for _, event_id, digest, record, ready in records
        ]
        written = self.conn.executemany(new_sql, values).rowcount
        if written == len(records):
            # a record's row has tags (a list of its kind): no null for coalesce(tags, '[]')
            return len(records), written, 0, Counter(map(_DAY_COUNTED, values))
        # an id met before: rare (3 in the data set)
        made: list[_MadeRow] = [
            (line, event_id, digest, value[:-1])
            for (line, event_id, digest, _, _), value in zip(records, values, strict=True)
        ]
        made, repeats, updated = self._settle_repeats(file, made, sql, now, start_rowid, indexed)
        return len(made), written + updated, repeats, None

    def _settle_repeats(
        self, file: str, made: list[_MadeRow], sql: str, now: str, start_rowid: int, indexed: int
    ) -> tuple[list[_MadeRow], int, int]:
        """A piece of records written by ``insert ... on conflict do nothing`` into a store
        that held no record before the import (``_write_pieces``) that did not write them all:
        (the piece without its repeats, repeats merged, rows updated). A record whose id this
        import wrote before (rowid above ``start_rowid``) with the same row is merged; with
        another row it is an error naming both lines (``bot.app`` finds the first when it was
        in an earlier piece, rowid up to ``indexed``). An event stored before the import
        under the same id is updated by ``sql`` (the upsert), as any import updates it."""
        rowids: dict[str, int] = dict(
            self._select_in("select id, rowid from events where id in ({})", [r[1] for r in made])
        )
        kept: list[_MadeRow] = []
        first_here: dict[str, _MadeRow] = {}  # id: its first record in this piece
        repeats = updated = 0
        for entry in made:
            line, event_id, digest, row = entry
            rowid = rowids[event_id]
            first = first_here.get(event_id)
            if first is not None or start_rowid < rowid <= indexed:
                if first is None:  # first in an earlier piece: the row stored for it
                    same = row == self._stored_wiki_row(event_id)
                else:  # the same line again, or one that makes the same row
                    same = first[2] == digest or first[3] == row
                if same:
                    repeats += 1
                    continue
                raise RepeatedRecordError(file, line, event_id, first and f"{file}:{first[0]}")
            first_here[event_id] = entry
            if rowid <= start_rowid:  # an event stored before the import: updated
                updated += self.conn.execute(sql, (*(row or ()), digest, now)).rowcount
            kept.append(entry)
        return kept, repeats, updated

    def _holds_few_events(self) -> bool:
        """Whether the store holds fewer than ``FEW_EVENTS`` events (a new store holds the
        bundled sample), counted no further than that."""
        (held,) = self.conn.execute(
            "select count(*) from (select 1 from events limit ?)", [FEW_EVENTS]
        ).fetchone()
        return held < FEW_EVENTS

    @contextlib.contextmanager
    def _written_once(self, first: bool) -> Iterator[None]:
        """A first import (into a store of few events: a new one) writes its pages once, into
        the file, instead of into the write-ahead log and then again into the file (ten times
        the data set: a gigabyte twice, 3 s of some 45), when no other connection has the
        store open: the store is taken out of WAL mode for the import (SQLite refuses, at
        once, while another connection is open; the store then stays in WAL mode). A process
        that opens the store meanwhile waits for the import (up to the busy timeout) instead
        of reading the store as it was. The log is back when the import ends, or, after a
        crash, when the store is next opened (``Store.__init__``)."""
        from bot import store_file

        alone = first and self.path != ":memory:"
        if alone:
            try:
                self.conn.execute("pragma journal_mode = delete")
            except sqlite3.OperationalError:  # another connection has the store open
                alone = False
        try:
            yield
        finally:
            if alone:
                store_file.use_wal(self.conn)

    def _search_merges(self, automerge: int) -> None:
        """How many segments of a level of the search index FTS5 merges as rows are written
        (its ``automerge`` option; 0: none, until a level has too many)."""
        self.conn.execute(
            "insert into events_search(events_search, rank) values ('automerge', ?)", [automerge]
        )

    def _drop_event_indexes(self) -> list[str]:
        """Drop the indexes of the events table but its primary key's (every import looks
        rows up by id) and its partial ones (of the few events they hold, kept as the rows
        come at the price of the same test per row; built again, each would read the whole
        table once more); their ``create index`` statements, to build them again."""
        found = self.conn.execute(
            "select m.name, m.sql from sqlite_master m join pragma_index_list('events') l "
            "on l.name = m.name where m.type = 'index' and m.tbl_name = 'events' "
            "and m.sql is not null and not l.partial order by m.rowid"
        ).fetchall()
        for name, _ in found:
            self.conn.execute(f'drop index "{name}"')
        return [sql for _, sql in found]

    def _source_digests(self, ids: list[str]) -> dict[str, int | None]:
        """The source digest of each of ``ids`` stored as a record of the data set (origin
        "wikipedia"; None: stored without one); an id not stored, or curated, is left out."""
        return dict(
            self._select_in(
                "select id, source_digest from events where origin = 'wikipedia' and id in ({})",
                ids,
            )
        )

    def _select_in(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, whose ``{}`` is the placeholders of an ``in`` list, for every
        one of ``values``: asked 5,000 at a time (SQLite's limit of parameters: 32,766)."""
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(values), 5000):
            some = values[start : start + 5000]
            found += self.conn.execute(sql.format(", ".join("?" * len(some))), some).fetchall()
        return found

    def _holds_records(self) -> bool:
        """Whether the store holds a record of the data set (origin "wikipedia")."""
        found = self.conn.execute("select 1 from events where origin = 'wikipedia' limit 1")
        return found.fetchone() is not None

    def holds_source_digests(self) -> bool:
        """Whether a stored event has a source digest (a record of the data set): an import
        into a store without one finds no record unchanged, and makes every row."""
        found = self.conn.execute("select 1 from events where source_digest is not null limit 1")
        return found.fetchone() is not None

    def _drop_repeats(self, files: list[str], made: list[_MadeRow]) -> list[_MadeRow]:
        """``made`` without the records whose id came earlier with the same row (the same
        line, or lines that make equal rows: equal hashes in this process); an id that came
        with another row is an error naming both lines. Another id of the same hash is not a
        repeat: kept. A record left unchanged (no row made) has its row in the store: nothing
        this import wrote changed it. ``files``: the files read so far, the last the one
        ``made`` is of."""
        found = self._select_in(
            "select key, id, file, line, digest, row_hash from temp.import_seen where key in ({})",
            [hash(event_id) for _, event_id, _, _ in made],
        )
        first = {key: tuple(rest) for key, *rest in found}
        kept, file = [], len(files) - 1
        for entry in made:
            line, event_id, digest, row = entry
            first_id, first_file, first_line, first_digest, first_hash = first[hash(event_id)]
            if first_id != event_id or (first_file, first_line) == (file, line):
                kept.append(entry)
                continue
            if first_digest == digest:
                continue  # the same line again
            if first_hash is None:
                first_hash = hash(self._stored_wiki_row(event_id))
            if hash(row or self._stored_wiki_row(event_id)) != first_hash:
                raise RepeatedRecordError(
                    files[file], line, event_id, f"{files[first_file]}:{first_line}"
                )
        return kept

    def _stored_wiki_row(self, event_id: str) -> tuple[Any, ...]:
        """The stored row of a record of the data set, as ``wiki_record_row`` makes it."""
        from bot.content.importance import FACT_COLUMNS

        return tuple(
            self.conn.execute(
                f"select {', '.join(EVENT_COLUMNS + FACT_COLUMNS)} from events where id = ?",
                [event_id],
            ).fetchone()
        )

    @contextlib.contextmanager
    def _import_cache(self) -> Iterator[None]:
        """A page cache of 128 MB for the length of an import (the default is 2 MB): the rows
        go into the table and its indexes, the id's at random places, and a page kept is a
        page not read back (the shared data set: a tenth less CPU; ten times the data set:
        an import 12% faster than with 64 MB, its peak memory some 280 MB)."""
        (before,) = self.conn.execute("pragma main.cache_size").fetchone()
        self.conn.execute("pragma main.cache_size = -131072")
        try:
            yield
        finally:
            self.conn.execute(f"pragma main.cache_size = {int(before)}")

    def _settle_derived_ids(
        self, events: list[Event], derived_ids: Mapping[str, str]
    ) -> list[Event]:
        """An id derived from a title updates the stored event of that id only when it is the
        same event (the same title, as ``title_key`` compares titles); a stored event of another
        title is an error, never overwritten. A title stored under the id it got before titles
        without Latin letters had ids of their own (``slug_id``) keeps that id, so importing
        the same file again updates that event instead of adding a second copy."""
        given_ids = {event.id for event in events}
        settled: list[Event] = []
        for event in events:
            where = derived_ids.get(event.id)
            if where is None:
                settled.append(event)
                continue
            stored = self._stored_title(event.id)
            if stored is not None and title_key(stored) != title_key(event.title):
                raise InputError(
                    f"{where}: title: derives the id {event.id!r}, which is the stored event "
                    f"{stored!r}, a different event: give this one an id of its own (id: ...), "
                    f"or id: {event.id} if it is that event with a new title"
                )
            old_id = slug_id(event.date, event.title)
            if stored is None and old_id != event.id and old_id not in given_ids:
                old_title = self._stored_title(old_id)
                if old_title is not None and title_key(old_title) == title_key(event.title):
                    event = dataclasses.replace(event, id=old_id)
            settled.append(event)
        return settled

    def _stored_title(self, event_id: str) -> str | None:
        row = self.conn.execute("select title from events where id = ?", [event_id]).fetchone()
        return row[0] if row else None

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
        where: list[str] = []
        params: list[object] = []
        if month is not None:
            where.append("month = ? and day = ?")
            params += [month, day]
        if year is not None:
            where.append("year = ?")
            params.append(year)
        words = re.findall(r"\w+", search or "")
        if words:  # each word begins a word of the title or lead, or the text begins the id
            query = " AND ".join(f'"{word}"*' for word in words)
            where.append(
                "(rowid in (select rowid from events_search where events_search match ?) "
                "or (id >= ? and id < ?))"
            )
            prefix = (search or "").strip().lower()
            params += [query, prefix, prefix + "\U0010ffff"]
        elif search:
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

    def record_sources(self, sources: dict[str, str]) -> None:
        """Remember the file each event (by id) was imported from."""
        with self.db.atomic():
            self.conn.executemany(
                "update events set imported_from = ? where id = ?",
                [(file, event_id) for event_id, file in sources.items()],
            )

    def event_source(self, event_id: str) -> str | None:
        row = self.conn.execute(
            "select imported_from from events where id = ?", [event_id]
        ).fetchone()
        return row[0] if row else None

    def days_with_events(self) -> list[tuple[int, int]]:
        # from the calendar's counts (m013): a few thousand rows, not an index of every event
        return [
            tuple(r) for r in self.conn.execute("select distinct month, day from event_day_counts")
        ]

    # --- mention members and lists ---------------------------------------------------------

    def delete_member(self, member_id: str) -> None:
        with self.db.atomic():
            self.conn.execute("delete from members where id = ?", [member_id])

    def delete_list(self, name: str) -> None:
        with self.db.atomic():
            self.conn.execute("delete from mention_lists where name = ?", [name])

    def save_members(self, members: list[dict[str, Any]]) -> None:
        # one statement for all rows: a row-by-row upsert took seconds for 10,000 members
        rows = [
            (
                member["id"],
                member["name"],
                json.dumps(member.get("handles") or {}),
                json.dumps(member.get("tags") or []),
                member.get("opted_out"),
            )
            for member in members
        ]
        with self.db.atomic():
            self.conn.executemany(
                "insert into members (id, name, handles, tags, opted_out) values (?, ?, ?, ?, ?) "
                "on conflict(id) do update set name = excluded.name, handles = excluded.handles, "
                "tags = excluded.tags, opted_out = excluded.opted_out",
                rows,
            )

    def save_lists(self, lists: list[dict[str, Any]]) -> None:
        for mention_list in lists:
            self.db.table("mention_lists").upsert(
                {
                    "name": mention_list["name"],
                    "description": mention_list.get("description"),
                    "members": json.dumps(mention_list.get("members") or []),
                    "include_tags": json.dumps(mention_list.get("include_tags") or []),
                },
                pk="name",
            )

    def members(self) -> list[dict[str, Any]]:
        # rows as tuples: sqlite-utils' dict per row cost a third of reading 10,000 members
        rows = self.conn.execute(
            "select id, name, handles, tags, opted_out from members order by rowid"
        )
        return [
            {
                "id": member_id,
                "name": name,
                "handles": json.loads(handles),
                "tags": json.loads(tags),
                "opted_out": opted_out,
            }
            for member_id, name, handles, tags, opted_out in rows
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
        members: Sequence[dict[str, Any]] = (),
        lists: Sequence[dict[str, Any]] = (),
        locate: Callable[[str, tuple[Any, ...]], str] | None = None,
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
        from bot.events.mentions import check_imported_names

        check_imported_names(self, events, list(members), locate)


@migrations()
def m003_publish_log(db: Database) -> None:
    # one row per post a destination should receive; written before the request goes out
    db.table("publish_log").create(
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
    db.table("publish_log").create_index(["destination", "day"])
    db.table("publish_log").create_index(["state"])


@migrations()
def m004_drafts(db: Database) -> None:
    # drafts (bot/drafts.py): one row per (destination, day, event): the fitted thread as it
    # was rendered, a person's edits of its posts, and its review state
    db.table("drafts").create(
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
    db.table("drafts").create_index(["destination", "day", "event_id"], unique=True)
    db.table("drafts").create_index(["day"])


@migrations()
def m005_content_keep_curated(db: Database) -> None:
    # content (bot/content/): an event a curator promoted (or wrote) stays curated when the
    # on-this-day feed or data set is imported again: that update of the row is skipped
    db.execute(
        "create trigger events_keep_curated before update on events "
        "when old.origin = 'curated' and new.origin != 'curated' "
        "begin select raise(ignore); end"
    )


@migrations()
def m006_claims_and_sources(db: Database) -> None:
    # exactly once across processes (bot/publishing/log.py): who claimed a post for sending and when
    # (a post's resend window counts from its first request, not from the last write)
    db.table("publish_log").add_column("claimed_by", str)
    db.table("publish_log").add_column("claimed_at", str)
    # the file each curated event was last imported from, so an event that cannot be rendered
    # is reported with the file a person has to fix
    db.table("events").add_column("imported_from", str)


@migrations()
def m007_alerts(db: Database) -> None:
    # alerts (bot/operations/alerts.py): one row per incident, so that a sweep every five
    # minutes tells a person once, and whom it still has to tell (positions in alerts.urls)
    db.table("alerts").create(
        {
            "key": str, "event": str, "destination": str, "day": str, "event_id": str,
            "post_key": str, "reason": str, "fix": str, "open": int, "opened_at": str,
            "closed_at": str, "alert_to": str, "recovery_to": str, "recovery_note": str,
            "tries": int, "next_try_at": str, "last_error": str, "updated_at": str,
        },
        pk="key",
        not_null={"event", "destination", "day", "open", "alert_to", "recovery_to"},
        defaults={"open": 1, "alert_to": "[]", "recovery_to": "[]", "tries": 0},
    )  # fmt: skip
    db.table("alerts").create_index(["destination", "open"])
    # the heartbeat (bot/operations/heartbeat.py): what the last ping of a destination's day said
    db.table("heartbeats").create(
        {"destination": str, "day": str, "state": str, "sent_at": str},
        pk=("destination", "day"),
        not_null={"state"},
    )


@migrations()
def m008_topic_title(db: Database) -> None:
    # an event's own topic title (``topic_title:``), instead of the generated one
    db.table("events").add_column("topic_title", str)


@migrations()
def m009_event_importance(db: Database) -> None:
    # the daily pick (bot/content/pick.py) ranks a day's events on light columns: how much an
    # event matters, the person it is about, the pages it links (bot/content/importance.py);
    # imports compute them, and this fills them for the events already stored
    from bot.content.importance import FACT_COLUMNS, event_facts

    events = db.table("events")
    events.add_column("importance", int, not_null_default=0)
    events.add_column("subject", str)
    events.add_column("pages", str)
    rows = db.execute("select id, tags, parts, lead from events").fetchall()
    db.conn.executemany(
        f"update events set {', '.join(f'{c} = ?' for c in FACT_COLUMNS)} where id = ?",
        [(*event_facts(json.loads(tags), json.loads(parts), lead), event_id)
         for event_id, tags, parts, lead in rows],
    )  # fmt: skip


@migrations()
def m010_indexes_for_the_queries(db: Database) -> None:
    # status and the pick read a destination's rows of some states (failed, sent, ...), and
    # `history --date` a day of every destination: each by an index, not a scan of the log
    db.table("publish_log").create_index(["destination", "state", "day"])
    db.table("publish_log").create_index(["day"])
    # the calendar counts events per day and origin from the index alone
    db.table("events").create_index(["month", "day", "origin"])
    # `events list --search`: a full-text index of title and lead, words found by their
    # beginning (trigrams, which find any piece of a word, cost the import four times its time;
    # ids, a distinct word each for the data set's checksums, are found by the primary key);
    # which rows hold a word and no more (detail=none): the smallest index, all a search needs
    db.execute(
        "create virtual table events_search using fts5(title, lead, content='events', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', detail=none)"
    )
    db.execute("insert into events_search(events_search) values ('rebuild')")
    # a new event is indexed by Store.import_events (the one statement that inserts events),
    # in bulk; a changed or deleted one by these triggers
    db.execute(
        "create trigger events_search_delete after delete on events begin "
        "insert into events_search(events_search, rowid, title, lead) "
        "values ('delete', old.rowid, old.title, old.lead); end"
    )
    db.execute(
        "create trigger events_search_update after update of title, lead on events begin "
        "insert into events_search(events_search, rowid, title, lead) "
        "values ('delete', old.rowid, old.title, old.lead); "
        "insert into events_search(rowid, title, lead) "
        "values (new.rowid, new.title, new.lead); end"
    )


@migrations()
def m011_audit(db: Database) -> None:
    # the web page's changes (bot/web/): who did what, when, to which day and destination
    db.table("audit").create(
        {
            "id": int, "at": str, "user": str, "role": str, "action": str, "target": str,
            "detail": str, "day": str, "destination": str,
        },
        pk="id",
        not_null={"at", "user", "role", "action", "target"},
    )  # fmt: skip
    db.table("audit").create_index(["day"])


@migrations()
def m012_import_costs(db: Database) -> None:
    # the index of (month, day, origin) of m010 answers every query of a day: the index of
    # (month, day) only cost each import a second index to write
    db.execute("drop index if exists idx_events_month_day")
    # a digest of the data set's record each row was made from (Store.import_events): an
    # unchanged record is known without making its row again; empty for the other events
    db.table("events").add_column("source_digest", int)


@migrations()
def m013_day_counts_and_member_indexes(db: Database) -> None:
    # the calendar shows how many events each day has per origin, of the tags a destination may
    # post: counted here, a row per day, origin and set of tags (as stored), so that it reads a
    # few thousand rows and not every event (a grouping of the (month, day, origin) index took
    # 400 ms for 1.3 million events, with tag rules 2 s). New events are counted by
    # Store.import_events (the one statement that inserts events), in bulk; a changed or
    # deleted one by these triggers
    db.execute(
        "create table event_day_counts (month integer not null, day integer not null, "
        "origin text not null, tags text not null, events integer not null, "
        "primary key (month, day, origin, tags)) without rowid"
    )
    db.execute(
        "insert into event_day_counts (month, day, origin, tags, events) "
        "select month, day, origin, coalesce(tags, '[]'), count(*) from events "
        "group by month, day, origin, coalesce(tags, '[]')"
    )
    uncount = (
        "update event_day_counts set events = events - 1 where month = old.month "
        "and day = old.day and origin = old.origin and tags = coalesce(old.tags, '[]'); "
        "delete from event_day_counts where month = old.month and day = old.day "
        "and origin = old.origin and tags = coalesce(old.tags, '[]') and events = 0; "
    )
    db.execute(f"create trigger event_day_counts_delete after delete on events begin {uncount}end")
    db.execute(
        "create trigger event_day_counts_update after update of month, day, origin, tags "
        "on events when old.month is not new.month or old.day is not new.day "
        "or old.origin is not new.origin or old.tags is not new.tags begin "
        f"{uncount}"
        "insert into event_day_counts (month, day, origin, tags, events) "
        "values (new.month, new.day, new.origin, coalesce(new.tags, '[]'), 1) "
        "on conflict (month, day, origin, tags) do update set events = events + 1; end"
    )
    # the events that thank someone or may name members, which every change of members
    # checks: a few, by id, without reading the others (3.3 s and 3.7 s for 1.3 million
    # events); each index costs the import a test of the row it writes
    db.execute("create index events_credited on events (id, credit) where credit is not null")
    db.execute("create index events_naming_members on events (id) where parts like '%mentions%'")


@migrations()
def m014_day_order_index(db: Database) -> None:
    # the simple order's first events of a day (EventLookups.first_in_order_candidates): those
    # with a priority, of given years, and the earliest years, each found by the index without
    # reading the day's other events
    db.table("events").create_index(["month", "day", "priority", "year"])
    # the daily pick's candidates of a day (EventLookups.light_events_on): the most important
    db.table("events").create_index(["month", "day", "importance"])


@migrations()
def m015_search_without_column_sizes(db: Database) -> None:
    # the search asks only which rows hold a word (detail=none): the size of each row's columns
    # that FTS5 kept besides, for ranking (bm25), was never read, and writing it was a fifth of
    # the search index's share of an import (ten times the data set: 7.4 s, now 6.0 s). Built
    # again from the events; m010's triggers name the table, and go on keeping it
    db.execute("drop table events_search")
    db.execute(
        "create virtual table events_search using fts5(title, lead, content='events', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', detail=none, "
        "columnsize=0)"
    )
    db.execute("insert into events_search(events_search) values ('rebuild')")
