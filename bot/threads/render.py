"""Render an event into a Thread: the lead post and its replies, in a given format.

Event data is only ever passed to templates as values, never compiled as a template. Every
value a template prints goes through ``finalize``, the platform's ``escape`` rule (Markdown
escaping where the format is Markdown, ``@`` neutralised everywhere, and whatever else the
platform's adapter adds) so that text from event data cannot ping anyone; only the ``mention``
filter, fed from the expanded mention list, prints a live mention, written by the adapter's
``mention`` rule. The platform's rules come from its adapter (``bot.posters.platform_rules``).
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import jinja2.lexer
from markupsafe import Markup

from bot import i18n
from bot.errors import BotError, EventRenderError
from bot.events.directory import MentionDirectory
from bot.i18n import DEFAULT_LANGUAGE
from bot.model import Event, Member, dates, in_language, with_options
from bot.neutralise import ZERO_WIDTH_SPACE, escape_markdown, neutralise_at
from bot.paths import templates_dir
from bot.posters import Poster, platform_rules
from bot.urls import UnsafeURLError, safe_url

FORMATS = ("text", "markdown", "html")
# the escapes used by name elsewhere live in bot.neutralise (the adapters use them too)
__all__ = ["ZERO_WIDTH_SPACE", "escape_markdown", "neutralise_at"]


class Raw(str):
    """Text that a template prints as it is: URLs, and mentions from the expanded list."""


def _finalize_text(value: Any) -> Any:
    if isinstance(value, Raw | Markup) or not isinstance(value, str):
        return value
    return neutralise_at(value)


def _finalize_markdown(value: Any) -> Any:
    if isinstance(value, Raw | Markup) or not isinstance(value, str):
        return value
    return neutralise_at(escape_markdown(value))


# the contract's default ``escape`` as plain functions: most platforms keep it, and finalize
# runs for every value a template prints
FINALIZERS = {"text": _finalize_text, "markdown": _finalize_markdown, "html": _finalize_text}


def _finalizer(rules: type[Poster], fmt: str) -> Any:
    """``finalize`` for a template environment: the platform's ``escape`` on every value from
    data; text already written for the platform (Raw, Markup) is printed as it is."""
    if rules.escape.__func__ is Poster.escape.__func__:  # type: ignore[attr-defined]
        return FINALIZERS[fmt]
    escape = rules.escape

    def finalize(value: Any) -> Any:
        if isinstance(value, Raw | Markup) or not isinstance(value, str):
            return value
        return escape(value, fmt)

    return finalize


@dataclass
class Post:
    """One message of a thread. ``title`` is set on the lead post only."""

    number: int
    body: str
    title: str | None = None
    mentions: list[Member] = field(default_factory=list)
    part: int = 1
    continued: bool = False
    # the part's images ({caption, url, file}), for platforms that upload them
    images: list[dict[str, Any]] = field(default_factory=list)
    # the part's first background source: where "Read more" points when a post is cut
    source_url: str | None = None
    # the member the lead thanks (``credit:``) when no FYI line of the post names them too: a
    # mention of the post (it counts against the platform's cap) outside the FYI line
    thanked: Member | None = None

    @property
    def length(self) -> int:
        return len(self.body)


@dataclass
class Thread:
    """An event's thread for a day: its posts in order, and what rendering or fitting noted."""

    event_id: str
    date: dates.AnniversaryDate
    day: dt.date
    format: str
    posts: list[Post]
    warnings: list[str] = field(default_factory=list)
    # the language of the bot's own words in it ("en", "fr", ...): fitting writes its
    # "(continued)" and "Read more" in it too
    language: str = DEFAULT_LANGUAGE

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "date": self.date.iso(),
            "day": self.day.isoformat(),
            "format": self.format,
            "posts": [
                {
                    "number": post.number,
                    "part": post.part,
                    "title": post.title,
                    "body": post.body,
                    "mentions": [
                        {
                            "id": m.id,
                            "name": m.name,
                            **({"handles": m.handles} if m.handles else {}),
                        }
                        for m in post.mentions
                    ],
                    "length": post.length,
                }
                for post in self.posts
            ],
            "warnings": self.warnings,
        }


