"""The configuration file: found, read, validated, with secrets resolved at run time.

Where it is found: ``--config PATH``, else ``$ANNIVERSARY_BOT_CONFIG``, else ``config.yaml`` in
the user's config directory; with none of these, the embedded default (the bundled store and a
file outbox). Secrets are never written in the file: a value ``{"$env": "NAME"}`` or
``{"$file": "path"}`` is read when a destination needs it to talk to its platform (to post, to
check its credentials, to read its live limits), and is masked wherever config is shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.paths import default_outbox_path, user_config_file
from bot.secrets_filter import Secret, SecretRef

MASK = "********"


@dataclass
class Destination:
    """Where a day's threads go, when, and how: a destination of the config, its adapter's
    settings holding its secrets as ``SecretRef`` until they are read."""

    name: str
    type: str
    format: str
    time: str = "07:00"
    timezone: str | None = None
    max_threads_per_day: int = 1
    leap_day: str = "feb28"
    catch_up_hours: float = 6.0
    excerpt: str = "split"
    # None: the adapter's default (Poster.max_posts_per_thread)
    max_posts_per_thread: int | None = None
    dedupe_mentions: bool = False
    rotate_mentions: bool = False
    require_approval: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()
    # the daily pick (bot.content.pick): None or a mapping with "enabled" and its rules
    pick: dict[str, Any] | None = None
    # the heartbeat URL pinged after each day's job ({$env: NAME} or {$file: path}, resolved
    # only by the daemon and ``run --once``: bot.operations.heartbeat); None: the global one
    heartbeat: dict[str, str] | None = None
    # the language of the bot's words in its posts (bot.i18n): a locale such as "fr" or
    # "pt-BR"; None: the config's top-level ``language:``, else English
    language: str | None = None

    def unread_secrets(self) -> list[SecretRef]:
        """The secrets of its settings not read yet (``{$env: NAME}``, ``{$file: path}``)."""
        return [value for value in self.settings.values() if isinstance(value, SecretRef)]

    def with_secrets(self) -> dict[str, Any]:
        """Its settings with every secret read: for an adapter that talks to the platform.
        The adapter checks the values it could not check before they were read. A secret that
        cannot be read is one ``ConfigError`` naming the variable or file and the config key."""
        unread = self.unread_secrets()
        if not unread:
            return self.settings
        from bot.posters import poster_class

        resolved = {
            key: read_secret(value) if isinstance(value, SecretRef) else value
            for key, value in self.settings.items()
        }
        where = unread[0].where.rsplit(".", 1)[0]  # the destination's own place in the file
        try:
            return poster_class(self.type).validate_settings(resolved, where, unread[0].base)
        except ConfigError as error:
            raise without_secret_values(error, resolved) from None


class AlertEvent(StrEnum):
    """What an alert is sent for (bot.operations.alerts)."""

    FAILED = "failed"  # a post failed and has no retry left today
    MISSED = "missed"  # a day, or a post of it, ended without being sent
    UNCONFIRMED = "unconfirmed"  # a post may have gone out: a person decides
    HELD = "held"  # a day held for approval close to its time
    RESTARTED = "restarted"  # the daemon started after a crash


@dataclass(frozen=True)
class AlertUrl:
    """An Apprise URL, as the config names it ({$env: NAME} or {$file: path}: resolved only
    when alerts are sent), and the events it is told about."""

    url: dict[str, str]
    events: tuple[AlertEvent, ...] = tuple(AlertEvent)


@dataclass(frozen=True)
class AlertSettings:
    """``alerts:``: where alerts go, and how long before a held day's time it is reported."""

    urls: list[AlertUrl] = field(default_factory=list)
    held_hours: float = 2.0


