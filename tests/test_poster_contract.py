"""One contract, every adapter: built-in ones and the example plugin installed from
tests/example_plugin. A new adapter gets a harness here and must pass the same tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bot.mentions import Member
from bot.posters import OutgoingPost, Poster, Published, available_posters, poster_class
from bot.posters.base import Capabilities
from tests.harness import Harness
from tests.servers import WebhookReceiver
from tests.test_discord import DiscordHarness
from tests.test_discourse import DiscourseHarness
from tests.test_mastodon import MastodonHarness
from tests.test_matrix import MatrixHarness
from tests.test_slack import SlackHarness

SECRET = "contract-shared-secret-0123456789"


class OutboxHarness(Harness):
    name = "outbox"

    def settings(self):
        return {"path": str(self.tmp_path / "outbox"), "format": "text"}

    def received(self):
        files = sorted((self.tmp_path / "outbox").rglob("*.txt"))
        return [f.read_text().rstrip("\n") for f in files]


class ConsoleHarness(Harness):
    name = "console"

    def settings(self):
        return {"format": "text"}

    def received(self):
        out = self.capsys.readouterr().out
        return [chunk.split("\n", 1)[1].rstrip("\n") for chunk in out.split("=== ")[1:]]


class WebhookHarness(Harness):
    name = "webhook"

    def __init__(self, tmp_path, capsys):
        super().__init__(tmp_path, capsys)
        self.server = WebhookReceiver(SECRET).__enter__()

    def settings(self):
        return {"url": self.server.url, "secret": SECRET, "format": "text",
                "lookup_url": self.server.lookup_url, "timeout": 5.0}  # fmt: skip

    def received(self):
        return [posts[0]["body"] for posts in self.server.accepted.values()]

    def close(self):
        self.server.__exit__(None, None, None)


class JsonLinesHarness(Harness):
    name = "jsonl"

    def settings(self):
        return {"path": str(self.tmp_path / "posts.jsonl"), "format": "text"}

    def received(self):
        path = self.tmp_path / "posts.jsonl"
        return [json.loads(line)["body"] for line in path.read_text().splitlines()]


HARNESSES = [
    OutboxHarness,
    ConsoleHarness,
    WebhookHarness,
    JsonLinesHarness,
    DiscourseHarness,
    MastodonHarness,
    DiscordHarness,
    SlackHarness,
    MatrixHarness,
]


def test_every_installed_adapter_has_a_harness():
    assert {h.name for h in HARNESSES} >= set(available_posters())
    assert available_posters()["jsonl"].startswith("plugin: anniversary-bot-example-poster")


@pytest.fixture(params=HARNESSES, ids=[h.name for h in HARNESSES])
def harness(request, tmp_path, capsys):
    h = request.param(tmp_path, capsys)
    yield h
    h.close()


@pytest.fixture
def poster(harness) -> Poster:
    cls = poster_class(harness.name)
    settings = cls.validate_settings(
        {k: v for k, v in harness.settings().items() if v is not None}, "test", harness.tmp_path
    )
    instance = cls("contract", settings)
    yield instance
    instance.close()


def post(number: int, body: str = "", title: str | None = None) -> OutgoingPost:
    return OutgoingPost(
        key=f"contract/event-1/2026-07-20/{number}",
        thread_key="contract/event-1/2026-07-20",
        number=number,
        body=body or f"Post number {number}.\nSecond line.",
        format="text",
        event_id="event-1",
        day=dt.date(2026, 7, 20),
        title=title if number == 1 else None,
        mentions=(Member("jane", "SGT Jane Doe"),),
    )


def test_declares_its_contract(harness):
    cls = poster_class(harness.name)
    assert isinstance(cls.name, str) and cls.name == harness.name
    assert isinstance(cls.capabilities, Capabilities)
    assert cls.formats and cls.default_format in cls.formats
    assert isinstance(cls.description, str) and cls.description
    assert set(cls.secret_settings) <= cls.settings_keys()
    for field in dataclasses.fields(Capabilities):
        getattr(cls.capabilities, field.name)


def test_publishes_a_thread_in_order(poster, harness):
    lead = poster.publish(post(1, title="A title for the thread"), None, None)
    assert isinstance(lead, Published) and isinstance(lead.remote_id, str) and lead.remote_id
    reply = poster.publish(post(2), lead, lead)
    assert reply.remote_id != lead.remote_id
    third = poster.publish(post(3), lead, reply)
    assert third.remote_id not in (lead.remote_id, reply.remote_id)
    assert harness.received() == [post(n).body for n in (1, 2, 3)]


def test_find_by_key_where_the_platform_allows(poster):
    if not poster.can_find:
        with pytest.raises(NotImplementedError):
            poster.find(post(1), None)
        return
    assert poster.find(post(1), None) is None
    published = poster.publish(post(1, title="Title"), None, None)
    found = poster.find(post(1), None)
    assert found is not None and found.remote_id == published.remote_id
    assert poster.find(post(2), published) is None


def test_settings_reject_unknown_keys(harness):
    cls = poster_class(harness.name)
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"test\.no_such_key: unknown key"):
        cls.validate_settings({**harness.settings(), "no_such_key": 1}, "test", harness.tmp_path)


def test_secrets_are_masked_in_settings_repr(harness):
    cls = poster_class(harness.name)
    settings = cls.validate_settings(
        {k: v for k, v in harness.settings().items() if v is not None}, "test", harness.tmp_path
    )
    for key in cls.secret_settings:
        assert settings[key] not in repr(settings)
