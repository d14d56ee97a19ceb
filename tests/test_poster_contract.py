"""One contract, every adapter: the suite in bot.testing.contract over the built-in adapters'
harnesses (tests/harnesses) and every installed plugin's (the example plugin registers one
under ``anniversary_bot.harnesses``). A new adapter gets a harness and passes the same tests."""

from __future__ import annotations

from bot.posters import available_posters
from bot.testing import installed_harnesses
from bot.testing.contract import *  # noqa: F403 - the contract's tests and fixtures
from tests.harnesses.builtin import ConsoleHarness, OutboxHarness, WebhookHarness
from tests.harnesses.discord import DiscordHarness, DiscordV10Harness
from tests.harnesses.discourse import DiscourseHarness, DiscourseNewUserHarness
from tests.harnesses.mastodon import MastodonHarness
from tests.harnesses.matrix import MatrixHarness
from tests.harnesses.slack import SlackHarness

HARNESSES = [
    OutboxHarness,
    ConsoleHarness,
    WebhookHarness,
    DiscourseHarness,
    DiscourseNewUserHarness,  # Discourse's limits for a trust-level-0 account
    MastodonHarness,
    DiscordHarness,
    DiscordV10Harness,
    SlackHarness,
    MatrixHarness,
    *installed_harnesses(),
]


def test_every_installed_adapter_has_a_harness():
    assert {h.name for h in HARNESSES} >= set(available_posters())
    assert available_posters()["jsonl"].startswith("plugin: anniversary-bot-example-poster")
    assert "jsonl" in {h.name for h in installed_harnesses()}
