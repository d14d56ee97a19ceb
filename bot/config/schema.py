"""Validation of the config file (pydantic), kept apart so the default config costs no import."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.config import (
    AlertEvent,
    AlertSettings,
    AlertUrl,
    Config,
    Destination,
    secret_reference,
    without_secret_values,
)
from bot.content import (
    DEFAULT_MILESTONES,
    DEFAULT_SENSITIVE_KEYWORDS,
    DEFAULT_SENSITIVE_TAGS,
)
from bot.content.fetching import DEFAULT_FEED_URL, DEFAULT_SUMMARY_URL
from bot.content.importance import IMPORTANT
from bot.errors import ConfigError, InputError
from bot.events.list_schema import MentionListIn
from bot.input_rules import INT64_MAX, INT64_MIN, MAX_TEXT_CHARS, problem_in_words
from bot.safe_load import Location, format_path, read_text, yaml_documents

# a destination's ``time:``, HH:MM or HH:MM:SS
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


class PickIn(BaseModel):
    """The daily pick of a destination (bot.content.pick)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    milestones: list[Annotated[int, Field(ge=1, le=100_000)]] = list(DEFAULT_MILESTONES)
    milestone_every: int = Field(100, ge=0, le=100_000)
    no_repeat_years: int = Field(5, ge=0, le=1000)
    balance_days: int = Field(7, ge=1, le=366)
    include_tags: list[str] = []
    exclude_tags: list[str] = []
    sensitive_tags: list[str] = list(DEFAULT_SENSITIVE_TAGS)
    sensitive_keywords: list[str] = list(DEFAULT_SENSITIVE_KEYWORDS)
    fallback: Literal["candidate", "none"] = "candidate"
    seed: int = Field(0, ge=INT64_MIN, le=INT64_MAX)
    important: int = Field(IMPORTANT, ge=0, le=1000)


class ContentIn(BaseModel):
    """Fetching content (bot.content.fetching.FetchSettings)."""

    model_config = ConfigDict(extra="forbid")

    feed_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] = DEFAULT_FEED_URL
    language: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{1,20}$")] = "en"
    summary_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] = DEFAULT_SUMMARY_URL
    contact: str | None = None
    cache_hours: float = Field(24.0, ge=0, le=24 * 366 * 10)
    connect_timeout: float = Field(10.0, gt=0, le=300)
    timeout: float = Field(30.0, gt=0, le=600)
    retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(1.0, ge=0, le=60)
    max_bytes: int = Field(2_000_000, ge=1000, le=2**30)
    feed_max_bytes: int = Field(32_000_000, ge=1000, le=2**30)
    max_excerpt_chars: int = Field(6000, ge=100, le=MAX_TEXT_CHARS)


def _secret_reference(value: Any) -> Any:
    """A value that is a secret (an alert or heartbeat URL carries the credential itself):
    ``{$env: NAME}`` or ``{$file: path}``; the message never quotes what was written."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, name),) = value.items()
        if kind in ("$env", "$file") and isinstance(name, str) and name:
            return value
    raise ValueError("is a secret: write {$env: NAME} or {$file: path}, never the value itself")


SecretReference = Annotated[dict[str, str], BeforeValidator(_secret_reference)]


class AlertUrlIn(BaseModel):
    """One Apprise URL of ``alerts.urls`` and the events it is told about."""

    model_config = ConfigDict(extra="forbid")

    url: SecretReference
    events: list[AlertEvent] = list(AlertEvent)


class AlertsIn(BaseModel):
    """``alerts:`` (bot.config.AlertSettings)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[AlertUrlIn] = []
    held_hours: float = Field(2.0, ge=0, le=48)


def _language(value: Any) -> Any:
    from bot.i18n import check_language

    return check_language(value)


# a locale whose phrases the bot has (bot.i18n): "fr", "de", "ru", "pt-BR"...
Language = Annotated[str, BeforeValidator(_language)]


class DestinationIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    format: Literal["text", "markdown", "html"] | None = None
    time: str = "07:00"
    timezone: str | None = None
    max_threads_per_day: int = Field(1, ge=1, le=50)
    leap_day: Literal["feb28", "mar1"] = "feb28"
    catch_up_hours: float = Field(6.0, ge=0, le=24)
    excerpt: Literal["split", "truncate"] = "split"
    max_posts_per_thread: int | None = Field(None, ge=1, le=1000)
    dedupe_mentions: bool = False
    rotate_mentions: bool = False
    require_approval: bool = False
    pick: PickIn | None = None
    heartbeat: SecretReference | None = None
    language: Language | None = None

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not TIME_PATTERN.match(value):
            raise ValueError(
                f"expected a time of day as HH:MM (24-hour, seconds optional), got {value!r}"
            )
        return value


PasswordHash = Annotated[str, StringConstraints(pattern=r"^(scrypt|pbkdf2):\S+\$\S+\$\S+$")]
UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]


