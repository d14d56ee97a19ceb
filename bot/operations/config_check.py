"""``config check``: each destination's credentials tested where its adapter can."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.errors import PostError
from bot.publishing.log import make_poster


@dataclass(frozen=True)
class DestinationCheck:
    destination: str
    type: str
    answer: str  # what the adapter's check said, or the error
    failed: bool

    def line(self) -> str:
        what = f"FAILED: {self.answer}" if self.failed else self.answer
        return f"{self.destination} ({self.type}): {what}"


def check_destinations(config: Any) -> Iterator[DestinationCheck]:
    """Ask each destination's adapter to check its settings and credentials, one at a time
    (yielded as each answers: a slow platform does not hide the others' answers)."""
    for destination in config.destinations.values():
        poster = make_poster(destination)
        try:
            answer = poster.check()
        except PostError as error:
            yield DestinationCheck(destination.name, destination.type, str(error), True)
        else:
            yield DestinationCheck(destination.name, destination.type, answer, False)
        finally:
            poster.close()