def split_lines(text: str) -> list[str]:
    """The non-empty lines of a text: an excerpt's paragraphs and headings each stand alone."""
    return [line.strip() for line in str(text).split("\n") if line.strip()]


def _url(value: Any) -> Raw:
    # one link and nothing else on every platform: markup characters percent-encoded
    return Raw(safe_url(str(value)))


def event_urls(event: Event) -> list[tuple[str, str]]:
    """(field path, URL) of every URL field of ``event``, as errors name them."""
    found = []
    for p, part in enumerate(event.parts):
        for b, block in enumerate(part["blocks"]):
            where = f"parts[{p}].blocks[{b}]"
            if block["type"] in ("video", "background", "quote") and block.get("url") is not None:
                found.append((f"{where}.url", block["url"]))
            for key in ("images", "links"):
                for i, item in enumerate(block.get(key) or ()):
                    if item.get("url") is not None:
                        found.append((f"{where}.{key}[{i}].url", item["url"]))
    return found


def _check_urls(event: Event) -> None:
    """Refuse, naming the field, a URL no format can print as a link (the import refuses
    these too; an event stored before that rule, or built by a plugin, ends here)."""
    for where, url in event_urls(event):
        try:
            safe_url(url)
        except UnsafeURLError as error:
            raise EventRenderError(
                event.id, None, f"{where}: {error}: fix the event and import it again"
            ) from None


def mention_text(member: Member, platform: str | None, fmt: str) -> str:
    """How ``member`` is written in a post for ``platform``: a live mention where they have a
    handle there, their display name otherwise."""
    return str(_mention_filter(platform, fmt)(member))


def _mention_list_filter(platform: str | None, fmt: str):
    """Members as one line, each written by ``mention`` (escaped on its own, so the line as a
    whole is printed as it is)."""
    mention = _mention_filter(platform, fmt)
    finalize = _finalizer(platform_rules(platform), fmt)

    def mention_list(members: list[Member], separator: str = " ") -> Raw:
        return Raw(separator.join(str(finalize(mention(member))) for member in members))

    return mention_list


def _mention_filter(platform: str | None, fmt: str):
    live_mention = platform_rules(platform).mention

    def mention(member: Member) -> Any:
        written = live_mention(member, fmt)
        # a display name is text like any other: only the mention itself is live
        if written is None:
            return neutralise_at(member.name)  # named in text, no ping
        return written if isinstance(written, Markup) else Raw(written)

    return mention


def _newstyle_gettext(language: str, finalize: Any, autoescape: bool) -> Any:
    """Jinja's "new style" ``gettext`` (``{% trans %}`` and ``_()`` call it with the message and
    its variables as keywords), translating into ``language``. Each variable is escaped as
    every printed value is (``finalize``: the platform's ``escape``; HTML's autoescape), then
    the translated phrase, written by the catalog and not by event data, is printed as it is."""
    translations = i18n.translations(language)

    def filled(phrase: str, variables: dict[str, Any]) -> Any:
        values = {name: finalize(value) for name, value in variables.items()}
        if autoescape:
            return Markup(phrase) % values
        return Raw(phrase % values)

    def gettext(__message: str, **variables: Any) -> Any:
        return filled(translations.gettext(__message), variables)

    def ngettext(__singular: str, __plural: str, __count: int, **variables: Any) -> Any:
        variables.setdefault("num", __count)
        return filled(translations.ngettext(__singular, __plural, __count), variables)

    return gettext, ngettext


class ConstantPhrases(jinja2.ext.Extension):
    """``{{ _('Images:') }}``, a phrase with no variables, becomes its translation when the
    template is compiled (an environment has one language) instead of a call on every render.
    The catalog's phrase is printed as it is, as ``gettext`` prints it."""

    def filter_stream(self, stream: jinja2.lexer.TokenStream) -> Any:
        translate = getattr(self.environment, "constant_phrase", None)
        window: list[jinja2.lexer.Token] = []
        shape = ("variable_begin", "name", "lparen", "string", "rparen", "variable_end")
        for token in stream:
            window.append(token)
            if len(window) > len(shape):
                yield window.pop(0)
            if translate is not None and len(window) == len(shape):
                kinds = tuple(t.type for t in window)
                if kinds == shape and window[1].value in ("_", "gettext"):
                    yield jinja2.lexer.Token(window[0].lineno, "data", translate(window[3].value))
                    window.clear()
        yield from window


