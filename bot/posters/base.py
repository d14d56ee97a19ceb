"""The adapter contract every poster implements, built-in or third-party.

An adapter declares what its platform can take (``capabilities``) and the config keys it reads
(``Settings``, a pydantic model), and implements ``publish``. Where the platform lets it look a
post up by the deterministic key the bot gives every post, it implements ``find`` too, which is
how a post left "sending" by a crash is reconciled instead of being sent twice.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from bot.errors import ConfigError, Outcome, PostError
from bot.model import Member
from bot.neutralise import escape_markdown, neutralise_at

# PostError and Outcome live in bot.errors (the HTTP layer raises them too); adapters import
# them from here, with the rest of the contract
__all__ = [
    "Capabilities",
    "HandleFormat",
    "OutgoingPost",
    "Outcome",
    "PostError",
    "Poster",
    "Published",
    "platform_rule",
]


@dataclass(frozen=True)
class Capabilities:
    """What a platform takes in a thread: lengths, mentions, replies, titles, images."""

    max_length: int | None = None  # characters in one post, counted as the platform counts
    max_mentions: int | None = None  # live mentions in one post
    replies: bool = True  # posts after the lead can reply into the same thread
    titles: bool = False  # the lead post carries a title (a forum topic)
    images: bool = False  # image uploads
    # how ``Poster.mention`` writes a member who has a handle: "@{handle}", "<@{handle}>", ...
    # ({name}: the display name, escaped for the platform)
    mention_syntax: str = "{handle}"
    url_length: int | None = None  # a URL counts as this many characters (Mastodon: 23)
    min_length: int = 0
    title_length: tuple[int, int] | None = None  # (min, max) characters of a title
    unique_titles: bool = False  # a title used before is refused (Discourse)


@dataclass(frozen=True)
class HandleFormat:
    """What a member's handle on a platform looks like: checked when members are imported or
    added, so that a typo is refused with the example instead of failing to ping on the day."""

    pattern: str  # a regular expression the whole handle must match
    example: str  # shown in the error: "a user id such as U0123ABCD"
    sample: str  # one handle that matches: the contract suite mentions a member who has it

    def problem(self, handle: str) -> str | None:
        """Why ``handle`` is not one, in words, or None."""
        if re.fullmatch(self.pattern, handle):
            return None
        return f"{handle!r} is malformed: expected {self.example}"


class _PlatformRule:
    """A platform rule (``mention``, ``escape``, ``length``, ``author``) is called on the adapter
    class, where nothing is sent (a preview), and on an instance, whose capabilities may come
    from the platform itself (``load_limits``): ``self`` is whichever it was called on."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: object, owner: type) -> Callable[..., Any]:
        return self.function.__get__(owner if instance is None else instance, owner)


PLATFORM_RULES = ("mention", "escape", "length", "author")

if TYPE_CHECKING:
    # to a type checker a rule is a classmethod: callable on the class, ``self`` the class
    platform_rule = classmethod
else:
    platform_rule = _PlatformRule


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
    """A post the platform accepted: its id there, and its address when it has one."""

    remote_id: str
    url: str | None = None
    # accepted, but held for the platform's moderators (Discourse's review queue): not public
    # yet; the publish log records it "held" and looks it up until it is approved
    held: bool = False


