"""The rows the store's tables are given to write, built by the modules that own them (the
publish log's state machine, the alerts): kept apart from the tables' statements so that a
command that only reads (``preview``, ``status``) does not build their classes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedRow:
    """What a "planned" row holds when it is first written."""

    key: str
    event_id: str
    day: dt.date
    number: int
    title: str | None
    body: str


@dataclass(frozen=True)
class IncidentRow:
    """What an incident row holds about the problem (the delivery columns aside)."""

    key: str
    event: str
    destination: str
    day: str
    event_id: str
    post_key: str
    reason: str
    fix: str
