"""Poster adapters: the built-in ones and any installed through the entry-point group
``anniversary_bot.posters`` (a name pointing at a ``Poster`` subclass)."""

from __future__ import annotations

import importlib
from functools import cache

from bot.errors import ConfigError
from bot.posters.base import (
    Capabilities,
    HandleFormat,
    OutgoingPost,
    Poster,
    PostError,
    Published,
)

ENTRY_POINT_GROUP = "anniversary_bot.posters"

BUILTIN_POSTERS = {
    "outbox": "bot.posters.outbox:OutboxPoster",
    "console": "bot.posters.console:ConsolePoster",
    "webhook": "bot.posters.webhook:WebhookPoster",
    "discourse": "bot.posters.discourse:DiscoursePoster",
    "mastodon": "bot.posters.mastodon:MastodonPoster",
    "discord": "bot.posters.discord:DiscordPoster",
    "slack": "bot.posters.slack:SlackPoster",
    "matrix": "bot.posters.matrix:MatrixPoster",
}

__all__ = [
    "Capabilities",
    "HandleFormat",
    "OutgoingPost",
    "PostError",
    "Poster",
    "Published",
    "available_posters",
    "handle_formats",
    "platform_rules",
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


def _installed_classes() -> list[type[Poster]]:
    """Every installed adapter class, built-in first; a plugin that fails to load is left out
    here (naming it as a destination's type says why)."""
    classes = [_load(target) for target in BUILTIN_POSTERS.values()]
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in BUILTIN_POSTERS:
            continue
        try:
            cls = entry_point.load()
        except Exception:  # a broken plugin must not take the bot down with it
            continue
        if isinstance(cls, type) and issubclass(cls, Poster):
            classes.append(cls)
    return classes


@cache
def handle_formats() -> dict[str, HandleFormat | None]:
    """Platform (a member handle key) -> the format of its handles, from the installed adapters:
    the platforms members can have handles on."""
    formats: dict[str, HandleFormat | None] = {}
    for cls in _installed_classes():
        if cls.platform is not None and formats.get(cls.platform) is None:
            formats[cls.platform] = cls.handle_format
    return formats


@cache
def platform_rules(platform: str | None) -> type[Poster]:
    """The adapter class whose rules (``mention``, ``escape``, ``length``) write posts for
    ``platform``; the contract's defaults (no live mention) when no installed adapter has it."""
    if platform is None:
        return Poster
    builtin = BUILTIN_POSTERS.get(platform)
    if builtin is not None:
        cls = _load(builtin)
        if cls.platform == platform:
            return cls
    for cls in _installed_classes():
        if cls.platform == platform:
            return cls
    return Poster