def install_translations(
    env: jinja2.Environment, language: str, finalize: Any = lambda value: value
) -> None:
    """``{% trans %}``, ``_()``, ``gettext`` and ``ngettext`` of ``env`` in ``language``: the
    environment must have the ``jinja2.ext.i18n`` extension."""
    gettext, ngettext = _newstyle_gettext(language, finalize, bool(env.autoescape))
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext=gettext, _=gettext, ngettext=ngettext)
    translate = i18n.translations(language).gettext
    env.constant_phrase = lambda message: translate(message) % {}  # type: ignore[attr-defined]


class _Environment(jinja2.Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        """``block.url``: the key of a dict first (event data is dicts), without the failed
        attribute lookup Jinja tries before it, which costs an exception per value printed."""
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


@lru_cache(maxsize=32)
def environment(
    fmt: str,
    user_templates: str | None = None,
    platform: str | None = None,
    language: str = DEFAULT_LANGUAGE,
):
    if fmt not in FORMATS:
        raise BotError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}", 2)
    loaders = []
    if user_templates:
        loaders.append(jinja2.FileSystemLoader(user_templates))
    loaders.append(jinja2.FileSystemLoader(str(templates_dir())))
    finalize = _finalizer(platform_rules(platform), fmt)
    env = _Environment(
        extensions=["jinja2.ext.i18n", ConstantPhrases],
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(language),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
        auto_reload=False,
    )
    # the bot's own phrases through the language's catalog (bot.i18n)
    install_translations(env, language, finalize)
    env.filters.update(
        # CLDR's words, not event data: printed as they are ("10. Januar" is no list item)
        date_words=lambda date: Raw(i18n.date_words(date, language)),
        ordinal=lambda number: Raw(i18n.ordinal(number, language)),
        url=_url,
        mention=_mention_filter(platform, fmt),
        mention_list=_mention_list_filter(platform, fmt),
        raw=Raw,
        split_paragraphs=split_lines,
        raw_html=Markup,
    )
    env.globals["format"] = fmt
    env.globals["platform"] = platform
    env.globals["language"] = language
    # a platform that refuses a title it has seen before: a topic_title is followed by the
    # anniversary, which changes every year
    env.globals["unique_titles"] = platform_rules(platform).capabilities.unique_titles
    return env


def _bytecode_cache(language: str = DEFAULT_LANGUAGE):
    """Compiled templates kept between runs: a short command (preview) skips compiling them.
    A folder per language: a compiled template holds its constant phrases translated."""
    from bot.paths import user_cache_dir

    name = "templates" if language == DEFAULT_LANGUAGE else f"templates-{language}"
    folder = user_cache_dir() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def _template_error(error: Exception) -> BotError:
    """Name the template and line where rendering failed."""
    where = ""
    if isinstance(error, jinja2.TemplateSyntaxError):
        where = f"{error.filename or error.name}:{error.lineno}: "
    else:
        tb = sys.exc_info()[2]
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.endswith(".j2"):
                where = f"{filename}:{tb.tb_lineno}: "
            tb = tb.tb_next
    return BotError(f"{where}template error: {error}")


