"""The HTML preview: static pages that look like the threads, and a calendar of the days.

``write_site`` writes ``index.html`` (a calendar of the days, each coloured by its state: ready,
needs approval, warning, nothing to post) and ``YYYY-MM-DD.html`` per day: for each destination,
its threads as a forum shows them (author line, the lead post with its title, the replies, video
links as video cards, image captions as a gallery, the background excerpt with its source, FYI
mention chips), each post with its length counted as the platform counts it against the
destination's limit, and its warnings.

What a page shows is what the destination would be sent (``bot.publishing.daily.day_plan``, drafts
applied). A post is drawn from the event's structure (the ``html/*.j2`` block templates) when
its text is exactly the event rendered now and not split; a post a person edited, a
"(continued)" post and a draft made from an older version of the event are drawn from the
text that would be sent.

Safety: every value is autoescaped; event text reaches a page only through the ``html`` block
templates (autoescaped too) or as escaped text. The pages load nothing: no fonts, scripts or
images from anywhere (a gallery shows captions on placeholders), so they work offline.
"""

from __future__ import annotations

import calendar
import datetime as dt
import html
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from bot.config.channel import Channel
from bot.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    day_in_words,
    gettext_for,
    month_in_words,
    phrase,
    weekday_abbreviations,
)
from bot.neutralise import unescape_markdown
from bot.threads.fitting import FYI
from bot.threads.render import Thread

if TYPE_CHECKING:
    from bot.config import Config, Destination
    from bot.drafts import Draft
    from bot.model import Event, Member
    from bot.posters.base import Poster
    from bot.store import Store

