"""Validation of what curators write: events, mention members and lists.

Pydantic is imported only here, and this module only when files are read, so that commands
that read the store (``preview``, the daily job) start fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from bot.events.list_schema import Name, OptionalText, Strict
from bot.input_rules import INT64_MAX, INT64_MIN, MAX_TEXT_CHARS, url_problem
from bot.model import DEFAULT_LINKS_TITLE, LINK_STYLES
from bot.model.dates import parse_date

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# the same rule as the JSON-lines records and the feed (bot.input_rules)
Url = Annotated[str, AfterValidator(_url)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
# a language of an event's variants ("en", "fr", "pt-BR"): README "Languages"
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _localised(limit: int, optional: bool = False) -> Callable[[Any], Any]:
    """A text, or its variants by language (``{en: ..., fr: ...}``; the first is the default),
    each of 1 to ``limit`` characters; one message that says which was wrong and how.
    ``optional``: None (the key left out, or null) is no text."""

    def check(value: Any, where: str = "") -> Any:
        if value is None and optional and not where:
            return None
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


class WithOptions(Strict):
    """Presentation options (bot.model.BLOCK_OPTIONS) that are not given are not stored: an
    event written before the options existed keeps its stored form (and its drafts' hash)."""

    # left out of the stored form when None (not given)
    optional_keys: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _leave_out_options_not_given(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        for key in self.optional_keys:
            if data.get(key) is None:
                data.pop(key, None)
        return data


class Presented(WithOptions):
    """A block: each may sit right under the one before it."""

    optional_keys: ClassVar[tuple[str, ...]] = ("attach",)
    attach: bool | None = None  # true: on the next line after the block before, no blank line


class TextBlock(Presented):
    type: Literal["text"]
    text: LocalisedText


class QuoteBlock(Presented):
    optional_keys: ClassVar[tuple[str, ...]] = ("attach", "headline", "marks", "url")
    type: Literal["quote"]
    text: Text
    cite: OptionalText | None = None
    headline: OptionalText | None = None  # a line above the text ("January 10, 1928")
    marks: bool | None = None  # the text in quote marks (plain text; default true)
    url: Url | None = None  # the source page: "Read more" of a cut post, the cite's link


class VideoBlock(Presented):
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


class ImagesBlock(Presented):
    type: Literal["images"]
    images: Annotated[list[Image], Field(min_length=1)]


class BackgroundBlock(Presented):
    optional_keys: ClassVar[tuple[str, ...]] = ("attach", "headline", "header", "marks")
    type: Literal["background"]
    url: Url
    excerpt: Text
    source: OptionalText | None = None
    headline: OptionalText | None = None  # a line above the excerpt ("January 10, 1928")
    header: bool | None = None  # the "Background from URL" line (default true)
    marks: bool | None = None  # the excerpt in quote marks (plain text; default false)


# a URL written without its scheme: a host with a dot, then an optional path ("bl.uk/people/x")
SCHEMELESS_URL = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?:[/?#]\S*)?"
)


def _bare(url: str) -> str:
    """A URL as a link's text may show it: no scheme, no "www.", no final "/"."""
    bare = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
    return re.sub(r"^www\.", "", bare, flags=re.IGNORECASE).rstrip("/")


class Link(WithOptions):
    optional_keys: ClassVar[tuple[str, ...]] = ("text",)
    title: Text | None = None
    url: Url
    # the link's text instead of its URL: the URL without its scheme ("bl.uk/people/x"), never
    # anything else, so that the text cannot say one address and go to another
    text: OptionalText | None = None

    @model_validator(mode="before")
    @classmethod
    def _add_the_scheme(cls, data: Any) -> Any:
        """A URL written without ``https://`` is stored with it and shown as written."""
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            written = data["url"]
            if SCHEMELESS_URL.fullmatch(written):
                shown = {} if data.get("title") is not None else {"text": written}
                return {**shown, **data, "url": f"https://{written}"}
        return data

    @field_validator("text")
    @classmethod
    def _text_is_the_url(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is None:
            return None
        if info.data.get("title") is not None:
            raise ValueError("a link shows its title or its text (the URL), not both")
        url = info.data.get("url")
        if url is not None and (not text.strip() or _bare(text) != _bare(url)):
            raise ValueError(
                f"{text[:100]!r} must be the URL without its scheme ({_bare(url)[:100]!r}): a "
                "link's text may not name another address"
            )
        return text


class LinksBlock(Presented):
    optional_keys: ClassVar[tuple[str, ...]] = ("attach", "style")
    type: Literal["links"]
    links: Annotated[list[Link], Field(min_length=1)]
    # printed as written; without a style, the classic "Title:" (default "Links")
    title: OptionalText | None = None
    style: Literal[LINK_STYLES] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _classic_title(self) -> LinksBlock:
        if self.style is None and self.title is None:
            self.title = DEFAULT_LINKS_TITLE
        return self


class MentionsBlock(Presented):
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
    # the topic's own title; on Discourse the anniversary follows it, see docs/event-format.md
    topic_title: Annotated[Any, BeforeValidator(_localised(300, optional=True))] = None
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
