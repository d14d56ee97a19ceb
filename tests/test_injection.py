"""The injection corpus: text in event data notifies nobody, on any platform. Only the members
on a post's mention list can be notified. (Discord's and Slack's payload-level checks, with
their local servers, are in test_discord.py and test_slack.py.)"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.config import Config, Destination
from bot.config.channel import Channel
from bot.events.mentions import MentionDirectory
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.posters import poster_class
from bot.publishing.log import outgoing_posts
from bot.threads.fitting import fit_for
from bot.threads.render import render_thread

CORPUS = [
    "@everyone", "@here", "@channel", "<@123456789012345678>", "<@&987654321098765432>",
    "<!channel>", "<!here>", "<!everyone>", "<@U999999>", "@someone", "@someone@evil.example",
    "@someone:evil.example", "<b>bold</b> <script>alert(1)</script>", "[click](https://evil.example)",
    "![img](https://evil.example/x.png)", "https://matrix.to/#/@victim:evil.example",
    '<a href="https://matrix.to/#/@victim:evil.example">victim</a>', "[@victim](https://evil.example)",
]  # fmt: skip
TEXT = "Look: " + " ".join(CORPUS) + "."

MEMBERS = [
    {"id": "jane", "name": "SGT Jane Doe", "handles": {
        "discourse": "janedoe", "mastodon": "@janedoe@social.example", "discord": "111111111111111111",
        "slack": "U0JANE01", "matrix": "@janedoe:example.org"}},
    {"id": "joe", "name": "Joe Plain", "handles": {}},
]  # fmt: skip
LISTED = {
    "discourse": {"@janedoe"},
    "mastodon": {"@janedoe@social.example"},
    "discord": {"<@111111111111111111>"},
    "slack": {"<@U0JANE01>"},
}


def event() -> Event:
    blocks = [
        {"type": "text", "text": TEXT},
        {"type": "quote", "text": TEXT, "cite": "@everyone"},
        {"type": "video", "title": TEXT, "description": TEXT, "url": "https://example.org/v"},
        {"type": "images", "images": [{"caption": TEXT, "url": None, "file": None}]},
        {"type": "background", "url": "https://example.org/b", "source": "@here", "excerpt": TEXT},
        {
            "type": "links",
            "title": "@channel",
            "links": [{"title": TEXT, "url": "https://example.org/x?<!channel>"}],
        },
        {"type": "mentions", "lists": [], "members": ["jane", "joe"]},
    ]
    return Event(
        id="e",
        date=AnniversaryDate(7, 20, 1969),
        title=TEXT[:80],
        lead=TEXT,
        credit="@everyone",
        parts=[{"blocks": blocks}],
    )


def fitted_posts(platform_type: str):
    cls = poster_class(platform_type)
    destination = Destination("d", platform_type, cls.default_format)
    thread = render_thread(
        event(), dt.date(2026, 7, 20), cls.default_format, MentionDirectory(MEMBERS), cls.platform
    )
    channel = Channel(Config(None, None, None, None, {}), destination, cls)
    return cls, outgoing_posts(fit_for(thread, channel), "d")


@pytest.mark.parametrize("platform", ["discourse", "mastodon"])
def test_at_mentions_only_for_listed_members(platform):
    _, posts = fitted_posts(platform)
    pattern = (
        r"(?<![\w@])@[A-Za-z0-9_][\w.-]*(?:@[\w.-]+\.[A-Za-z]{2,})?"
        if platform == "mastodon"
        else r"(?<![\w@])@[A-Za-z0-9_][\w.-]*"
    )
    found = {m.rstrip(".") for post in posts for m in re.findall(pattern, post.body)}
    assert found == LISTED[platform]
    assert {m.id for post in posts for m in post.mentions if m.handle(platform)} == {"jane"}


@pytest.mark.parametrize("platform", ["discord", "slack"])
def test_angle_bracket_mentions_only_for_listed_members(platform):
    _, posts = fitted_posts(platform)
    # a "<" escaped with a backslash (Markdown) is text, not a mention; so is "<@" + a zero-width space
    found = {
        m for post in posts for m in re.findall(r"(?<!\\)<[@!#][^>\u200b]*(?<!\\)>", post.body)
    }
    assert found == LISTED[platform]


def test_slack_text_has_no_control_sequences_from_event_data():
    _, posts = fitted_posts("slack")
    body = "\n".join(p.body for p in posts)
    assert "<!channel>" not in body and "<!here>" not in body and "<!everyone>" not in body
    assert "&lt;!channel&gt;" in body
    assert "x?%3C!channel%3E" in body  # a URL from event data carries no raw "<"


def test_discourse_markdown_cannot_make_links_or_html():
    _, posts = fitted_posts("discourse")
    body = "\n".join(p.body for p in posts)
    assert "<script>" not in body and "<b>" not in body
    assert "[click](https://evil.example)" not in body  # escaped: \[click\](...)


def test_matrix_notifies_only_listed_members():
    cls, posts = fitted_posts("matrix")
    poster = cls(
        "d",
        {
            "homeserver": "http://127.0.0.1:9",
            "access_token": "t" * 20,
            "room": "!r:example.org",
            "timeout": 5.0,
        },
    )
    for post in posts:
        content = poster.content(post, None, None)
        assert content["m.mentions"] == {"user_ids": ["@janedoe:example.org"]}
        links = re.findall(r'href="https://matrix\.to/#/([^"]+)"', content["formatted_body"])
        # a user link from event text keeps its neutralised "@\u200b": not a valid user id
        assert {link for link in links if "\u200b" not in link} <= {"@janedoe:example.org"}
        assert (
            "<script>" not in content["formatted_body"] and "<b>" not in content["formatted_body"]
        )
