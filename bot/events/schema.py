"""Validation of what curators write: events, mention members and lists.

Pydantic is imported only here, and this module only when files are read, so that commands
that read the store (``preview``, the daily job) start fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.input_rules import INT64_MAX, INT64_MIN, MAX_TEXT_CHARS, url_problem
from bot.model.dates import parse_date

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# the same rule as the JSON-lines records and the feed (bot.input_rules)
Url = Annotated[str, AfterValidator(_url)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
OptionalText = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
# a language of an event's variants ("en", "fr", "pt-BR"): README "Languages"
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _localised(limit: int) -> Callable[[Any], Any]:
    """A text, or its variants by language (``{en: ..., fr: ...}``; the first is the default),
    each of 1 to ``limit`` characters; one message that says which was wrong and how."""

    def check(value: Any, where: str = "") -> Any:
        if isinstance(value, dict) and not where:
            if not value:
                raise ValueError("give the text, or its variants by language: {en: ..., fr: ...}")
            if len(value) > 100:
                raise ValueError("at most 100 languages")
            for language, text in value.items():
                if not isinstance(language, str) or not LANGUAGE_TAG.match(language):
                    raise ValueError(
                        f"{language!r} is not a language: write a locale such as en, fr or pt-BR"
                    )
                check(text, f" (the {language} variant)")
            return value
        if not isinstance(value, str):
            raise ValueError(
                f"expected a valid string{where}, or its variants by language: {{en: ..., fr: ...}}"
            )
        if not value:
            raise ValueError(f"the text{where} is empty")
        if len(value) > limit:
            raise ValueError(f"the text{where} is over {limit:,} characters")
        return value

    return check


LocalisedText = Annotated[Any, BeforeValidator(_localised(MAX_TEXT_CHARS))]
LocalisedTitle = Annotated[Any, BeforeValidator(_localised(300))]


class Strict(BaseModel):
    # strict: a number where text is expected is an error, not silently converted
    model_config = ConfigDict(extra="forbid", strict=True)


class TextBlock(Strict):
    type: Literal["text"]
    text: LocalisedText


class QuoteBlock(Strict):
    type: Literal["quote"]
    text: Text
    cite: OptionalText | None = None


class VideoBlock(Strict):
    type: Literal["video"]
    url: Url
    title: OptionalText | None = None
    description: OptionalText | None = None


class Image(Strict):
    caption: Text
    url: Url | None = None
    file: str | None = None

    @field_validator("file")
    @classmethod
    def _file_in_folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The image, resolved inside the folder of the event file (the validation context
        ``folder``), an image by content and not too large (bot.local_files)."""
        if value is None:
            return None
        from bot.local_files import resolve_image

        folder = (info.context or {}).get("folder")
        if folder is None:
            raise ValueError("image files are read only from the folder of an event file")
        return str(resolve_image(value, folder))


class ImagesBlock(Strict):
    type: Literal["images"]
    images: Annotated[list[Image], Field(min_length=1)]


class BackgroundBlock(Strict):
    type: Literal["background"]
    url: Url
    excerpt: Text
    source: OptionalText | None = None


class Link(Strict):
    title: Text
    url: Url


class LinksBlock(Strict):
    type: Literal["links"]
    links: Annotated[list[Link], Field(min_length=1)]
    title: OptionalText = "Links"


class MentionsBlock(Strict):
    type: Literal["mentions"]
    lists: list[Name] = []
    members: list[Text] = []

    @model_validator(mode="after")
    def _some_names(self) -> MentionsBlock:
        if not self.members and not self.lists:
            raise ValueError("name at least one mention list (lists:) or member (members:)")
        return self


Block = Annotated[
    TextBlock
    | QuoteBlock
    | VideoBlock
    | ImagesBlock
    | BackgroundBlock
    | LinksBlock
    | MentionsBlock,
    Field(discriminator="type"),
]


class Part(Strict):
    blocks: Annotated[list[Block], Field(min_length=1)]


class EventIn(Strict):
    id: Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=200)] | None = None
    date: str
    title: LocalisedTitle
    lead: LocalisedText
    credit: OptionalText | None = None
    tags: list[Name] = []
    priority: Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)] = 0
    sensitive: bool = False
    source: Url | None = None
    origin: Literal["curated", "wikipedia"] = "curated"
    parts: Annotated[list[Part], Field(min_length=1)]

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str) -> str:
        return parse_date(value).iso()


class MemberIn(Strict):
    id: Name
    name: Text
    # a handle given empty (null or "") clears the stored one when an import merges; the
    # platforms and their handle formats are the installed adapters' (Poster.handle_format)
    handles: dict[str, str | None] = {}
    tags: list[Name] = []
    opted_out: str | None = None

    @field_validator("handles")
    @classmethod
    def _valid_handles(cls, handles: dict[str, str | None]) -> dict[str, str | None]:
        from bot.posters import handle_formats

        formats = handle_formats()
        for platform, handle in handles.items():
            if platform not in formats:
                known = ", ".join(formats)
                raise ValueError(f"unknown platform {platform!r}: members have handles on {known}")
            handle_format = formats[platform]
            problem = handle_format.problem(handle) if handle and handle_format else None
            if problem is not None:
                raise ValueError(f"{platform} handle {problem}")
        return handles


class MentionListIn(Strict):
    name: Name
    description: OptionalText | None = None
    members: list[Name] = []
    include_tags: list[Name] = []
