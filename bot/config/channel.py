"""A destination as a day's work sees it: its settings, its adapter, its zone.

Rendering, fitting, drafting and publishing a day all need the same few things about where the
thread goes: the config it belongs to (templates, mention lists, the default zone), the
destination's settings, and the adapter (an instance, or the class where only its capabilities
and rules are read, as in a preview). A ``Channel`` carries them together, so a function takes
``(store, channel, day)`` instead of five values that must always travel as a group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.clock import zone

if TYPE_CHECKING:
    from bot.config import Config, Destination
    from bot.posters.base import Capabilities, Poster


@dataclass(frozen=True)
class Channel:
    """A destination with its config and its adapter: what a day's functions take."""

    config: Config
    destination: Destination
    poster: Poster | type[Poster]

    @classmethod
    def of(
        cls, config: Config, destination: Destination, poster: Poster | type[Poster] | None = None
    ) -> Channel:
        """``poster``: default, the adapter's class (enough for rendering and previews)."""
        if poster is None:
            from bot.posters import poster_class

            poster = poster_class(destination.type)
        return cls(config, destination, poster)

    @property
    def name(self) -> str:
        return self.destination.name

    @property
    def zone(self) -> dt.tzinfo:
        return zone(self.destination.timezone or self.config.timezone)

    @property
    def capabilities(self) -> Capabilities:
        return self.poster.capabilities

    @property
    def language(self) -> str:
        """The language of the bot's words in this destination's posts (bot.i18n)."""
        return self.destination.language or self.config.language or "en"

    @property
    def platform(self) -> str | None:
        return self.poster.platform

    def with_poster(self, poster: Poster | type[Poster]) -> Channel:
        return Channel(self.config, self.destination, poster)
