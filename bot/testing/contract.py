"""The contract suite: the tests every poster adapter passes, built-in or third-party.

A test module runs it over its harnesses with::

    from bot.testing.contract import *  # noqa: F403 - the contract's tests and fixtures

    HARNESSES = [MyAdapterHarness]

Without ``HARNESSES`` in the module, it runs over every harness installed under the
entry-point group ``anniversary_bot.harnesses``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.model import Member
from bot.posters import Capabilities, OutgoingPost, Poster, Published, poster_class
from bot.posters.base import HandleFormat
from bot.testing import Harness, installed_harnesses

__all__ = [
    "harness",
    "poster",
    "pytest_generate_tests",
    "test_declares_its_contract",
    "test_find_by_key_where_the_platform_allows",
    "test_handles_and_mentions_follow_the_declared_format",
    "test_publishes_a_thread_in_order",
    "test_secrets_are_masked_in_settings_repr",
    "test_settings_reject_unknown_keys",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # the harnesses are the calling module's HARNESSES, else every installed one
    if "harness_class" in metafunc.fixturenames:
        classes = getattr(metafunc.module, "HARNESSES", None) or installed_harnesses()
        ids = [f"{h.name}-{h.variant}" if h.variant else h.name for h in classes]
        metafunc.parametrize("harness_class", classes, ids=ids)


@pytest.fixture
def harness(harness_class: type[Harness], tmp_path: Any, capsys: Any) -> Iterator[Harness]:
    made = harness_class(tmp_path, capsys)
    yield made
    made.close()


@pytest.fixture
def poster(harness: Harness) -> Iterator[Poster]:
    cls = poster_class(harness.name)
    settings = cls.validate_settings(
        {k: v for k, v in harness.settings().items() if v is not None}, "test", harness.tmp_path
    )
    instance = cls("contract", settings)
    yield instance
    instance.close()


def _post(number: int, body: str = "", title: str | None = None) -> OutgoingPost:
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


def test_declares_its_contract(harness: Harness) -> None:
    cls = poster_class(harness.name)
    assert isinstance(cls.name, str) and cls.name == harness.name
    assert isinstance(cls.capabilities, Capabilities)
    assert cls.formats and cls.default_format in cls.formats
    assert isinstance(cls.description, str) and cls.description
    assert set(cls.secret_settings) <= cls.settings_keys()
    for field in dataclasses.fields(Capabilities):
        getattr(cls.capabilities, field.name)
    assert cls.platform is None or isinstance(cls.platform, str)
    assert cls.handle_format is None or isinstance(cls.handle_format, HandleFormat)
    assert cls.handle_format is None or cls.platform is not None  # a format is for a platform


def test_handles_and_mentions_follow_the_declared_format(harness: Harness) -> None:
    cls = poster_class(harness.name)
    nobody = Member("plain", "Plain @everyone")
    for fmt in cls.formats:
        # a member without a handle there is never a live mention; event text never pings
        assert cls.mention(nobody, fmt) is None
        assert "@everyone" not in cls.escape("hello @everyone", fmt)
    assert cls.length("") == 0 and cls.length("abc") == 3
    if cls.handle_format is None:
        return
    assert cls.platform is not None, "a handle format is the format of a platform's handles"
    sample = cls.handle_format.sample
    assert cls.handle_problem(sample) is None, "the format's sample must match its pattern"
    assert cls.handle_problem("not a handle at all") is not None
    member = Member("jane", "SGT Jane Doe", {cls.platform: sample})
    for fmt in cls.formats:
        written = cls.mention(member, fmt)
        assert isinstance(written, str) and written, f"no live mention in {fmt}"


def test_publishes_a_thread_in_order(poster: Poster, harness: Harness) -> None:
    lead = poster.publish(_post(1, title="A title for the thread"), None, None)
    assert isinstance(lead, Published) and isinstance(lead.remote_id, str) and lead.remote_id
    reply = poster.publish(_post(2), lead, lead)
    assert reply.remote_id != lead.remote_id
    third = poster.publish(_post(3), lead, reply)
    assert third.remote_id not in (lead.remote_id, reply.remote_id)
    assert harness.received() == [_post(n).body for n in (1, 2, 3)]


def test_find_by_key_where_the_platform_allows(poster: Poster) -> None:
    if not poster.can_find:
        with pytest.raises(NotImplementedError):
            poster.find(_post(1), None)
        return
    assert poster.find(_post(1), None) is None
    published = poster.publish(_post(1, title="Title"), None, None)
    found = poster.find(_post(1), None)
    assert found is not None and found.remote_id == published.remote_id
    assert poster.find(_post(2), published) is None


def test_settings_reject_unknown_keys(harness: Harness) -> None:
    cls = poster_class(harness.name)
    with pytest.raises(ConfigError, match=r"test\.no_such_key: unknown key"):
        cls.validate_settings({**harness.settings(), "no_such_key": 1}, "test", harness.tmp_path)


def test_secrets_are_masked_in_settings_repr(harness: Harness) -> None:
    cls = poster_class(harness.name)
    settings = cls.validate_settings(
        {k: v for k, v in harness.settings().items() if v is not None}, "test", harness.tmp_path
    )
    for key in cls.secret_settings:
        assert settings[key] not in repr(settings)