class WebUserIn(BaseModel):
    """A person who may log in to the web page (bot.web): a role and one way to prove it."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["curator", "operator"]
    password_hash: PasswordHash | None = None
    token: SecretReference | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> WebUserIn:
        if (self.password_hash is None) == (self.token is None):
            raise ValueError(
                "give either password_hash (from 'anniversary-bot serve --hash-password') or "
                "token ({$env: NAME} or {$file: path}), not both or neither"
            )
        return self


class WebIn(BaseModel):
    """The web page (bot.web.settings.WebSettings)."""

    model_config = ConfigDict(extra="forbid")

    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:\[\]-]{1,253}$")] = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    path_prefix: Annotated[str, StringConstraints(pattern=r"^(/[A-Za-z0-9._~-]+)*$")] = ""
    secret_key: SecretReference | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 31)
    secure_cookies: bool = False
    behind_proxy: bool = False
    users: dict[UserName, WebUserIn] = {}


# the destination keys parse_config does not copy as they are
SPECIAL = ("type", "format", "pick")


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store: str | None = None
    templates: str | None = None
    timezone: str | None = None
    language: Language | None = None
    lists: list[MentionListIn] = []
    content: ContentIn | None = None
    web: WebIn | None = None
    alerts: AlertsIn | None = None
    heartbeat: SecretReference | None = None
    destinations: dict[str, DestinationIn] = Field(min_length=1)


def _error(path: Path, error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    loc = format_path(first["loc"])
    if first["type"] == "extra_forbidden":
        message = "unknown key: see config.example.yaml for the keys"
    elif first["loc"] == ("destinations",) and first["type"] == "too_short":
        message = "no destination: name at least one (see config.example.yaml)"
    else:
        message = problem_in_words(dict(first), "key")
    return ConfigError(f"{path}: {loc}: {message}")


def parse_config(path: Path) -> Config:
    from bot.clock import zone
    from bot.posters import poster_class

    # the same bounded, strict reading as event files: no duplicate keys, aliases capped,
    # nesting and size limited, every problem by line
    try:
        documents = list(yaml_documents(path, read_text(path, "a YAML config")))
    except ConfigError:
        raise
    except InputError as error:
        raise ConfigError(str(error)) from None
    if len(documents) > 1:
        raise ConfigError(f"{path}: expected one YAML document, found {len(documents)}")
    raw, lines = documents[0] if documents else (None, {})
    location = Location(str(path), lines)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping with 'destinations:' (see config.example.yaml)"
        )
    try:
        parsed = ConfigIn.model_validate(raw)
    except ValidationError as error:
        raise _at_line(_error(path, error), path, location, error) from None
    base = path.parent
    if parsed.timezone:
        _check_zone(zone, parsed.timezone, f"{location.at(('timezone',))}: timezone")
    destinations: dict[str, Destination] = {}
    for name, dest in parsed.destinations.items():
        where = f"{location.at(('destinations', name))}: destinations.{name}"
        cls = poster_class(dest.type, where=f"{where}.type")
        if dest.timezone:
            _check_zone(zone, dest.timezone, f"{where}.timezone")
        extra = dict(dest.model_extra or {})
        resolved: dict[str, Any] = {}
        for key, value in extra.items():
            if key in cls.secret_settings and not (isinstance(value, dict) and value):
                raise ConfigError(
                    f"{where}.{key}: is a secret: write {{$env: NAME}} or {{$file: path}}, "
                    "never the value itself"
                )
            resolved[key] = secret_reference(value, f"{where}.{key}", base)
        fmt = dest.format or resolved.get("format") or cls.default_format
        if fmt not in cls.formats:
            raise ConfigError(
                f"{where}.format: {cls.name} takes {', '.join(cls.formats)}, not {fmt!r}"
            )
        if "format" in cls.settings_keys():
            resolved["format"] = fmt
        try:
            settings = cls.validate_settings(resolved, where, base)
        except ConfigError as error:
            raise without_secret_values(error, resolved) from None
        # every key DestinationIn declares, copied by name: a key added there (and to
        # Destination: tests/test_config_keys.py checks they agree) cannot be dropped here
        common = {
            key: getattr(dest, key) for key in DestinationIn.model_fields if key not in SPECIAL
        }
        common["language"] = dest.language or parsed.language  # the top-level one by default
        destinations[name] = Destination(
            name=name,
            type=dest.type,
            format=fmt,
            settings=settings,
            secret_keys=tuple(cls.secret_settings),
            pick=dest.pick.model_dump() if dest.pick is not None else None,
            **common,
        )
    return Config(
        path=path,
        store=(base / Path(parsed.store).expanduser()) if parsed.store else None,
        templates=(base / Path(parsed.templates).expanduser()) if parsed.templates else None,
        timezone=parsed.timezone,
        destinations=destinations,
        lists=[x.model_dump() for x in parsed.lists],
        content=parsed.content.model_dump(exclude_unset=True) if parsed.content else {},
        web=_web_settings(parsed.web, location, base) if parsed.web else {},
        alerts=_alert_settings(parsed.alerts),
        heartbeat=parsed.heartbeat,
        language=parsed.language,
    )


def _web_settings(web: WebIn, location: Location, base: Path) -> dict[str, Any]:
    """The ``web:`` keys as given, its secrets (the session key, the users' tokens) as
    ``SecretRef``s, read only by ``serve``."""
    data = web.model_dump(exclude_unset=True)
    if web.secret_key is not None:
        where = f"{location.at(('web', 'secret_key'))}: web.secret_key"
        data["secret_key"] = secret_reference(web.secret_key, where, base)
    for name, user in web.users.items():
        if user.token is not None:
            where = f"{location.at(('web', 'users', name, 'token'))}: web.users.{name}.token"
            data["users"][name]["token"] = secret_reference(user.token, where, base)
    return data


def _alert_settings(alerts: AlertsIn | None) -> AlertSettings:
    if alerts is None:
        return AlertSettings()
    urls = [AlertUrl(x.url, tuple(dict.fromkeys(x.events))) for x in alerts.urls]
    return AlertSettings(urls, alerts.held_hours)


def _at_line(
    error: ConfigError, path: Path, location: Location, cause: ValidationError
) -> ConfigError:
    """The message of ``_error`` with the line of the field it names."""
    message = str(error)
    field = tuple(cause.errors()[0]["loc"])
    if message.startswith(f"{path}: "):
        message = f"{location.at(field)}: " + message.removeprefix(f"{path}: ")
    return ConfigError(message)


def _check_zone(zone: Callable[[str], dt.tzinfo], name: str, where: str) -> None:
    try:
        zone(name)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
