"""Fit a rendered thread to a platform: one mechanism for all, driven by capabilities.

- Mentions over the per-post cap are spread: the first ``max_mentions`` stay in the part's FYI
  line, the rest follow in "(continued)" posts right after it. None is dropped.
- A post over the length limit is split at paragraph, then line, then sentence, then clause
  (a comma, semicolon or colon), then word boundaries into "(continued)" posts (never
  mid-word, never mid-URL), or, with ``excerpt: truncate``, cut at a sentence with "Read more:
  URL", keeping the FYI line and the source attribution, which stand outside the cut. A
  sentence does not end after an abbreviation, an initial or a list item's number.
- A thread longer than ``max_posts`` with ``excerpt: split`` is fitted with ``truncate``.
- Members named without a handle on the platform are named, not notified: a warning says who.
- Length is counted as the platform counts: the adapter's ``length`` rule (Mastodon: every
  URL as ``url_length``, a mention by its local part).
- Titles are brought within ``title_length``; a post under ``min_length`` is lengthened with
  its place in the thread; a thread with more replies in a row than the platform allows one
  user is flagged.
- The words fitting adds ("(continued)", "Read more", the FYI line it looks for) are in the
  thread's language (``bot.i18n``), and sentences end as that language writes them: its
  abbreviations ("M.", "z. B.", "т. е.", "Sr."), initials in any script, and in German a day's
  or century's number with its full stop ("am 10. Januar").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config.channel import Channel

import re
from collections.abc import Callable, Iterator
from dataclasses import replace

from bot.i18n import N_, phrase
from bot.model import Member
from bot.posters.base import Capabilities
from bot.threads.render import Post, Thread, mention_text

CONTINUED = N_("(continued)")
FYI = N_("FYI")
READ_MORE = N_("Read more: %(url)s")
PART_OF_THREAD = N_("(part %(number)s of %(total)s of this thread)")
TITLE_LENGTHENED = N_("%(title)s — this day in history")
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»“)\]]*\s+")
CLAUSE_END = re.compile(r"(?<=[,;:])[ \t]+")
# a full stop that ends a word, not a sentence: initials and initialisms ("H.", "U.S.", "e.g.")
INITIALS = re.compile(r"(?:[^\W\d_]\.)+")  # letters of any script: "Л. Д. Троцкий"
# a list item's number ("1.") at the start of its line
LIST_MARKER = re.compile(r"\d+\.")
# abbreviations a sentence goes on after, lower case, without their full stop
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "ft", "sgt", "lt", "gen", "col", "capt", "maj",
    "cpl", "pvt", "adm", "cmdr", "rev", "jr", "sr", "sen", "rep", "gov", "pres", "no", "nos",
    "vol", "vols", "pp", "vs", "approx", "ca", "fig",
})  # fmt: skip
# the same, per language (a one-letter one, "M.", "z. B.", "т. е.", is an initial already)
LANGUAGE_ABBREVIATIONS = {
    "fr": frozenset({
        "mm", "mme", "mmes", "mlle", "mlles", "mgr", "me", "dr", "pr", "st", "ste", "av", "apr",
        "bd", "cf", "env", "ex", "éd", "hab", "vol", "no", "nos", "p", "chap", "fig", "réf",
    }),
    "de": frozenset({
        "bzw", "ca", "dr", "evtl", "ggf", "hl", "inkl", "jh", "jhd", "nr", "prof", "sog", "st",
        "str", "vgl", "zb", "geb", "gest", "bd", "abs", "bspw", "chr", "hrsg", "mio", "mrd",
    }),
    "es": frozenset({
        "sr", "sra", "srta", "sres", "dr", "dra", "ud", "uds", "dña", "pág", "págs", "núm",
        "av", "avda", "gral", "lic", "ing", "sto", "sta", "aprox", "vol", "cap", "fig",
    }),
    "ru": frozenset({
        "гг", "вв", "им", "ул", "см", "напр", "тыс", "млн", "млрд", "руб", "стр", "проф",
        "акад", "св", "ок", "гл", "рис", "пер", "ср", "обл", "кн",
    }),
}  # fmt: skip
# a day's or a century's number with its full stop: German ordinals ("am 10. Januar"); a year
# (three digits or more) at the end of a sentence still ends it
ORDINAL_NUMBER = {"de": re.compile(r"\d{1,2}\.")}


def fit_thread(
    thread: Thread,
    caps: Capabilities,
    platform: str | None,
    mention_text: Callable[[Member], str],
    excerpt: str = "split",
    max_consecutive_replies: int | None = None,
    length: Callable[[str], int] = len,
    max_posts: int | None = None,
) -> Thread:
    """``length``: characters as the platform counts them (its adapter's ``length`` rule).
    ``max_posts``: a thread that ``excerpt: split`` makes longer is fitted with ``truncate``
    instead, with a warning that says so (a thread still longer goes out whole, warned)."""
    mention_text = _written_once(mention_text)
    fitted = _fit(thread, caps, platform, mention_text, excerpt, max_consecutive_replies, length)
    if max_posts is None or len(fitted.posts) <= max_posts:
        return fitted
    note = f"over max_posts_per_thread ({max_posts})"
    if excerpt == "split":
        split_count = len(fitted.posts)
        fitted = _fit(
            thread, caps, platform, mention_text, "truncate", max_consecutive_replies, length
        )
        note = (
            f"shortened with excerpt: truncate to {len(fitted.posts)} posts: excerpt: split "
            f"would make {split_count}, {note}; raise max_posts_per_thread in the destination's "
            "config to allow more"
        )
        if len(fitted.posts) > max_posts:
            note += f", and still {len(fitted.posts) - max_posts} over it: it goes out whole"
    else:
        note = f"{len(fitted.posts)} posts, {note}: it goes out whole"
    return replace(fitted, warnings=[note, *fitted.warnings])


def _fit(
    thread: Thread,
    caps: Capabilities,
    platform: str | None,
    mention_text: Callable[[Member], str],
    excerpt: str,
    max_consecutive_replies: int | None,
    length: Callable[[str], int],
) -> Thread:
    warnings = list(thread.warnings)
    language = thread.language
    posts: list[Post] = []
    for post in thread.posts:
        for spread in _spread_mentions(post, caps, platform, mention_text, warnings, language):
            if caps.max_length and length(spread.body) > caps.max_length:
                if excerpt == "truncate" and not spread.continued:
                    cut = _truncate(spread, caps.max_length, length, warnings, language)
                    # an FYI line longer than a whole post still has to go out: continue it
                    if length(cut.body) > caps.max_length:
                        posts.extend(_split(cut, caps.max_length, length, warnings, language))
                    else:
                        posts.append(cut)
                else:
                    posts.extend(_split(spread, caps.max_length, length, warnings, language))
            else:
                posts.append(spread)
    posts = [replace(post, number=index) for index, post in enumerate(posts, 1)]
    if caps.min_length:
        posts = [_lengthen(post, len(posts), caps.min_length, length, language) for post in posts]
    if caps.title_length and posts and posts[0].title is not None:
        title = _fit_title(posts[0].title, caps.title_length, warnings, language)
        posts[0] = replace(posts[0], title=title)
    if max_consecutive_replies is not None and len(posts) - 1 > max_consecutive_replies:
        warnings.append(
            f"{len(posts) - 1} replies in a row: fine in the bot's own topic (a topic's author "
            f"is exempt), but a forum older than Discourse 2.2 stops a non-staff user after "
            f"{max_consecutive_replies} posts in a row"
        )
    if platform:
        named = {m.id: m for post in thread.posts for m in post.mentions}
        silent = unnotified(list(named.values()), platform)
        if silent:
            warnings.append(unnotified_note(silent, platform))
    if not caps.replies and len(posts) > 1:
        warnings.append(
            f"this destination cannot reply: {len(posts)} posts go out one after another"
        )
    return replace(thread, posts=posts, warnings=warnings)


# --- mentions -----------------------------------------------------------------------------


def _written_once(mention_text: Callable[[Member], str]) -> Callable[[Member], str]:
    """``mention_text`` that writes each member once: a list of 10,000 members is written for
    the FYI line it replaces, for the posts it spreads into, and again when the thread is
    fitted a second time (``excerpt: truncate``)."""
    # by identity: members equal in id and name may differ in handles (which equality leaves
    # out); the member is kept beside its text so that its id() is not reused
    written: dict[int, tuple[Member, str]] = {}

    def once(member: Member) -> str:
        known = written.get(id(member))
        if known is None:
            known = written[id(member)] = (member, mention_text(member))
        return known[1]

    return once


def _pinging(post: Post, platform: str | None) -> list[Member]:
    return [m for m in post.mentions if m.handle(platform)]


def unnotified(members: list[Member], platform: str) -> list[Member]:
    """The members named on ``platform`` without being notified: they have no handle there."""
    return [m for m in members if not m.handle(platform)]


def unnotified_note(members: list[Member], platform: str) -> str:
    """What a person reads about them: who, and why."""
    names = ", ".join(m.name for m in members)
    count = f"{len(members)} member{'s' if len(members) != 1 else ''}"
    return f"{count} named, not notified (no {platform} handle): {names}"


def _spread_mentions(post, caps, platform, mention_text, warnings, language=None) -> list[Post]:
    pinging = _pinging(post, platform)
    cap = caps.max_mentions
    if cap is None or len(pinging) <= cap:
        return [post]
    # the member the lead thanks stays where they are thanked: the FYI line makes room
    listed = [m for m in post.mentions if m != post.thanked]
    room = cap - (1 if post.thanked is not None and post.thanked in pinging else 0)
    overflow = [m for m in pinging if m != post.thanked][room:]
    waiting = {member.id for member in overflow}  # a set: a list of 10,000 is tested per member
    kept = [m for m in post.mentions if m.id not in waiting]
    fyi = phrase(language, FYI) + " "
    old_line = fyi + " ".join(mention_text(m) for m in listed)
    new_line = fyi + " ".join(mention_text(m) for m in kept if m != post.thanked)
    if old_line not in post.body:
        warnings.append(
            f"post {post.number}: {len(pinging)} mentions, over the cap of {cap}, and its FYI "
            "line is not the default one, so they cannot be spread: the platform may refuse it"
        )
        return [post]
    first = replace(post, body=post.body.replace(old_line, new_line), mentions=kept)
    out = [first]
    for start in range(0, len(overflow), cap):
        group = overflow[start : start + cap]
        body = f"{phrase(language, CONTINUED)}\n{fyi}" + " ".join(mention_text(m) for m in group)
        out.append(Post(0, body, None, group, post.part, True))
    warnings.append(
        f"post {post.number}: {len(overflow)} of {len(pinging)} mentions wait for "
        f"{len(out) - 1} later post(s) (at most {cap} per post)"
    )
    return out


# --- length -------------------------------------------------------------------------------


def _pieces(text: str, level: int, language: str | None = None) -> tuple[list[str], str]:
    """Split ``text`` at the ``level``-th kind of boundary, with the joiner that restores it."""
    if level == 0:
        return text.split("\n\n"), "\n\n"
    if level == 1:
        return text.split("\n"), "\n"
    if level == 2:
        parts, last = [], 0
        for match in sentence_ends(text, language):
            parts.append(text[last : match.start()] + text[match.start() : match.end()].rstrip())
            last = match.end()
        parts.append(text[last:])
        return [p for p in parts if p], " "
    if level == 3:  # a sentence longer than a post: at its commas, semicolons and colons
        parts = [p for p in CLAUSE_END.split(text) if p]
        return parts, " "
    return text.split(" "), " "


def sentence_ends(text: str, language: str | None = None) -> Iterator[re.Match[str]]:
    """Where sentences end in ``text``: the space after a full stop (with its closing quotes and
    brackets), except after an abbreviation (of English, and of ``language``), an initial or a
    list item's number."""
    code = (language or "en").replace("_", "-").split("-")[0].lower()
    abbreviations = LANGUAGE_ABBREVIATIONS.get(code, frozenset())
    ordinal_number = ORDINAL_NUMBER.get(code)
    for match in SENTENCE_END.finditer(text):
        if text[match.start() - 1] != ".":
            yield match
            continue
        start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
        word = text[start : match.start()].lstrip("([{\"'“‘")
        stem = word[:-1].lower()
        if INITIALS.fullmatch(word) or stem in ABBREVIATIONS or stem in abbreviations:
            continue
        if ordinal_number is not None and ordinal_number.fullmatch(word):
            continue
        if LIST_MARKER.fullmatch(word) and (start == 0 or text[start - 1] == "\n"):
            continue
        yield match


def split_text(
    text: str,
    limit: int,
    count: Callable[[str], int],
    level: int = 0,
    language: str | None = None,
) -> list[str]:
    """Greedy chunks of at most ``limit`` (as ``count`` measures), cut at the coarsest
    boundary that works; a single word longer than the limit is the only thing ever cut."""
    if count(text) <= limit:
        return [text]
    if level > 4:
        # one "word" longer than a whole post (a giant URL): nothing better than a hard cut
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    pieces, joiner = _pieces(text, level, language)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = piece if not current else current + joiner + piece
        if count(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        if count(piece) <= limit:
            current = piece
        else:
            sub = split_text(piece, limit, count, level + 1, language)
            chunks.extend(sub[:-1])
            current = sub[-1]
    if current:
        chunks.append(current)
    return chunks


def _split(
    post: Post,
    limit: int,
    count: Callable[[str], int],
    warnings: list[str],
    language: str | None = None,
) -> list[Post]:
    prefix = phrase(language, CONTINUED) + "\n"
    # what the prefix adds (a counter may strip a lone trailing newline, so measure it in use)
    prefix_cost = count(prefix + "x") - count("x")
    chunks = split_text(post.body, limit - prefix_cost, count, language=language)
    out: list[Post] = []
    for index, chunk in enumerate(chunks):
        mentions = [m for m in post.mentions if _named_in(m, chunk)] if post.mentions else []
        body = chunk if index == 0 else prefix + chunk  # a continued post has its prefix
        out.append(
            replace(
                post,
                body=body,
                title=post.title if index == 0 else None,
                mentions=mentions if len(chunks) > 1 else post.mentions,
                continued=post.continued or index > 0,
                images=post.images if index == 0 else [],
            )
        )
    warnings.append(
        f"post {post.number} ({count(post.body):,} characters) split into {len(out)} posts "
        f"of at most {limit:,}"
    )
    return out


def _named_in(member: Member, text: str) -> bool:
    return any(h and h in text for h in member.handles.values()) or member.name in text


def _truncate(
    post: Post,
    limit: int,
    count: Callable[[str], int],
    warnings: list[str],
    language: str | None = None,
) -> Post:
    """Cut at a sentence, keep the FYI line, end with "Read more: URL"."""
    paragraphs = post.body.split("\n\n")
    fyi_start = phrase(language, FYI) + " "
    fyi = [p for p in paragraphs if p.startswith(fyi_start)]
    text = "\n\n".join(p for p in paragraphs if not p.startswith(fyi_start))
    read_more = phrase(language, READ_MORE, url=post.source_url) if post.source_url else ""
    tail = "\n\n".join(x for x in ([read_more] + fyi[-1:]) if x)
    budget = limit - count(tail) - 2
    kept = _cut_at_sentence(text, max(budget, limit // 4), count, language)
    body = kept + ("\n\n" + tail if tail else "")
    warnings.append(
        f"post {post.number} cut from {count(post.body):,} to {count(body):,} characters"
        + (f", ending with a link to {post.source_url}" if post.source_url else "")
    )
    return replace(post, body=body)


def _cut_at_sentence(
    text: str, budget: int, count: Callable[[str], int], language: str | None = None
) -> str:
    if count(text) <= budget:
        return text
    best = ""
    for match in sentence_ends(text, language):
        candidate = text[: match.start()] + text[match.start() : match.end()].rstrip()
        if count(candidate) > budget:
            break
        best = candidate
    if not best:  # no sentence fits: cut at a word, never inside one or inside a URL
        head = text[: budget * 2]
        words = head.split(" ")
        if len(head) < len(text) and not text[len(head)].isspace():
            words.pop()  # the slice ends inside a word or a URL: never keep part of one
        while words and count(" ".join(words) + " …") > budget:
            words.pop()
        best = " ".join(words) + " …"
    return best.rstrip()


# --- titles and short posts ---------------------------------------------------------------


def _fit_title(
    title: str, bounds: tuple[int, int], warnings: list[str], language: str | None = None
) -> str:
    low, high = bounds
    if len(title) < low:
        fitted = phrase(language, TITLE_LENGTHENED, title=title)
        warnings.append(f"title under {low} characters: lengthened to {fitted!r}")
        return fitted
    if len(title) > high:
        # imported here: its patterns are compiled at import, and most titles fit (start-up)
        from bot.content.wording import headline

        fitted = headline(title, high)  # where a clause or phrase ends, never mid-phrase
        warnings.append(f"title over {high} characters: cut to {len(fitted)}")
        return fitted
    return title


def _lengthen(
    post: Post,
    total: int,
    min_length: int,
    count: Callable[[str], int],
    language: str | None = None,
) -> Post:
    if count(post.body) >= min_length:
        return post
    place = phrase(language, PART_OF_THREAD, number=post.number, total=total)
    return replace(post, body=f"{post.body}\n\n{place}")


def fit_for(thread: Thread, channel: Channel) -> Thread:
    """Fit ``thread`` for the channel's destination as its adapter (an instance or the class)
    sees it: its capabilities, its limits and its rules for mentions and length."""
    poster = channel.poster
    platform = poster.platform
    max_posts = channel.destination.max_posts_per_thread or poster.max_posts_per_thread
    return fit_thread(
        thread,
        poster.capabilities,
        platform,
        lambda member: mention_text(member, platform, thread.format),
        excerpt=channel.destination.excerpt,
        max_consecutive_replies=poster.max_consecutive_replies,
        length=poster.length,
        max_posts=max_posts,
    )
