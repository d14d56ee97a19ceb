"""Counts in words: "1 event", "2 events" (every message that counts something says it so)."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 event``, ``2 events``, ``1,234 events``; ``many`` for a noun whose plural is not
    ``noun + "s"``."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
