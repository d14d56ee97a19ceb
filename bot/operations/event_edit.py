"""An event edited as its YAML (the web page's editor): the text ``events show`` prints, checked
by the rules of ``import`` and stored only when all of it is valid."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.app import import_paths
from bot.errors import InputError
from bot.events.loader import load_files
from bot.model import Event
from bot.store import Store

WHERE = "the event"  # how an error names the text instead of a file


def save_event_document(store: Store, event_id: str, text: str) -> Event:
    """Validate ``text`` as one event with the id ``event_id`` and store it in that event's
    place (curated from then on), all or nothing; an ``InputError`` names the line, the field
    and the fix, as ``import`` does, and nothing is stored."""
    with tempfile.TemporaryDirectory(prefix="anniversary-bot-edit-") as folder:
        path = Path(folder) / "event.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            batch = load_files([path])
            ids = [event.id for event in batch.events]
            if ids != [event_id] or batch.members or batch.lists:
                raise InputError(
                    f"{path}: one event, with id: {event_id} (to add another event or members, "
                    "import a file)"
                )
            import_paths(store, [path], batch=batch, record_sources=False)
        except InputError as error:
            raise InputError(str(error).replace(str(path), WHERE)) from None
    return store.get_event(event_id)