@dataclass
class Config:
    """The config: from its file, validated, or the embedded default."""

    path: Path | None
    store: Path | None
    templates: Path | None
    timezone: str | None
    destinations: dict[str, Destination]
    lists: list[dict[str, Any]] = field(default_factory=list)
    # fetching content (bot.content.fetching.FetchSettings): feed and summary URLs, cache...
    content: dict[str, Any] = field(default_factory=dict)
    # the web page (bot.web.settings.WebSettings): host, port, users...; secrets as SecretRef
    web: dict[str, Any] = field(default_factory=dict)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # the heartbeat URL of every destination without its own (see Destination.heartbeat)
    heartbeat: dict[str, str] | None = None
    # ``language:``, every destination's without its own (Destination.language); None: English
    language: str | None = None

    def destination(self, name: str) -> Destination:
        if name not in self.destinations:
            known = ", ".join(self.destinations) or "none"
            raise ConfigError(f"unknown destination {name!r}: the config defines {known}")
        return self.destinations[name]

    def masked(self) -> dict[str, Any]:
        """The resolved config as a mapping, with every secret masked."""
        data: dict[str, Any] = {
            "config file": str(self.path) if self.path else "(none: embedded default)",
            "store": str(self.store) if self.store else "(default)",
        }
        if self.templates:
            data["templates"] = str(self.templates)
        if self.timezone:
            data["timezone"] = self.timezone
        if self.language:
            data["language"] = self.language
        data["destinations"] = {}
        for name, dest in self.destinations.items():
            shown = {
                "type": dest.type,
                "format": dest.format,
                "time": dest.time,
                "timezone": dest.timezone or self.timezone or "UTC",
                "max_threads_per_day": dest.max_threads_per_day,
            }
            if dest.language or self.language:
                shown["language"] = dest.language or self.language
            for key, value in dest.settings.items():
                secret = isinstance(value, Secret | SecretRef) or key in dest.secret_keys
                shown[key] = MASK if secret else value
            if dest.pick is not None:
                shown["pick"] = dest.pick
            if dest.heartbeat is not None:
                shown["heartbeat"] = MASK
            data["destinations"][name] = shown
        if self.content:
            data["content"] = self.content
        if self.alerts.urls:
            data["alerts"] = {
                "urls": [
                    {"url": MASK, "events": [str(e) for e in x.events]} for x in self.alerts.urls
                ],
                "held_hours": self.alerts.held_hours,
            }
        if self.heartbeat is not None:
            data["heartbeat"] = MASK
        if self.lists:
            data["lists"] = [x["name"] for x in self.lists]
        return data


def default_config() -> Config:
    outbox = Destination(
        name="outbox",
        type="outbox",
        format="text",
        settings={"path": str(default_outbox_path()), "format": "text"},
        # the daily pick chooses each day's event (bot.content.pick): a store of imported
        # on-this-day candidates posts well without tuning
        pick={"enabled": True},
    )
    return Config(None, None, None, None, {"outbox": outbox})


def find_config_path(explicit: str | Path | None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (from --config)")
        return path
    from_env = os.environ.get("ANNIVERSARY_BOT_CONFIG")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (from $ANNIVERSARY_BOT_CONFIG)")
        return path
    path = user_config_file()
    return path if path.is_file() else None


def secret_reference(value: Any, where: str, base: Path) -> Any:
    """``{"$env": NAME}`` and ``{"$file": path}`` become a ``SecretRef``, read only when it is
    needed (``resolve_secret``, ``Destination.with_secrets``); anything else stays (a URL's
    ``user:password@``, if any, is masked from then on all the same)."""
    if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("$env", "$file")):
        if isinstance(value, str) and "://" in value:
            from bot.secrets_filter import register_url_credentials

            register_url_credentials(value)
        return value
    kind, name = next(iter(value.items()))
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: {kind} needs a name, e.g. {{{kind}: NAME}}")
    return SecretRef(kind, name, where, base)


def resolve_secret(value: Any, where: str, base: Path) -> Any:
    """``{"$env": NAME}`` and ``{"$file": path}`` read now, as a ``Secret``; anything else
    stays as it is."""
    reference = secret_reference(value, where, base)
    return read_secret(reference) if isinstance(reference, SecretRef) else reference


def read_secret(reference: SecretRef) -> Secret:
    """The value, registered for masking; a ``ConfigError`` naming the variable or file (never
    a value) when it cannot be read."""
    where, kind, name = reference.where, reference.kind, reference.name
    if kind == "$env":
        if name not in os.environ:
            raise ConfigError(f"{where}: environment variable {name} is not set: export it first")
        return Secret(os.environ[name], source=reference.described())
    secret_path = Path(name).expanduser()
    if not secret_path.is_absolute():
        secret_path = reference.base / secret_path
    try:
        text = secret_path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        # the message never quotes the bytes: they are the secret
        raise ConfigError(
            f"{where}: secret file {secret_path} is not UTF-8 text: save the secret as UTF-8 "
            "(a token is plain ASCII: check that the file holds only the token)"
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{where}: cannot read secret file {secret_path}: {error.strerror}"
        ) from None
    return Secret(text, source=reference.described())


def without_secret_values(error: ConfigError, values: dict[str, Any]) -> ConfigError:
    """The adapter's message with every value that came from ``$env`` or ``$file`` named by
    its source instead of shown: a validator may quote the value it refuses, and a token put
    under the wrong key is still a token."""
    from bot.secrets_filter import MIN_SECRET_LENGTH, mask

    message = str(error)
    secrets = [value for value in values.values() if isinstance(value, Secret) and value]
    for secret in sorted(secrets, key=len, reverse=True):
        shown = f"{secret.described()} (not shown: it is a secret)"
        message = message.replace(repr(str(secret)), shown)
        if len(secret) >= MIN_SECRET_LENGTH:  # a shorter one could be part of any word
            message = message.replace(str(secret), shown)
    return ConfigError(mask(message))
