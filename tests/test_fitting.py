"""Fitting one thread to different platforms: split, truncate, count, spread mentions."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.app import threads_for_day
from bot.events.mentions import Member
from bot.posters import platform_rules
from bot.posters.base import Capabilities
from bot.posters.mastodon import MastodonPoster
from bot.threads.fitting import CONTINUED, fit_thread, split_text
from bot.threads.render import Post, Thread, mention_text
from tests.conftest import REFERENCE_EVENT_ID

URL = re.compile(r"https?://\S+")


def words_and_urls(text: str) -> list[str]:
    return [w for w in text.replace(CONTINUED, " ").split() if w]


@pytest.fixture
def reference(sample_store, reference_day) -> Thread:
    (thread,) = [
        t
        for t in threads_for_day(sample_store, reference_day, "text", limit=None)
        if t.event_id == REFERENCE_EVENT_ID
    ]
    return thread


def fit(thread, caps, excerpt="split", platform=None):
    return fit_thread(
        thread,
        caps,
        platform,
        lambda m: mention_text(m, platform, thread.format),
        excerpt,
        length=platform_rules(platform).length,
    )


@pytest.mark.parametrize("limit", [500, 2000, 4000, 32000])
def test_split_keeps_every_word_in_order_and_fits(reference, limit):
    fitted = fit(reference, Capabilities(max_length=limit))
    assert all(p.length <= limit for p in fitted.posts)
    original = [w for post in reference.posts for w in words_and_urls(post.body)]
    assert [w for post in fitted.posts for w in words_and_urls(post.body)] == original
    urls = {u for post in reference.posts for u in URL.findall(post.body)}
    assert urls <= {u for post in fitted.posts for u in URL.findall(post.body)}  # never cut mid-URL
    assert [p.number for p in fitted.posts] == list(range(1, len(fitted.posts) + 1))
    assert all(p.body.startswith(CONTINUED + "\n") for p in fitted.posts if p.continued)
    assert fitted.posts[0].title == reference.posts[0].title
    assert any("split into" in w for w in fitted.warnings)


def test_split_prefers_paragraphs_then_sentences():
    text = "First paragraph one. Still first.\n\nSecond paragraph is here. It has two sentences."
    assert split_text(text, 40, len) == [
        "First paragraph one. Still first.",
        "Second paragraph is here.",
        "It has two sentences.",
    ]


def test_split_never_cuts_a_word():
    text = " ".join(["antidisestablishmentarianism"] * 20)
    chunks = split_text(text, 100, len)
    assert all(len(c) <= 100 for c in chunks)
    assert all(set(c.split()) == {"antidisestablishmentarianism"} for c in chunks)


def test_truncate_cuts_at_a_sentence_with_read_more_and_keeps_fyi(reference):
    fitted = fit(reference, Capabilities(max_length=32000), excerpt="truncate")
    second = fitted.posts[1]
    assert len(fitted.posts) == 3 and second.length <= 32000
    body = second.body
    assert (
        "\n\nRead more: https://www.jewishvirtuallibrary.org/leon-trotsky\n\nFYI Sgt John H."
        in body
    )
    assert "Background from {[https://www.jewishvirtuallibrary.org/leon-trotsky]}" in body
    before_read_more = body.split("\n\nRead more:")[0]
    assert before_read_more.endswith((".", '"', ".”", "?", "!"))


def test_mastodon_counting():
    text = "See https://example.org/" + "x" * 200 + " with @alice@social.example.org"
    assert MastodonPoster.length(text) == len("See ") + 23 + len(" with @alice")


def test_mentions_over_the_cap_are_spread_not_dropped():
    members = [Member(f"m{i}", f"Member {i}", {"discourse": f"user{i}"}) for i in range(45)]
    members.append(Member("plain", "No Handle"))
    line = "FYI " + " ".join(mention_text(m, "discourse", "markdown") for m in members)
    thread = Thread(
        "e",
        None,
        dt.date(2026, 1, 1),
        "markdown",
        [Post(1, "Lead text.\n\n" + line, "Title here", members)],
    )
    fitted = fit(thread, Capabilities(max_mentions=10), platform="discourse")
    pinged = [m.id for p in fitted.posts for m in p.mentions if m.handle("discourse")]
    assert sorted(pinged) == sorted(m.id for m in members[:45])  # every one, once
    for post in fitted.posts:
        assert len(re.findall(r"@user\d+", post.body)) <= 10
    assert len(fitted.posts) == 5
    assert "No Handle" in fitted.posts[0].body
    assert any("35 of 45 mentions wait for 4 later post(s)" in w for w in fitted.warnings)


def test_discourse_rules():
    thread = Thread(
        "e",
        None,
        dt.date(2026, 1, 1),
        "markdown",
        [Post(1, "Short lead text that is long enough.", "Short", []), Post(2, "Tiny.", None, [])],
    )
    fitted = fit_thread(
        thread,
        Capabilities(max_length=32000, min_length=20, title_length=(15, 255)),
        "discourse",
        str,
        max_consecutive_replies=0,
    )
    assert fitted.posts[0].title == "Short — this day in history"
    assert fitted.posts[1].body == "Tiny.\n\n(part 2 of 2 of this thread)"
    assert any("replies in a row" in w for w in fitted.warnings)


def test_preview_to_destination_shows_fitted_posts(cli_run, tmp_path, sample_store_path):
    config = tmp_path / "bot.yaml"
    config.write_text("destinations:\n  short:\n    type: console\n    format: text\n")
    code, out, _ = cli_run(
        "--config",
        str(config),
        "--db",
        str(sample_store_path),
        "preview",
        "--date",
        "01-10",
        "--to",
        "short",
    )
    assert code == 0 and "post 3 of 3" in out  # the console has no limit: three posts


def test_truncate_with_an_fyi_line_longer_than_a_post_continues_it():
    members = [
        Member(f"m{i}", f"Member Number {i}", {"mastodon": f"@member{i}@social.example"})
        for i in range(8)
    ]
    line = "FYI " + " ".join(mention_text(m, "mastodon", "text") for m in members)
    text = "A sentence that goes on. " * 40
    thread = Thread(
        "e",
        None,
        dt.date(2026, 1, 1),
        "text",
        [Post(1, text + "\n\n" + line, None, members, source_url="https://example.org/src")],
    )
    caps = Capabilities(max_length=120, url_length=23, max_mentions=8)
    fitted = fit(thread, caps, excerpt="truncate", platform="mastodon")
    assert all(MastodonPoster.length(p.body) <= 120 for p in fitted.posts)
    assert "Read more: https://example.org/src" in fitted.posts[0].body
    pinged = [m.id for p in fitted.posts for m in p.mentions]
    assert sorted(set(pinged)) == sorted(m.id for m in members)


# --- regressions: where a sentence ends (issue 17) --------------------------------------------


def test_split_does_not_end_a_sentence_at_an_abbreviation():
    text = (
        "George Novak (member of Trotsky's U.S. defence committee), Albert Gloetzer (U.S. "
        "Communist, secretary to the Dewey Commission). Sgt John H. Smith came too."
    )
    chunks = split_text(text, 100, len)
    assert all(len(c) <= 100 for c in chunks)
    assert not any(c.endswith(("U.S.", "H.")) for c in chunks), chunks
    assert any("Sgt John H. Smith came too." in c for c in chunks)


def test_mastodon_split_of_the_reference_never_ends_a_post_at_u_s(reference):
    fitted = fit(reference, MastodonPoster.capabilities, platform="mastodon")
    assert len(fitted.posts) > 100  # split, not truncated: every sentence end is tried
    ends = [p.body for p in fitted.posts if p.body.endswith("(U.S.")]
    assert ends == []


def test_truncate_leaves_no_list_item_without_its_text(sample_store):
    """The sample July 20 event, second post, Mastodon, ``excerpt: truncate``: the cut used to
    keep an image's number and drop its caption (``Images:`` / ``1.`` / ``Read more: ...``)."""
    from bot.config import Config, Destination
    from bot.config.channel import Channel

    destination = Destination("m", "mastodon", "text", excerpt="truncate")
    channel = Channel.of(Config(None, None, None, None, {"m": destination}), destination)
    (thread,) = [
        t
        for t in threads_for_day(
            sample_store, dt.date(2026, 7, 20), "text", limit=None, platform="mastodon"
        )
        if t.event_id == "1969-07-20-apollo-11-lands-on-the-moon"
    ]
    fitted = fit(thread, channel.capabilities, excerpt="truncate", platform="mastodon")
    for post in fitted.posts:
        assert not re.search(r"^\s*\d+\.\s*$", post.body, re.MULTILINE), post.body
    assert "Images:\n1. " in fitted.posts[2].body or "Images:" not in fitted.posts[2].body


