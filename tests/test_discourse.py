"""The Discourse adapter against a local server that keeps Discourse's API contract: the
``Api-Key``/``Api-Username`` headers, ``POST /posts.json`` for topics and replies with the
validations Discourse applies (title and body lengths, category, unique ``external_id`` and
title, @mention limit, duplicate bodies, consecutive replies), 429 with ``extras.wait_seconds``,
``GET /t/external_id/{id}.json`` answered with a redirect, topic and post reads with
``include_raw``, and ``POST /uploads.json``. Messages are Discourse's own (config/locales/
server.en.yml)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import ConfigError
from bot.events.mentions import Member
from bot.posters.base import OutgoingPost, PostError, Published
from bot.posters.discourse import DiscoursePoster, external_id
from tests.harnesses.discourse import (
    API_KEY,
    BOT,
    CATEGORY,
    DiscourseHarness,
    FakeDiscourse,
    _header,
    settings_for,
)
from tests.servers import LocalServer, Recorded

# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def forum():
    with FakeDiscourse() as fake:
        yield fake


def make_poster(fake: FakeDiscourse, tmp_path: Path, **overrides: Any) -> DiscoursePoster:
    settings = DiscoursePoster.validate_settings(settings_for(fake, **overrides), "test", tmp_path)
    poster = DiscoursePoster("forum", settings)
    # retries back off for real: keep them short in tests
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


THREAD = "forum/1969-07-20-apollo-11/2026-07-20"
TITLE = "57 years ago: Apollo 11 lands on the Moon"


def post(number: int, body: str | None = None, **fields: Any) -> OutgoingPost:
    values: dict[str, Any] = {
        "key": f"{THREAD}/{number}",
        "thread_key": THREAD,
        "number": number,
        "body": body if body is not None else f"Part {number} of the Apollo 11 thread, in full.",
        "format": "markdown",
        "event_id": "1969-07-20-apollo-11",
        "day": dt.date(2026, 7, 20),
        "title": TITLE if number == 1 else None,
    }
    values.update(fields)
    return OutgoingPost(**values)


def publish_thread(poster: DiscoursePoster, count: int) -> list[Published]:
    published: list[Published] = []
    for number in range(1, count + 1):
        lead = published[0] if published else None
        previous = published[-1] if published else None
        published.append(poster.publish(post(number), lead, previous))
    return published


# -- settings --------------------------------------------------------------------------------


def test_settings_are_validated_and_the_key_is_masked(forum, tmp_path):
    settings = DiscoursePoster.validate_settings(
        settings_for(forum, url=forum.url + "/"), "test", tmp_path
    )
    assert settings["url"] == forum.url  # no trailing slash: paths are appended to it
    assert settings["tags"] == ["on-this-day"]
    assert API_KEY not in repr(settings)
    assert DiscoursePoster.secret_settings == ("api_key",)
    with pytest.raises(ConfigError, match=r"^test\.category: "):
        DiscoursePoster.validate_settings(settings_for(forum, category="general"), "test", tmp_path)
    with pytest.raises(ConfigError, match=r"^test\.url: expected the forum's base URL"):
        DiscoursePoster.validate_settings(
            settings_for(forum, url="forum.example.org"), "test", tmp_path
        )
    values = settings_for(forum)
    del values["api_username"]
    with pytest.raises(ConfigError, match=r"^test\.api_username: required key"):
        DiscoursePoster.validate_settings(values, "test", tmp_path)
    with pytest.raises(ConfigError, match=r"^test\.token: unknown key for discourse"):
        DiscoursePoster.validate_settings({**settings_for(forum), "token": "x"}, "test", tmp_path)
    subfolder = DiscoursePoster.validate_settings(
        settings_for(forum, url="https://example.org/forum/"), "test", tmp_path
    )
    assert subfolder["url"] == "https://example.org/forum"


@pytest.mark.processes
def test_importing_the_adapter_does_not_import_pydantic():
    code = "import sys, bot.posters.discourse; print('pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_tags_are_single_words(forum, tmp_path):
    with pytest.raises(ConfigError, match=r"^test\.tags\.0: "):
        DiscoursePoster.validate_settings(
            settings_for(forum, tags=["on this day"]), "test", tmp_path
        )


def test_declared_contract():
    caps = DiscoursePoster.capabilities
    assert (caps.max_length, caps.max_mentions, caps.min_length) == (32000, 10, 20)
    assert caps.title_length == (15, 255) and caps.mention_syntax == "@{handle}"
    assert caps.titles and caps.replies and caps.images
    assert DiscoursePoster.formats == ("markdown",) and DiscoursePoster.default_format == "markdown"
    assert DiscoursePoster.platform == "discourse" and DiscoursePoster.can_find
    assert DiscoursePoster.max_consecutive_replies == 3


def test_external_id_is_deterministic_and_fits_discourse():
    value = external_id(THREAD)
    assert value == external_id(THREAD)
    assert value != external_id(THREAD.replace("2026", "2027"))
    assert len(value) <= 50 and re.fullmatch(r"[\w-]+", value)  # Topic::EXTERNAL_ID_MAX_LENGTH
    assert len(external_id("x" * 500)) == len(value)


# -- publishing ------------------------------------------------------------------------------


def test_a_three_part_thread_is_one_topic_and_two_replies_in_it(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead, second, third = publish_thread(poster, 3)

    assert len(forum.topics) == 1
    topic = next(iter(forum.topics.values()))
    assert [forum.posts[i]["post_number"] for i in topic["post_ids"]] == [1, 2, 3]
    assert forum.accepted() == [post(n).body for n in (1, 2, 3)]
    assert topic["title"] == TITLE and topic["tags"] == ["on-this-day"]
    assert topic["category_id"] == CATEGORY and topic["username"] == BOT

    posts = forum.calls("POST", "/posts.json")
    assert len(posts) == 3 and len(forum.requests) == 3
    assert posts[0].json() == {
        "title": TITLE,
        "raw": post(1).body,
        "category": CATEGORY,
        "tags": ["on-this-day"],
        "external_id": external_id(THREAD),
    }
    assert posts[1].json() == {"topic_id": topic["id"], "raw": post(2).body}
    assert posts[2].json() == {"topic_id": topic["id"], "raw": post(3).body}
    for request in posts:
        assert _header(request, "Api-Key") == API_KEY
        assert _header(request, "Api-Username") == BOT

    base = f"{forum.url}/t/57-years-ago-apollo-11-lands-on-the-moon/{topic['id']}"
    assert lead == Published(remote_id=f"{topic['id']}/1", url=base)
    assert second == Published(remote_id=f"{topic['id']}/2", url=f"{base}/2")
    assert third == Published(remote_id=f"{topic['id']}/3", url=f"{base}/3")
    poster.close()


def test_without_tags_no_tags_are_sent(forum, tmp_path):
    poster = make_poster(forum, tmp_path, tags=[])
    poster.publish(post(1), None, None)
    assert "tags" not in forum.calls("POST", "/posts.json")[0].json()


def test_a_reply_without_its_lead_finds_the_topic_by_external_id(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), None, None)
    assert reply.remote_id == lead.remote_id.replace("/1", "/2")
    assert len(forum.calls("GET", "/t/external_id/")) == 1


def test_a_reply_whose_topic_was_never_created_fails_without_posting(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    with pytest.raises(PostError, match="topic of thread .* was not found") as caught:
        poster.publish(post(2), None, None)
    assert caught.value.retryable is False
    assert forum.calls("POST", "/posts.json") == []


# -- finding and exactly once ----------------------------------------------------------------


def test_a_crash_between_create_and_log_finds_the_topic_instead_of_a_second(forum, tmp_path):
    first = make_poster(forum, tmp_path)
    lead = first.publish(post(1), None, None)
    reply = first.publish(post(2), lead, lead)
    first.close()  # the process dies before the publish log records either

    again = make_poster(forum, tmp_path)  # the next run reconciles
    assert again.find(post(1), None) == lead
    assert again.find(post(2), lead) == reply
    assert len(forum.topics) == 1 and len(forum.posts) == 2
    assert len(forum.calls("POST", "/posts.json")) == 2
    # one look-up by external_id, answered with Discourse's redirect, which is read, not
    # followed; then one read of the topic for the reply
    topic_id = int(lead.remote_id.split("/")[0])
    reads = [urlsplit(r.path).path for r in forum.requests if r.method == "GET"]
    assert reads == [f"/t/external_id/{external_id(THREAD)}.json", f"/t/{topic_id}.json"]
    assert all(_header(r, "Api-Key") == API_KEY for r in forum.requests)


def test_sending_the_lead_again_makes_no_second_topic(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    # Discourse refuses the second topic with the same external_id; the adapter finds the first
    assert poster.publish(post(1), None, None) == lead
    assert len(forum.topics) == 1 and len(forum.posts) == 1
    assert len(forum.calls("POST", "/posts.json")) == 2


def test_a_reply_sent_again_after_a_lost_answer_is_not_posted_twice(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), lead, lead)
    # the same body again: Discourse's duplicate check refuses it, and the post is found
    assert poster.publish(post(2), lead, lead) == reply
    assert len(forum.posts) == 2


def test_find_returns_none_for_an_unknown_key(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    assert poster.find(post(1), None) is None
    assert len(forum.requests) == 1
    lead = poster.publish(post(1), None, None)
    assert poster.find(post(2), lead) is None
    assert poster.find(post(2), None) is None  # topic found by external_id, reply not in it
    # a reply by someone else with the very same text is not the bot's
    forum.add_post(int(lead.remote_id.split("/")[0]), "jane", post(2).body)
    assert poster.find(post(2), lead) is None


def test_find_compares_raw_the_way_discourse_stores_it(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    body = "A reply with a\u00a0non-breaking space and a trailing newline.\n"
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2, body), lead, lead)
    assert forum.accepted()[-1] != body  # Discourse changed it
    assert poster.find(post(2, body), lead) == reply


def test_find_reads_past_the_first_page_of_a_long_topic(tmp_path):
    with FakeDiscourse(chunk_size=2) as forum:
        poster = make_poster(forum, tmp_path)
        lead = poster.publish(post(1), None, None)
        topic_id = int(lead.remote_id.split("/")[0])
        for n in range(4):
            forum.add_post(topic_id, "jane", f"A member's reply number {n} to the thread.")
        reply = poster.publish(post(2), lead, lead)
        assert reply.remote_id == f"{topic_id}/6"
        assert poster.find(post(2), lead) == reply
        pages = forum.calls("GET", f"/t/{topic_id}/posts.json")
        assert len(pages) == 1
        assert parse_qs(urlsplit(pages[0].path).query)["post_ids[]"] == [
            str(i) for i in forum.topics[topic_id]["post_ids"][2:]
        ]


# -- refusals and rate limits ----------------------------------------------------------------


def test_a_429_with_retry_after_is_waited_out_and_retried(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(1, True)]
    lead = poster.publish(post(1), None, None)
    posts = forum.calls("POST", "/posts.json")
    assert len(posts) == 2 and posts[1].time - posts[0].time >= 0.9
    assert len(forum.topics) == 1 and lead.remote_id.endswith("/1")


def test_a_429_gives_discourses_wait_seconds_as_retry_after(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(42, False)] * 5  # no Retry-After header: only the body says it
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    assert caught.value.retryable is True and caught.value.status == 429
    assert caught.value.retry_after == 42
    assert "rate limiting: wait 42 s" in str(caught.value)
    assert len(forum.calls("POST", "/posts.json")) == 5  # the first try and 4 retries
    assert forum.topics == {}


def test_a_long_429_is_not_slept_through(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    forum.rate_limits = [(600, True)]
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    assert caught.value.retryable is True and caught.value.retry_after == 600
    assert len(forum.calls("POST", "/posts.json")) == 1


def test_a_422_is_refused_with_discourses_message(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    poster.publish(post(1), None, None)
    other_day = post(1, key="forum/x/2027-07-20/1", thread_key="forum/x/2027-07-20")
    with pytest.raises(PostError) as caught:
        poster.publish(other_day, None, None)
    error = caught.value
    assert error.retryable is False and error.status == 422
    assert "Title has already been used" in str(error)
    assert "allow_duplicate_topic_titles" in str(error)
    assert len(forum.topics) == 1
    with pytest.raises(PostError, match=r"Title is too short \(minimum is 15 characters\)"):
        poster.publish(post(1, title="Too short", thread_key="forum/y/2026-07-20"), None, None)


def test_too_many_mentions_are_refused_for_a_member_but_not_for_staff(tmp_path):
    names = [f"member{n}" for n in range(11)]
    body = "Thanks to " + " ".join(f"@{n}" for n in names) + " for the photos."
    mentions = tuple(Member(n, n.title(), handles={"discourse": n}) for n in names)
    with FakeDiscourse() as forum:
        poster = make_poster(forum, tmp_path)
        with pytest.raises(PostError, match="only mention 10 users.*staff accounts are exempt"):
            poster.publish(post(1, body, mentions=mentions), None, None)
        assert forum.posts == {}
    with FakeDiscourse(staff=True) as forum:
        make_poster(forum, tmp_path).publish(post(1, body, mentions=mentions), None, None)
        assert forum.accepted() == [body]


def test_the_consecutive_replies_refusal_says_what_to_do(tmp_path):
    # a forum where the topic's author is not exempt (before Discourse 2.2, or a plugin)
    with FakeDiscourse(topic_owner_exempt=False) as forum:
        poster = make_poster(forum, tmp_path)
        lead, second, third = publish_thread(poster, 3)
        with pytest.raises(PostError) as caught:
            poster.publish(post(4), lead, third)
        error = caught.value
        assert error.retryable is False and error.status == 422
        message = str(error)
        assert "No more than 3 consecutive replies are allowed" in message
        assert "staff (admin or moderator) account" in message
        assert "raise max_consecutive_replies" in message
        assert API_KEY not in message
        assert len(forum.posts) == 3
        # 4 POSTs, and the look-up that checked the refused reply was not there already
        assert len(forum.calls("POST", "/posts.json")) == 4


def test_the_topic_author_and_staff_are_exempt_from_consecutive_replies(tmp_path):
    with FakeDiscourse() as forum:  # current Discourse: the bot opened the topic
        publish_thread(make_poster(forum, tmp_path), 6)
        assert len(forum.posts) == 6
    with FakeDiscourse(staff=True, topic_owner_exempt=False) as forum:
        publish_thread(make_poster(forum, tmp_path), 6)
        assert len(forum.posts) == 6


def test_a_refused_reply_past_the_limit_gets_the_hint_in_any_language(tmp_path):
    with FakeDiscourse(topic_owner_exempt=False) as forum:
        poster = make_poster(forum, tmp_path)
        lead, _, third = publish_thread(poster, 3)
        forum.max_consecutive_replies = 0  # let the reply through the limit...
        forum.min_post_length = 500  # ...to a refusal in words the adapter does not parse
        with pytest.raises(PostError) as caught:
            poster.publish(post(4), lead, third)
        assert "Body is too short" in str(caught.value)
        assert "if this is Discourse's limit on consecutive replies" in str(caught.value)


def test_wrong_credentials_are_named_and_the_key_never_shown(forum, tmp_path):
    poster = make_poster(forum, tmp_path, api_key="not-the-key-0000")
    with pytest.raises(PostError) as caught:
        poster.publish(post(1), None, None)
    error = caught.value
    assert error.retryable is False and error.status == 403
    assert "check api_key and api_username" in str(error)
    assert "not-the-key-0000" not in str(error) and API_KEY not in str(error)
    assert len(forum.requests) == 1 and forum.topics == {}
    unknown = make_poster(forum, tmp_path, api_username="nobody")
    with pytest.raises(PostError, match="refused the credentials"):
        unknown.check()


def test_a_401_is_a_credentials_error_too(tmp_path):
    def handle(request: Recorded):
        return 401, {}, {"errors": ["unauthorized"]}

    with LocalServer(handle) as server:
        settings = DiscoursePoster.validate_settings(
            {"url": server.url, "api_key": API_KEY, "api_username": BOT, "category": 1},
            "test",
            tmp_path,
        )
        poster = DiscoursePoster("forum", settings)
        with pytest.raises(PostError, match=r"refused the credentials \(401\)") as caught:
            poster.publish(post(1), None, None)
        assert caught.value.retryable is False


def test_a_redirected_post_is_not_replayed_as_a_get(tmp_path):
    def handle(request: Recorded):
        return 301, {"Location": "https://forum.example.org" + request.path}, b""

    with LocalServer(handle) as server:
        settings = DiscoursePoster.validate_settings(
            {"url": server.url, "api_key": API_KEY, "api_username": BOT, "category": 1},
            "test",
            tmp_path,
        )
        poster = DiscoursePoster("forum", settings)
        with pytest.raises(PostError, match=r"redirects /posts.json to https://forum.example.org"):
            poster.publish(post(1), None, None)
        assert [(r.method, r.path) for r in server.requests] == [("POST", "/posts.json")]


# -- images ----------------------------------------------------------------------------------


def test_images_are_uploaded_and_linked(forum, tmp_path):
    photo = tmp_path / "eagle.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"lunar module" * 10)
    images = (
        {"caption": "The Eagle [LM-5] | on the Moon", "url": None, "file": str(photo)},
        {"caption": "Aldrin", "url": "https://example.org/aldrin (1969).jpg", "file": None},
    )
    poster = make_poster(forum, tmp_path)
    lead = poster.publish(post(1, images=images), None, None)

    uploads = forum.calls("POST", "/uploads.json")
    assert len(uploads) == 1
    assert _header(uploads[0], "Api-Key") == API_KEY
    short_url = next(iter(forum.uploads.values()))["short_url"]
    assert forum.accepted() == [
        post(1).body
        + f"\n\n![The Eagle (LM-5) / on the Moon]({short_url})"
        + "\n\n![Aldrin](https://example.org/aldrin%20%281969%29.jpg)"
    ]
    # a lost answer: the same images again find the same post
    assert poster.find(post(1, images=images), None) == lead
    reply = poster.publish(post(2, images=images), lead, lead)
    assert poster.find(post(2, images=images), lead) == reply
    assert len(forum.uploads) == 1  # one upload per file content


def test_a_missing_image_file_falls_back_to_its_url_or_fails(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    gone = str(tmp_path / "gone.png")
    linked = ({"caption": "Gone", "url": "https://example.org/gone.png", "file": gone},)
    poster.publish(post(1, images=linked), None, None)
    assert forum.accepted()[0].endswith("\n\n![Gone](https://example.org/gone.png)")
    lost = ({"caption": "Lost", "url": None, "file": gone},)
    with pytest.raises(PostError, match="gone.png not found") as caught:
        poster.publish(post(1, images=lost, thread_key="forum/z/2026-07-20"), None, None)
    assert caught.value.retryable is False
    assert forum.calls("POST", "/uploads.json") == []


def test_images_that_would_pass_the_length_limit_are_left_out(forum, tmp_path):
    poster = make_poster(forum, tmp_path)
    body = "x" * (32000 - 40)
    images = (
        {"caption": "One", "url": "https://example.org/1.png", "file": None},
        {"caption": "Two", "url": "https://example.org/2.png", "file": None},
    )
    poster.publish(post(1, body, images=images), None, None)
    assert forum.accepted() == [body + "\n\n![One](https://example.org/1.png)"]


# -- check -----------------------------------------------------------------------------------


def test_check_says_who_it_is_logged_in_as(tmp_path):
    with FakeDiscourse() as forum:
        report = make_poster(forum, tmp_path).check()
        assert f"logged in to 127.0.0.1:{urlsplit(forum.url).port} as @{BOT} (not staff" in report
        assert "category 5 (Anniversaries) is visible" in report
        assert [urlsplit(r.path).path for r in forum.requests] == [
            "/session/current.json",
            "/c/5/show.json",
        ]
        with pytest.raises(PostError, match="category 99 does not exist"):
            make_poster(forum, tmp_path, category=99).check()
    with FakeDiscourse(staff=True) as forum:
        assert f"as @{BOT} (admin: exempt from" in make_poster(forum, tmp_path).check()
    assert forum.posts == {}


# -- the contract suite ----------------------------------------------------------------------


def test_the_harness_reads_back_what_the_forum_kept(tmp_path):
    harness = DiscourseHarness(tmp_path, None)
    try:
        settings = DiscoursePoster.validate_settings(harness.settings(), "test", tmp_path)
        poster = DiscoursePoster("contract", settings)
        publish_thread(poster, 2)
        assert harness.received() == [post(1).body, post(2).body]
        assert json.loads(harness.forum.calls("POST", "/posts.json")[0].body)["raw"] == post(1).body
    finally:
        harness.close()
