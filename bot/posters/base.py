"""The adapter contract every poster implements, built-in or third-party.

An adapter declares what its platform can take (``capabilities``) and the config keys it reads
(``Settings``, a pydantic model), and implements ``publish``. Where the platform lets it look a
post up by the deterministic key the bot gives every post, it implements ``find`` too, which is
how a post left "sending" by a crash is reconciled instead of being sent twice.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from bot.errors import BotError, ConfigError
from bot.mentions import Member


@dataclass(frozen=True)
class Capabilities:
    max_length: int | None = None  # characters in one post, counted as the platform counts
    max_mentions: int | None = None  # live mentions in one post
    replies: bool = True  # posts after the lead can reply into the same thread
    titles: bool = False  # the lead post carries a title (a forum topic)
    images: bool = False  # image uploads
    mention_syntax: str = "{name}"  # how a member is written: "@{handle}", "<@{handle}>", ...
    url_length: int | None = None  # a URL counts as this many characters (Mastodon: 23)
    min_length: int = 0
    title_length: tuple[int, int] | None = None  # (min, max) characters of a title


@dataclass(frozen=True)
class OutgoingPost:
    """One post as it will be sent: the publish log gives it its key before it goes out."""

    key: str  # deterministic: destination / event / anniversary day / post number
    thread_key: str
    number: int  # 1 is the lead
    body: str
    format: str
    event_id: str
    day: dt.date
    title: str | None = None
    mentions: tuple[Member, ...] = ()
    sensitive: bool = False
    images: tuple[dict[str, Any], ...] = ()  # {caption, url, file}: for image uploads
    continued: bool = False  # a continuation of the previous post (split to fit the limit)

    @property
    def is_lead(self) -> bool:
        return self.number == 1


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str | None = None


class Outcome(StrEnum):
    """What a failed request means for the post (bot/publish.py acts on it)."""

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


class Poster(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    formats: ClassVar[tuple[str, ...]] = ("text", "markdown", "html")
    default_format: ClassVar[str] = "text"
    platform: ClassVar[str | None] = None  # the member handle key its mentions use
    secret_settings: ClassVar[tuple[str, ...]] = ()
    can_find: ClassVar[bool] = False
    # seconds during which sending the same post again is safe because the platform drops the
    # repeat (Mastodon's Idempotency-Key, Matrix's transaction id): a post left "sending" by a
    # crash within this window is re-sent instead of being marked unconfirmed
    resend_window: ClassVar[float | None] = None
    # the pydantic model of the config keys, or "module:Class" naming it, so that importing an
    # adapter (for its capabilities, in preview) does not import pydantic
    Settings: ClassVar[type | str | None] = None

    def __init__(self, destination: str, settings: dict[str, Any]) -> None:
        self.destination = destination
        self.settings = settings

    @classmethod
    def settings_model(cls) -> type | None:
        if isinstance(cls.Settings, str):
            import importlib

            module, _, name = cls.Settings.partition(":")
            return getattr(importlib.import_module(module), name)
        return cls.Settings

    @classmethod
    def settings_keys(cls) -> set[str]:
        model = cls.settings_model()
        return set(model.model_fields) if model is not None else set()

    @classmethod
    def validate_settings(cls, values: dict[str, Any], where: str, base: Path) -> dict[str, Any]:
        """Check the destination's adapter keys; errors name the destination and key."""
        model_class = cls.settings_model()
        if model_class is None:
            if values:
                raise ConfigError(f"{where}.{next(iter(values))}: unknown key for {cls.name}")
            return {}
        from pydantic import ValidationError

        from bot.config import Secret

        try:
            model = model_class.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            key = ".".join(str(x) for x in first["loc"])
            if first["type"] == "missing":
                message = f"required key for {cls.name} is missing"
            elif first["type"] == "extra_forbidden":
                allowed = ", ".join(sorted(cls.settings_keys()))
                message = f"unknown key for {cls.name} (it takes: {allowed})"
            else:
                message = first["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{where}.{key}: {message}") from None
        settings = model.model_dump()
        for key in cls.secret_settings:
            if settings.get(key) is not None:
                settings[key] = Secret(settings[key])
        return cls.prepare_settings(settings, base)

    @classmethod
    def prepare_settings(cls, settings: dict[str, Any], base: Path) -> dict[str, Any]:
        return settings

    def load_limits(self) -> None:
        """Read the platform's own limits where it exposes them, replacing ``self.capabilities``
        (an instance attribute then shadows the class default). Called before fitting."""
        return None

    @abstractmethod
    def publish(
        self, post: OutgoingPost, lead: Published | None, previous: Published | None
    ) -> Published:
        """Send one post. ``lead`` and ``previous`` are the thread's posts already published."""

    def find(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        """The post published under ``post.key``, or None. Only called when ``can_find``."""
        raise NotImplementedError

    def check(self) -> str:
        """Test the credentials or target where the adapter can; say what was checked."""
        return "nothing to check for this adapter"

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections."""