READY, APPROVAL, WARNING, SKIPPED, NOTHING = "ready", "approval", "warning", "skipped", "nothing"
STATE_LABELS = {
    READY: N_("ready"),
    APPROVAL: N_("needs approval"),
    WARNING: N_("warning"),
    SKIPPED: N_("skipped"),
    NOTHING: N_("nothing to post"),
}
_URL_LINE = re.compile(r"https?://\S+")
# a URL in running text, without the sentence punctuation after it
_URL_IN_TEXT = re.compile(r"https?://\S+?(?=[.,;:!?'\")\]]*(?:\s|$))")
_POST_WARNING = re.compile(r"^post (\d+)\b")
# [text](URL), the URL with balanced parentheses ("..._(film)")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((https?://(?:[^()\s]|\([^()\s]*\))+)\)")
_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=8)
def site_environment(
    user_templates: str | None = None, language: str = DEFAULT_LANGUAGE
) -> jinja2.Environment:
    """The preview's own environment: autoescaped, strict, the bundled templates (and a
    user's templates folder first, as for rendering); its labels in ``language``."""
    from bot.paths import templates_dir
    from bot.threads.render import install_translations

    loaders = [jinja2.FileSystemLoader(user_templates)] if user_templates else []
    loaders.append(jinja2.FileSystemLoader(str(templates_dir())))
    env = jinja2.Environment(
        extensions=["jinja2.ext.i18n"],
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_translations(env, language)
    env.globals["language"] = language
    env.filters["number"] = lambda value: f"{value:,}"
    env.filters["raw_html"] = Markup
    for width in ("full", "long", "medium"):
        env.filters[f"{width}_day"] = partial(day_in_words, language=language, width=width)
    return env


def site_language(config: Config) -> str:
    """The preview site's language: the config's top-level one."""
    return config.language or DEFAULT_LANGUAGE


def _labels(language: str) -> dict[str, str]:
    translate = gettext_for(language)
    return {state: translate(label) for state, label in STATE_LABELS.items()}


# --- what a page shows ---------------------------------------------------------------------------


@dataclass
class Line:
    """One line of a post drawn from its text: p, quote, video, link, fyi."""

    kind: str
    text: str
    names: list[str] = field(default_factory=list)
    # the line as (text, link) pieces: its Markdown links and URLs stay links (link None: text)
    parts: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class PostView:
    number: int
    title: str | None
    length: int
    limit: int | None
    html: Markup | None = None  # drawn from the event's structure
    lines: list[Line] = field(default_factory=list)  # else from the text that is sent
    continued: bool = False
    edited: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return bool(self.limit and self.length > self.limit)

    @property
    def share(self) -> int:
        """How full the post is, in percent of the limit (capped at 100 for the bar)."""
        return min(100, round(100 * self.length / self.limit)) if self.limit else 0


@dataclass
class ThreadView:
    event_id: str
    title: str
    status: str  # ready, approved, approval, stale, edited, skipped
    note: str
    posts: list[PostView]
    warnings: list[str]
    draft_id: int | None = None
    title_edited: bool = False

    @property
    def state(self) -> str:
        if self.status in ("approval", "stale", "edited"):
            return APPROVAL
        if self.status == "skipped":
            return SKIPPED
        if self.warnings or any(p.warnings for p in self.posts):
            return WARNING
        return READY


@dataclass
class DestinationDay:
    name: str
    type: str
    format: str
    author: str
    limit: int | None
    threads: list[ThreadView]
    require_approval: bool
    titles: bool = True  # the platform shows a thread's title

    @property
    def state(self) -> str:
        return combined_state([t.state for t in self.threads])


@dataclass
class DayView:
    day: dt.date
    destinations: list[DestinationDay]

    @property
    def state(self) -> str:
        return combined_state([d.state for d in self.destinations])

    @property
    def page(self) -> str:
        return f"{self.day.isoformat()}.html"

    @property
    def summary(self) -> str:
        titles = [
            t.title + (f" ({t.note})" if t.status == "skipped" and t.note else "")
            for d in self.destinations
            for t in d.threads
        ]
        return " · ".join(dict.fromkeys(titles)) or "nothing to post"

    @property
    def events(self) -> list[str]:
        """The day's events (one each, whichever destinations post them)."""
        return list(dict.fromkeys(t.event_id for d in self.destinations for t in d.threads))

    @property
    def short(self) -> str:
        """The first thread's title, cut at a word for a calendar cell."""
        titles = [t.title for d in self.destinations for t in d.threads]
        if not titles:
            return ""
        title = titles[0].split(": ", 1)[-1]
        return title if len(title) <= 48 else title[:47].rsplit(" ", 1)[0] + "…"


def combined_state(states: list[str]) -> str:
    for state in (APPROVAL, WARNING, READY, SKIPPED):
        if state in states:
            return state
    return NOTHING


class Builder:
    """Builds the views of a store's days, caching what several days share."""

    def __init__(self, store: Store, config: Config) -> None:
        from bot.events.directory import MentionDirectory

        self.store = store
        self.config = config
        self.directory = MentionDirectory.from_store(store, config.lists)
        self._videos: dict[str, frozenset[str]] = {}
        self._events: dict[str, Event | None] = {}

    def day(self, destinations: Iterable[Destination], day: dt.date) -> DayView:
        return DayView(day, [self.destination_day(d, day) for d in destinations])

    def destination_day(self, destination: Destination, day: dt.date) -> DestinationDay:
        from bot.drafts import adapter

        with adapter(destination) as poster:
            return self._destination_day(destination, day, poster)

    def _destination_day(
        self, destination: Destination, day: dt.date, poster: Poster
    ) -> DestinationDay:
        from bot.publishing.daily import day_plan

        plan = day_plan(self.store, Channel(self.config, destination, poster), day)
        fresh = {t.event_id: t for t in plan.fresh}
        drafts = plan.drafts
        views = []
        for thread in plan.threads:
            draft = drafts.get(thread.event_id)
            approved = draft if draft is not None and draft.state == "approved" else None
            status = "approved" if approved is not None else "ready"
            note = f"approved (draft {approved.id})" if approved is not None else ""
            views.append(
                self.thread_view(thread, destination, poster, fresh, approved, status, note)
            )
        for held in plan.held:
            if held.thread is None:
                continue
            draft = drafts.get(held.event_id)
            views.append(
                self.thread_view(held.thread, destination, poster, fresh, draft, held.kind,
                                 held.reason)
            )  # fmt: skip
        author = poster.author(destination.settings)
        return DestinationDay(
            destination.name, destination.type, destination.format, author,
            poster.capabilities.max_length, views, destination.require_approval,
            poster.capabilities.titles,
        )  # fmt: skip

    def html_parts(self, event_id: str, destination: Destination, day: dt.date) -> list[str] | None:
        """The event's parts drawn by the ``html`` block templates (names in the FYI chips)."""
        from bot.threads.render import render_thread

        event = self._event(event_id)
        if event is None:
            return None
        thread = render_thread(
            event, day, "html", self.directory, None, self.config.templates,
            destination.dedupe_mentions, destination.rotate_mentions,
            destination.language or self.config.language or "en",
        )  # fmt: skip
        return [post.body for post in thread.posts]

    def thread_view(
        self,
        thread: Thread,
        destination: Destination,
        poster: Poster,
        fresh: dict[str, Thread],
        draft: Draft | None,
        status: str,
        note: str,
    ) -> ThreadView:
        caps = poster.capabilities
        edited = set(draft.edited_posts) if draft is not None else set()
        current = fresh.get(thread.event_id)
        parts = self.html_parts(thread.event_id, destination, thread.day)
        per_part: dict[int, int] = {}
        for post in thread.posts:
            per_part[post.part] = per_part.get(post.part, 0) + 1
        thread_warnings: list[str] = []
        post_warnings: dict[int, list[str]] = {}
        for warning in thread.warnings:
            match = _POST_WARNING.match(warning)
            if match:
                post_warnings.setdefault(int(match.group(1)), []).append(warning)
            elif warning.startswith("title "):
                post_warnings.setdefault(1, []).append(warning)
            else:
                thread_warnings.append(warning)
        video_urls = self._video_urls(thread.event_id)
        posts = []
        for post in thread.posts:
            same = (
                current is not None
                and post.number <= len(current.posts)
                and current.posts[post.number - 1].body == post.body
            )
            structured = (
                parts is not None
                and post.number not in edited
                and not post.continued
                and per_part[post.part] == 1
                and same
                and post.part <= len(parts)
            )
            length = poster.length(post.body)
            view = PostView(
                number=post.number,
                title=post.title,
                length=length,
                limit=caps.max_length,
                continued=post.continued,
                edited=post.number in edited,
                warnings=[] if post.continued else list(post_warnings.get(post.part, [])),
            )
            if view.over:
                view.warnings.append(
                    f"{length:,} characters: over {destination.name}'s limit of "
                    f"{caps.max_length:,}; the platform will refuse it"
                )
            if structured and parts is not None:
                view.html = Markup(parts[post.part - 1])
            else:
                fyi = phrase(thread.language, FYI) + " "
                view.lines = text_lines(post.body, thread.format, video_urls, post.mentions, fyi)
            posts.append(view)
        title = thread.posts[0].title if thread.posts and thread.posts[0].title else thread.event_id
        return ThreadView(
            thread.event_id, title, status, note, posts, thread_warnings,
            draft.id if draft is not None else None,
            draft is not None and "title" in draft.overrides,
        )  # fmt: skip

    def _video_urls(self, event_id: str) -> frozenset[str]:
        if event_id not in self._videos:
            event = self._event(event_id)
            parts = event.parts if event is not None else []
            # as the post prints them: through the URL sanitiser
            self._videos[event_id] = frozenset(
                _printed_url(block["url"])
                for part in parts
                for block in part["blocks"]
                if block["type"] == "video" and block.get("url")
            )
        return self._videos[event_id]

    def _event(self, event_id: str) -> Event | None:
        """The stored event, read once for the page's parts and its videos; None when it is
        no longer stored."""
        from bot.errors import InputError

        if event_id not in self._events:
            try:
                self._events[event_id] = self.store.get_event(event_id)
            except InputError:
                self._events[event_id] = None
        return self._events[event_id]


def _printed_url(url: Any) -> str:
    from bot.urls import UnsafeURLError, safe_url

    try:
        return safe_url(str(url))
    except UnsafeURLError:
        return str(url)


def text_lines(
    body: str,
    fmt: str,
    video_urls: Collection[str] = frozenset(),
    mentions: Sequence[Member] = (),
    fyi: str = "FYI ",
) -> list[Line]:
    """A post's text as a forum would show it, line by line: a URL alone on its line becomes
    a card (a video card for the event's videos), the FYI line mention chips."""
    lines = []
    names = [m.name for m in mentions]
    for raw in body.split("\n"):
        line = raw.strip()
        kind = "p"
        if fmt == "html":
            line = html.unescape(_TAG.sub("", line)).strip()
        elif fmt == "markdown" and line.startswith(">"):
            kind, line = "quote", line.lstrip(">").strip()
        parts = _line_parts(line, fmt)
        line = "".join(text for text, _ in parts).strip()
        if not line:
            continue
        if _URL_LINE.fullmatch(line):
            kind = "video" if line in video_urls else "link"
        elif line.startswith(fyi) and names:
            lines.append(Line("fyi", line, names))
            continue
        lines.append(Line(kind, line, parts=parts))
    return lines


def _line_parts(line: str, fmt: str) -> list[tuple[str, str | None]]:
    """A line as a reader sees it, in (text, link) pieces: Markdown's links and escapes read,
    and each URL a link (through the URL sanitiser, as every printed URL)."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    if fmt == "markdown":
        for match in _MARKDOWN_LINK.finditer(line):
            parts += _text_parts(_markdown_text(line[position : match.start()]))
            parts.append((_markdown_text(match.group(1)), _link(match.group(2))))
            position = match.end()
        return parts + _text_parts(_markdown_text(line[position:]))
    return _text_parts(line)


def _markdown_text(text: str) -> str:
    return unescape_markdown(text.replace("**", ""))


def _text_parts(text: str) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(text):
        parts.append((text[position : match.start()], None))
        parts.append((match.group(0), _link(match.group(0))))
        position = match.end()
    parts.append((text[position:], None))
    return [part for part in parts if part[0]]


def _link(url: str) -> str | None:
    from bot.urls import UnsafeURLError, safe_url

    try:
        return safe_url(url)
    except UnsafeURLError:
        return None


# --- pages ---------------------------------------------------------------------------------------


def render_day(config: Config, view: DayView, previous: str | None = None, following: str | None = None,
               index: str | None = "index.html") -> str:  # fmt: skip
    language = site_language(config)
    env = site_environment(str(config.templates) if config.templates else None, language)
    return env.get_template("html/day.j2").render(
        view=view, previous=previous, following=following, index=index, labels=_labels(language)
    )


def month_grids(views: list[DayView], language: str = DEFAULT_LANGUAGE) -> list[dict[str, Any]]:
    """The days by month, as calendar weeks (Monday first); ``None`` where a week has no day
    of the range."""
    by_day = {v.day: v for v in views}
    months: list[dict[str, Any]] = []
    for year, month in dict.fromkeys((v.day.year, v.day.month) for v in views):
        weeks = []
        # day numbers, 0 outside the month: monthdatescalendar would build dates of the
        # neighbouring months, which do not exist around 0001-01 and 9999-12
        for week in calendar.Calendar(firstweekday=0).monthdayscalendar(year, month):
            weeks.append([by_day.get(dt.date(year, month, d)) if d else None for d in week])
        weeks = [w for w in weeks if any(w)]
        months.append({"name": month_in_words(year, month, language), "weeks": weeks})
    return months


def render_index(
    config: Config,
    views: list[DayView],
    destinations: Iterable[Destination],
    today: dt.date | None = None,
) -> str:
    language = site_language(config)
    env = site_environment(str(config.templates) if config.templates else None, language)
    counts = {state: sum(v.state == state for v in views) for state in STATE_LABELS}
    return env.get_template("html/index.j2").render(
        months=month_grids(views, language),
        days=views,
        destinations=[d.name for d in destinations],
        labels=_labels(language),
        counts=counts,
        weekdays=weekday_abbreviations(language),
        first=views[0].day if views else None,
        last=views[-1].day if views else None,
    )


def write_site(
    store: Store,
    config: Config,
    destinations: Sequence[Destination],
    start: dt.date,
    count: int,
    out: Path,
) -> Path:
    """Write ``count`` day pages from ``start`` and ``index.html`` into ``out``; returns the
    index's path. Each file is written whole (to a temporary name, then renamed), without
    waiting for the disk (``write_atomically``)."""
    from bot.posters.outbox import write_atomically

    out.mkdir(parents=True, exist_ok=True)
    builder = Builder(store, config)
    views = [builder.day(destinations, start + dt.timedelta(days=n)) for n in range(count)]
    for position, view in enumerate(views):
        previous = views[position - 1].page if position else None
        following = views[position + 1].page if position + 1 < len(views) else None
        page = render_day(config, view, previous, following)
        write_atomically(out / view.page, page, durable=False)  # a preview: written again at will
    index = out / "index.html"
    write_atomically(index, render_index(config, views, destinations), durable=False)
    return index


def draft_page(store: Store, config: Config, draft: Draft) -> str:
    """One draft as a page, as it would be sent (edits included), whatever its state."""
    from bot.drafts import adapter
    from bot.publishing.daily import day_threads

    destination = config.destination(draft.destination)
    builder = Builder(store, config)
    status = {"draft": "approval"}.get(draft.state, draft.state)
    note = f"draft {draft.id}: {draft.label}" + (f": {draft.reason}" if draft.reason else "")
    with adapter(destination) as poster:
        channel = Channel(config, destination, poster)
        threads = day_threads(store, channel, draft.day, drafts=False)
        fresh = {t.event_id: t for t in threads}
        thread = builder.thread_view(
            draft.thread(), destination, poster, fresh, draft, status, note
        )
    author = poster.author(destination.settings)
    view = DayView(
        draft.day,
        [
            DestinationDay(
                destination.name, destination.type, destination.format, author,
                poster.capabilities.max_length, [thread], destination.require_approval,
                poster.capabilities.titles,
            )
        ],
    )  # fmt: skip
    return render_day(config, view, index=None)


def format_preview_html(threads: list[Thread], destination: str) -> str:
    """``preview --format html`` without a folder: the threads (rendered in the ``html``
    format) on one page."""
    from bot.threads.render import environment

    language = threads[0].language if threads else DEFAULT_LANGUAGE
    page = environment("html", language=language).get_template("html/page.j2")
    return page.render(threads=threads, destination=destination)
