"""Errors a person sees as one line: what is wrong, where, and how to fix it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class BotError(Exception):
    """An error shown to the user as a single line, with exit code ``exit_code``."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(BotError):
    """Bad input (an event file, a date, a config value): exit code 2."""

    exit_code = 2


class RepeatedRecordError(InputError):
    """A record of an import whose id an earlier record or event of the same import has, with
    another content: one line naming both places. ``first`` is None where the earlier place is
    not known (the store keeps no list of the lines it wrote): ``bot.app`` then finds it."""

    def __init__(self, file: str, line: int, event_id: str, first: str | None = None) -> None:
        where = first or "an earlier line"
        super().__init__(f"{file}:{line}: duplicate record id {event_id!r}, also at {where}")
        self.file, self.line, self.event_id, self.first = file, line, event_id, first


class ConfigError(InputError):
    """The configuration is invalid."""


class EventRenderError(InputError):
    """An event that cannot be rendered (it names a member or list that is gone, say): the
    message names the event and the file it came from, so a person knows what to fix."""

    def __init__(self, event_id: str, source: str | None, reason: str) -> None:
        where = f"event {event_id}" + (f" (from {source})" if source else "")
        super().__init__(f"{where}: {reason}")
        self.event_id = event_id
        self.source = source
        self.reason = reason


class Outcome(StrEnum):
    """What a failed request means for the post (bot/publishing/log.py acts on it)."""

    NOT_SENT = "not-sent"  # the platform said no, or nothing reached it: sending again is safe
    UNKNOWN = "unknown"  # it may have been published (no answer, a gateway's 5xx, an unreadable
    # 2xx): looked up or left for a person, never sent again blind


class PostError(BotError):
    """A post was refused or could not be sent. ``retryable``: may succeed later.
    ``outcome``: whether the post may have been published all the same."""

    def __init__(
        self,
        message: str,
        retryable: bool = True,
        status: int | None = None,
        retry_after: float | None = None,
        response: Any = None,
        outcome: Outcome = Outcome.NOT_SENT,
    ) -> None:
        from bot.secrets_filter import mask

        # a platform's answer may quote the request (its URL, headers, body): masked here,
        # the one place every adapter's message (built-in or plugin) is made
        super().__init__(mask(message))
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.outcome = outcome
        # the platform's answer (a requests.Response), where there was one: adapters read
        # their platform's own words from its body and headers
        self.response = response