def render_thread(
    event: Event,
    day: dt.date,
    fmt: str = "text",
    directory: MentionDirectory | None = None,
    platform: str | None = None,
    user_templates: str | Path | None = None,
    dedupe_mentions: bool = False,
    rotate_mentions: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> Thread:
    """Render ``event`` as it would be posted on ``day`` (the anniversary's date this year).

    ``dedupe_mentions``: a member named under an earlier part is not named again (the
    reference repeats three members across parts, so the default keeps lists as written).
    ``rotate_mentions``: each list starts at a different member every day, so that over a week
    nobody is always first, or always the one moved to a later post by a platform's cap.
    ``language``: the bot's own words (bot.i18n) and the event's variants in that language.
    """
    env = environment(fmt, str(user_templates) if user_templates else None, platform, language)
    event, fallbacks = in_language(event, language)
    _check_urls(event)
    directory = directory or MentionDirectory()
    years = dates.years_between(event.date.year, day.year) if event.date.year else None
    credited = directory.credited(event.credit) if event.credit else None
    # the member ``credit`` names is mentioned (and told), unless they opted out: then named
    told = credited if credited is not None and not credited.opted_out else None
    context = {
        "event": event,
        "day": day,
        "years": years,
        "years_ago": i18n.years_ago(event.date.year, day.year, language),
        "credited": told,  # None: ``credit`` is printed as text
        "credit": credited.name if credited is not None else event.credit,
    }
    posts: list[Post] = []
    named_before: set[str] = set()
    try:
        post_template = env.get_template(f"{fmt}/post.j2")
        title = env.get_template(f"{fmt}/title.j2").render(context).strip()
        for index, part in enumerate(event.parts):
            blocks, mentioned = _resolve_mentions(
                part["blocks"],
                directory,
                named_before if dedupe_mentions else None,
                day.toordinal() if rotate_mentions else None,
            )
            named_before.update(m.id for m in mentioned)
            thanked = None
            # the member the lead thanks is a mention of it, unless its FYI line names them
            if index == 0 and told is not None and told not in mentioned:
                thanked = told
                mentioned.insert(0, told)
            body = post_template.render(context, part={"number": index + 1, "blocks": blocks})
            posts.append(
                Post(
                    number=index + 1,
                    body=_squeeze_blank_lines(body),
                    title=title if index == 0 else None,
                    mentions=mentioned,
                    part=index + 1,
                    images=[
                        image
                        for block in part["blocks"]
                        if block["type"] == "images"
                        for image in block["images"]
                    ],
                    source_url=next(
                        (
                            safe_url(b["url"])
                            for b in part["blocks"]
                            if b["type"] in ("background", "quote") and b.get("url")
                        ),
                        None,
                    ),
                    thanked=thanked,
                )
            )
    except jinja2.TemplateError as error:
        raise _template_error(error) from None
    warnings = []
    if fallbacks:
        default = next(iter(_first_variants(event)), "its default")
        warnings.append(
            f"no {language} variant of {', '.join(fallbacks)}: the event's default "
            f"({default}) is used; add a {language}: entry to have it in {language}"
        )
    return Thread(event.id, event.date, day, fmt, posts, warnings, language=language)


def _first_variants(event: Event) -> list[str]:
    """The language of the event's defaults (the first variant written), where it says."""
    for texts in event.variants.values():
        return list(texts)[:1]
    for part in event.parts:
        for block in part["blocks"]:
            if "variants" in block:
                return list(block["variants"])[:1]
    return []


def _squeeze_blank_lines(body: str) -> str:
    # str.replace, not a regex: it runs on every post, some of them 75,000 characters long
    while "\n\n\n" in body:  # the bundled templates never make one: user templates may
        body = body.replace("\n\n\n", "\n\n")
    return body.strip()


def _resolve_mentions(
    blocks: list[dict[str, Any]],
    directory: MentionDirectory,
    named_before: set[str] | None = None,
    rotation: int | None = None,
) -> tuple[list[dict[str, Any]], list[Member]]:
    resolved: list[dict[str, Any]] = []
    mentioned: list[Member] = []
    for block in map(with_options, blocks):
        if block["type"] == "mentions":
            members = directory.expand(block["lists"], block["members"])
            if named_before:
                members = [m for m in members if m.id not in named_before]
            if rotation is not None and members:
                shift = rotation % len(members)
                members = members[shift:] + members[:shift]
            seen = {m.id for m in mentioned}
            mentioned.extend(m for m in members if m.id not in seen)
            block = {**block, "type": "mentions", "members": members}
        resolved.append(block)
    return resolved, mentioned