class Poster(ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""
    # an adapter that exists for tests (the example plugin): `posters` lists it only with --all
    test_only: ClassVar[bool] = False
    # an instance may replace it with the platform's own limits (load_limits)
    capabilities: Capabilities = Capabilities()
    formats: ClassVar[tuple[str, ...]] = ("text", "markdown", "html")
    default_format: ClassVar[str] = "text"
    # the member handle key its mentions use (a members CSV column, a key of ``handles:``)
    platform: ClassVar[str | None] = None
    # what a handle there looks like; members' handles are checked against it on import
    handle_format: ClassVar[HandleFormat | None] = None
    # the most posts in a row one user may make in a thread, where the platform limits it
    # (fitting warns about a longer thread; the adapter decides what a refusal means)
    max_consecutive_replies: ClassVar[int | None] = None
    # the most posts one thread may become when a destination does not set
    # ``max_posts_per_thread``: a thread that needs more is shortened with ``excerpt: truncate``
    # (None: no cap, for platforms whose posts are long or that nobody follows live)
    max_posts_per_thread: ClassVar[int | None] = None
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a rule overridden as a plain method (without @platform_rule) is callable on the
        # class too
        for name in PLATFORM_RULES:
            rule = cls.__dict__.get(name)
            if callable(rule) and not isinstance(rule, _PlatformRule):
                setattr(cls, name, _PlatformRule(rule))

    # --- the platform's rules: how text is written and counted there ------------------------
    # Called on the class or an instance (see _PlatformRule): read class attributes and
    # ``self.capabilities``, never settings that only an instance has.

    @platform_rule
    def mention(self, member: Member, fmt: str) -> str | None:
        """The live mention of ``member`` as printed in a post of format ``fmt``, or None when
        they have no handle here (the renderer then names them in words, pinging nobody).
        The text is printed as it is: escape any part of it that comes from data."""
        handle = member.handle(self.platform)
        if handle is None:
            return None
        syntax = self.capabilities.mention_syntax
        # escaped only where the syntax prints it: a list of 10,000 members is escaped for nothing
        name = self.escape(member.name, fmt) if "{name}" in syntax else ""
        return syntax.format(handle=handle, name=name)

    @platform_rule
    def escape(self, text: str, fmt: str) -> str:
        """``text`` from event data made inert for this platform: no markup, no mention.
        The default escapes Markdown where ``fmt`` is Markdown and neutralises ``@name``; an
        adapter whose platform has other control sequences adds its own (Slack's ``<!here>``)."""
        if fmt == "markdown":
            text = escape_markdown(text)
        return neutralise_at(text)

    @platform_rule
    def length(self, text: str) -> int:
        """Characters in ``text`` as the platform counts them against ``max_length``."""
        return len(text)

    @platform_rule
    def author(self, settings: dict[str, Any]) -> str:
        """Who the platform shows as the poster, for previews: from the destination's settings."""
        return str(settings.get("username") or "anniversary-bot")

    @classmethod
    def handle_problem(cls, handle: str) -> str | None:
        """Why ``handle`` cannot be a member's handle on this platform, or None."""
        if cls.handle_format is None:
            return None
        return cls.handle_format.problem(handle)

    @classmethod
    def settings_model(cls) -> type[Any] | None:
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
        """Check the destination's adapter keys; errors name the destination and key.

        A value not read yet (a ``SecretRef``: a secret is read only when the destination talks
        to its platform) is checked when it is read; every other key is checked now, and the
        reference stays in the settings in its place."""
        model_class = cls.settings_model()
        if model_class is None:
            if values:
                raise ConfigError(f"{where}.{next(iter(values))}: unknown key for {cls.name}")
            return {}
        from pydantic import ValidationError

        from bot.secrets_filter import Secret, SecretRef

        unread = {key: value for key, value in values.items() if isinstance(value, SecretRef)}
        known = {key: value for key, value in values.items() if key not in unread}
        try:
            settings = model_class.model_validate(known).model_dump()
        except ValidationError as error:
            problems = [e for e in error.errors() if not (e["loc"] and e["loc"][0] in unread)]
            if problems:
                raise ConfigError(f"{where}.{cls._settings_problem(problems[0])}") from None
            # only the unread keys are missing or wrong: the others are checked one by one
            model = model_class.model_construct(**unread)
            try:
                for key, value in known.items():
                    model_class.__pydantic_validator__.validate_assignment(model, key, value)
            except ValidationError as late:
                raise ConfigError(f"{where}.{cls._settings_problem(late.errors()[0])}") from None
            settings = {key: getattr(model, key) for key in model_class.model_fields}
        for key in cls.secret_settings:
            if settings.get(key) is not None and not isinstance(settings[key], SecretRef):
                settings[key] = Secret(settings[key])
        settings.update(unread)
        return cls.prepare_settings(settings, base)

    @classmethod
    def _settings_problem(cls, problem: Any) -> str:
        """``KEY: what is wrong`` for pydantic's first error about the settings."""
        key = ".".join(str(x) for x in problem["loc"])
        if problem["type"] == "missing":
            message = f"required key for {cls.name} is missing"
        elif problem["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(cls.settings_keys()))
            message = f"unknown key for {cls.name} (it takes: {allowed})"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        return f"{key}: {message}"

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

    def find_held(self, post: OutgoingPost, lead: Published | None) -> Published | None:
        """The post once the platform's moderators approved it (it was published ``held``), or
        None while it waits. Only called when ``can_find``; the platform may publish it
        differently from a post that was never held (Discourse drops its external_id)."""
        return self.find(post, lead)

    def check(self) -> str:
        """Test the credentials or target where the adapter can; say what was checked."""
        return "nothing to check for this adapter"

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections."""
