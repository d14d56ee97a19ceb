"""Poster adapters: the built-in ones and any installed through the entry-point group
``anniversary_bot.posters`` (a name pointing at a ``Poster`` subclass)."""

from __future__ import annotations

import importlib

from bot.errors import ConfigError
from bot.posters.base import Capabilities, OutgoingPost, Poster, PostError, Published

ENTRY_POINT_GROUP = "anniversary_bot.posters"

BUILTIN_POSTERS = {
    "outbox": "bot.posters.outbox:OutboxPoster",
    "console": "bot.posters.console:ConsolePoster",
    "webhook": "bot.posters.webhook:WebhookPoster",
    "mastodon": "bot.posters.mastodon:MastodonPoster",
    "discourse": "bot.posters.discourse:DiscoursePoster",
    "discord": "bot.posters.discord:DiscordPoster",
    "slack": "bot.posters.slack:SlackPoster",
    "matrix": "bot.posters.matrix:MatrixPoster",
}

__all__ = [
    "Capabilities",
    "OutgoingPost",
    "PostError",
    "Poster",
    "Published",
    "available_posters",
    "poster_class",
]


def _load(target: str) -> type[Poster]:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def entry_points(group: str):
    # importlib.metadata costs ~10 ms to import: only plugins need it, not the built-ins
    from importlib.metadata import entry_points as find

    return find(group=group)


def available_posters() -> dict[str, str]:
    """Adapter name -> where it comes from ("built-in" or the distribution that installed it)."""
    found = {name: "built-in" for name in BUILTIN_POSTERS}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name not in found:
            dist = entry_point.dist.name if entry_point.dist else "unknown package"
            found[entry_point.name] = f"plugin: {dist} ({entry_point.value})"
    return found


def poster_class(name: str, where: str = "type") -> type[Poster]:
    if name in BUILTIN_POSTERS:
        return _load(BUILTIN_POSTERS[name])
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            try:
                cls = entry_point.load()
            except Exception as error:  # a broken plugin must not take the bot down with it
                raise ConfigError(
                    f"{where}: the {name!r} adapter failed to load: {error}"
                ) from None
            if not (isinstance(cls, type) and issubclass(cls, Poster)):
                raise ConfigError(f"{where}: {entry_point.value} is not a Poster subclass")
            return cls
    known = ", ".join(sorted(available_posters()))
    raise ConfigError(f"{where}: unknown adapter {name!r}: installed adapters are {known}")
