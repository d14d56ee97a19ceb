"""The platform rules of the adapter contract (mention, escape, length, author): callable on the
adapter class, where nothing is sent, and on an instance, whose limits may be the platform's."""

from __future__ import annotations

import dataclasses

from bot.model import Member
from bot.posters import Poster, Published, platform_rules
from bot.posters.mastodon import MastodonPoster
from bot.threads.render import mention_text


class PlainRules(Poster):
    """A rule overridden as a plain method, as a plugin may write it."""

    name = "plain-rules"
    platform = "plain"

    def length(self, text: str) -> int:
        return 2 * len(text)

    def publish(self, post, lead, previous) -> Published:  # pragma: no cover - never sent
        raise AssertionError("not sent")


def test_a_rule_written_as_a_plain_method_works_on_the_class_and_an_instance():
    assert PlainRules.length("abc") == 6
    assert PlainRules("d", {}).length("abc") == 6


def test_length_follows_the_limits_an_instance_read_from_its_platform():
    text = "See https://example.org/a-long-path"
    assert MastodonPoster.length(text) == len("See ") + 23
    poster = MastodonPoster.__new__(MastodonPoster)  # no connection: only the rule is used
    poster.capabilities = dataclasses.replace(MastodonPoster.capabilities, url_length=30)
    assert poster.length(text) == len("See ") + 30


def test_the_mention_syntax_capability_writes_the_live_mention():
    jane = Member("jane", "SGT Jane Doe", {"discourse": "jane_doe", "discord": "1" * 18})
    assert mention_text(jane, "discourse", "markdown") == "@jane_doe"
    assert mention_text(jane, "discord", "markdown") == "<@111111111111111111>"
    # no handle there: named in words, pinging nobody
    assert mention_text(jane, "slack", "text") == "SGT Jane Doe"


def test_a_platform_no_adapter_declares_gets_the_contracts_defaults():
    assert platform_rules("no-such-platform") is Poster
    assert platform_rules(None) is Poster
    assert platform_rules("mastodon") is MastodonPoster