def test_a_cut_at_a_word_never_keeps_part_of_a_long_url():
    """Mastodon counts a URL as 23 characters, however long: a cut measured that way must not
    keep the start of a URL whose end it dropped."""
    url = "https://example.org/" + "a" * 400
    text = f"Intro words here {url} and then more words without end " * 6
    thread = Thread(
        "e", None, dt.date(2026, 1, 1), "text",
        [Post(1, text, None, [], source_url="https://example.org/src")],
    )  # fmt: skip
    fitted = fit(thread, Capabilities(max_length=220, url_length=23), "truncate", "mastodon")
    for post in fitted.posts:
        assert all(found == url for found in URL.findall(post.body) if "/src" not in found)


def test_a_long_list_is_written_once_per_member_and_its_posts_over_the_cap_are_warned():
    """10,000 members took a second to fit: each was written four times (the FYI line found,
    the posts it spreads into, and all of it again when the thread is fitted with ``truncate``
    for being over ``max_posts_per_thread``). Each is written once; the warning stays."""
    members = [Member(f"m{i}", f"Member {i}", {"mastodon": f"@m{i}@social.example"})
               for i in range(100)]  # fmt: skip
    line = "FYI " + " ".join(mention_text(m, "mastodon", "text") for m in members)
    thread = Thread("e", None, dt.date(2026, 1, 1), "text",
                    [Post(1, "Lead text.\n\n" + line, "Title here", members)])  # fmt: skip
    written: list[str] = []

    def write(member: Member) -> str:
        written.append(member.id)
        return mention_text(member, "mastodon", "text")

    fitted = fit_thread(thread, MastodonPoster.capabilities, "mastodon", write,
                        length=MastodonPoster.length, max_posts=5)  # fmt: skip
    assert sorted(written) == sorted(m.id for m in members)  # each once
    pinged = [m.id for post in fitted.posts for m in post.mentions]
    assert sorted(pinged) == sorted(m.id for m in members)  # none dropped, none twice
    assert len(fitted.posts) == 1 + 12  # 8 a post: the lead's 8, then 92 in 12 posts
    assert any("over max_posts_per_thread (5)" in w and "it goes out whole" in w
               for w in fitted.warnings)  # fmt: skip
