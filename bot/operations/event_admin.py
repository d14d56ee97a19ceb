"""One event at a time from the command line: ``events add`` (a file, or a template in the
editor), ``events edit`` (the event's YAML in the editor, checked when saved) and
``events delete`` (refused while a draft or the publish log refers to it).

The editor text is checked exactly as ``import`` checks a file, and nothing is stored until it
passes: a problem re-opens the editor with the one-line error at the top."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.app import import_paths
from bot.errors import InputError
from bot.events.loader import load_files
from bot.model import Event
from bot.operations.listings import event_document
from bot.store import Store

# The editor text starts with these two comment lines; the second holds the last problem, so
# that the line numbers of an error stay those of the text the person saved.
HEADER = "# anniversary-bot: {what}. Save and close to store it; quit without saving to cancel.\n"
NO_PROBLEM = "# (checked when you save: a problem is shown on this line)\n"
PROBLEM = "# NOT SAVED: {error}\n"

TEMPLATE = """\
date: "YYYY-MM-DD"       # or "MM-DD" when the year is unknown
title: ""                # short: the topic title
lead: ""                 # one or two sentences: what happened
tags: []                 # e.g. [space, science]
parts:
  - blocks:
      - type: text
        text: ""
"""

# where an event added or edited in the editor says it came from (a failure names it)
FROM_EDITOR = "(written with 'anniversary-bot events {command}')"
FROM_WEB = "(written on the web page, 'anniversary-bot serve')"

Editor = Callable[[str], "str | None"]  # the text shown; the text saved, None if not saved


def _store_checked(
    store: Store, text: str, label: str, keep_id: str | None, source: str, folder: Path
) -> Event:
    """Store the one event of the editor text, checked as ``import`` checks a file in
    ``folder`` (image ``file:`` paths resolve there, as they did for the event's file); an
    InputError names ``label`` instead of the temporary file."""
    handle, name = tempfile.mkstemp(prefix=".anniversary-bot-edit-", suffix=".yaml", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            batch = load_files([path])
            if len(batch.events) != 1 or batch.wiki_rows or batch.members or batch.lists:
                raise InputError(f"{path}: expected exactly one event (members: 'mentions import')")
            event = batch.events[0]
            if keep_id is not None and event.id != keep_id:
                raise InputError(
                    f"{path}: id: {event.id!r}: an edit keeps the id {keep_id!r} "
                    "('anniversary-bot events add' writes a new event)"
                )
            import_paths(store, [path], batch=batch)
        except InputError as error:
            raise InputError(str(error).replace(str(path), label)) from None
    finally:
        path.unlink(missing_ok=True)
    store.record_sources({event.id: source})
    return event


def _writable(folder: Path) -> Path:
    """``folder`` if the editor text can be checked there, else the temporary folder."""
    return folder if folder.is_dir() and os.access(folder, os.W_OK) else Path(tempfile.gettempdir())


def _edit_until_valid(
    edit: Editor, body: str, what: str, store_text: Callable[[str], Event]
) -> Event | None:
    header = HEADER.format(what=what)
    text = header + NO_PROBLEM + body
    while True:
        saved = edit(text)
        if saved is None:
            return None
        try:
            return store_text(saved)
        except InputError as error:
            lines = saved.splitlines(keepends=True)
            if all(line.startswith("#") for line in lines[:2]):  # the two header lines
                lines = lines[2:]  # the person's text is kept, the problem on line 2
            text = header + PROBLEM.format(error=error) + "".join(lines)


@dataclass(frozen=True)
class AddedEvent:
    event: Event
    new: bool  # False: an event of that id was there, and is updated

    def line(self) -> str:
        return f"{'added' if self.new else 'updated'} {self.event.id} ({self.event.title})"


def add_from_file(store: Store, path: str) -> list[AddedEvent]:
    """The events of one file, added (or updated, by id) as ``import`` does it."""
    batch = load_files([path])
    known = {event.id for event in batch.events if store.title_and_lead(event.id) is not None}
    import_paths(store, [path], batch=batch)
    return [AddedEvent(event, event.id not in known) for event in batch.events]


def add_in_editor(store: Store, edit: Editor) -> Event | None:
    """A new event written in the editor from a template; None when not saved."""
    source = FROM_EDITOR.format(command="add")
    folder = _writable(Path.cwd())  # image files: relative to where the command runs
    return _edit_until_valid(
        edit,
        TEMPLATE,
        "a new event",
        lambda text: _store_checked(store, text, "the new event", None, source, folder),
    )


def _edited_where(store: Store, event_id: str, written_with: str) -> tuple[str, Path]:
    """The source an edit of ``event_id`` keeps, and the folder its text is checked in."""
    imported_from = store.event_source(event_id)
    source = imported_from or written_with
    # its image files stay readable: checked in the folder of the file it came from
    folder = _writable(Path(imported_from).parent if imported_from else Path.cwd())
    return source, folder


def edit_in_editor(store: Store, event_id: str, edit: Editor) -> Event | None:
    """The event ``event_id`` as YAML in the editor, stored when saved and valid; None when
    not saved (nothing changed)."""
    body = event_document(store, event_id)
    source, folder = _edited_where(store, event_id, FROM_EDITOR.format(command="edit"))
    return _edit_until_valid(
        edit,
        body,
        f"event {event_id}",
        lambda text: _store_checked(store, text, f"event {event_id}", event_id, source, folder),
    )


def save_edited_event(store: Store, event_id: str, text: str) -> Event:
    """The event ``event_id`` replaced by ``text`` (its YAML, as ``events show`` prints it),
    checked as ``events edit`` checks the editor's text: stored only when valid, else an
    InputError naming the line and field (the web page's editor)."""
    store.get_event(event_id)  # an unknown id: its one-line error
    source, folder = _edited_where(store, event_id, FROM_WEB)
    return _store_checked(store, text, f"event {event_id}", event_id, source, folder)


@dataclass(frozen=True)
class DeletedEvent:
    id: str
    title: str
    drafts: list[int] = field(default_factory=list)  # deleted with it (--force)
    logged_posts: int = 0  # publish-log rows that name it, kept

    def line(self) -> str:
        line = f"deleted {self.id} ({self.title})"
        if self.drafts:
            line += f"; {_drafts(self.drafts)} too"
        if self.logged_posts:
            line += f"; the publish log keeps its {_posts(self.logged_posts)}"
        return line


def _drafts(ids: list[int]) -> str:
    return f"draft{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"


def _posts(count: int) -> str:
    return f"{count} post{'s' if count != 1 else ''}"


def delete_events(store: Store, event_ids: list[str], force: bool = False) -> list[DeletedEvent]:
    """Delete ``event_ids``, all or none. An event that a draft or the publish log refers to
    is refused unless ``force`` (its drafts go with it; the publish log keeps its rows)."""
    found = []
    for event_id in dict.fromkeys(event_ids):
        event = store.get_event(event_id)
        drafts, logged = store.event_references(event_id)
        if (drafts or logged) and not force:
            what = [_drafts(drafts)] if drafts else []
            if logged:
                what.append(f"{_posts(logged)} in the publish log")
            raise InputError(
                f"{event_id}: still named by {' and '.join(what)}: nothing deleted "
                "(--force deletes it and its drafts; the publish log keeps its rows)"
            )
        found.append(DeletedEvent(event.id, event.title, drafts, logged))
    store.delete_events([deleted.id for deleted in found])
    return found
