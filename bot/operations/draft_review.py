"""Drafts as a reviewer reads them: each with why it is held, whether its day went out, and
what a person should know (``drafts list``, ``drafts show``, ``drafts edit``).

The hold rule itself is ``bot.drafts.Draft.hold``; this module only asks it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.drafts import TITLE, Draft, Drafts, over_limit
from bot.errors import InputError
from bot.publishing.log import PostState, PublishLog
from bot.store import Store

EDIT_SUFFIXES = {"markdown": ".md", "html": ".html"}  # by the draft's format; else .txt


def draft_warnings(draft: Draft, config: Any) -> list[str]:
    """The warnings made with the draft, and its posts over the destination's length limit."""
    found = list(draft.data["warnings"])
    if draft.destination in config.destinations:
        found += over_limit(draft.thread(), config.destinations[draft.destination])
    return found


@dataclass
class DraftListing:
    """One line of ``drafts list``."""

    draft: Draft
    held: str | None  # why it is not published as it stands (None: it goes out)
    warnings: list[str]
    published: tuple[int, int] | None  # (sent, planned) posts, once its day went out or began

    def to_json(self) -> dict[str, Any]:
        d = self.draft
        return {
            "id": d.id, "day": d.day.isoformat(), "destination": d.destination,
            "event_id": d.event_id, "title": d.title, "state": d.state, "edited": d.edited_posts,
            "title_edited": TITLE in d.overrides, "reason": d.reason, "held": self.held,
            "warnings": self.warnings,
        }  # fmt: skip

    def cells(self) -> tuple[str, str, str, str, str, str]:
        """Id, day, destination, event, state, notes (``drafts list``'s columns)."""
        d = self.draft
        notes = list(self.warnings)
        if self.published is not None:  # its day went out (or began to): the draft is history
            sent, planned = self.published
            notes.insert(0, f"published: {sent}/{planned} posts sent")
        elif self.held:
            notes.insert(0, "held: not published until a person acts")
        shown = notes[0] if notes else "-"
        shown += f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
        state = d.label + (f": {d.reason}" if d.reason else "")
        return str(d.id), str(d.day), d.destination, d.event_id, state, shown


def list_drafts(
    store: Store,
    config: Any,
    destination: str | None = None,
    since: dt.date | None = None,
    states: Iterable[str] = (),
) -> list[DraftListing]:
    """The drafts (of one destination, from ``since`` on, in ``states``), each with its hold,
    its warnings and what of its day was published."""
    publish_log = PublishLog(store)
    drafts = Drafts(store).list(destination, since, tuple(states) or None)
    return [_listing(draft, config, publish_log) for draft in drafts]


def _listing(draft: Draft, config: Any, publish_log: PublishLog) -> DraftListing:
    dest = config.destinations.get(draft.destination)
    hold = draft.hold(dest.require_approval) if dest is not None else None
    rows = publish_log.rows(draft.destination, draft.day, None, draft.event_id)
    published = (sum(r["state"] == PostState.SENT for r in rows), len(rows)) if rows else None
    reason = hold.reason if hold is not None else None
    return DraftListing(draft, reason, draft_warnings(draft, config), published)


def draft_json(store: Store, config: Any, draft_id: int) -> dict[str, Any]:
    """A draft's JSON shape, as ``drafts show --json`` gives it: its ``drafts list`` shape
    plus its thread as it would be sent (edits included)."""
    draft = Drafts(store).get(draft_id)
    listing = _listing(draft, config, PublishLog(store))
    return {**listing.to_json(), "thread": draft.thread().to_json()}


@dataclass(frozen=True)
class EditTarget:
    """What ``drafts edit`` opens in the editor."""

    number: int  # the post's number; 0 for the thread's title
    text: str
    suffix: str  # the file suffix that makes the editor highlight the draft's format


def edit_target(draft: Draft, number: int, title: bool) -> EditTarget:
    """Post ``number`` of the draft as it stands (edits included), or its title."""
    posts = draft.thread().posts
    if title:
        number = 0
        current = draft.overrides.get(TITLE, posts[0].title if posts else None) or ""
    elif 1 <= number <= len(posts):
        current = posts[number - 1].body
    else:
        raise InputError(f"--post: draft {draft.id} has posts 1 to {len(posts)}")
    return EditTarget(number, current, EDIT_SUFFIXES.get(draft.data["format"], ".txt"))
