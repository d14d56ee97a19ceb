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
    assert len(posts) == 3 and len(forum.requests) == 5
    # before the lead, the account is read once (may it tag?); each reply follows the post
    # this poster just made, so none is looked up first
    reads = [urlsplit(r.path).path for r in forum.requests if r.method == "GET"]
    assert reads == ["/session/current.json", "/site.json"]
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
    before = len(forum.requests)
    assert again.find(post(1), None) == lead
    assert again.find(post(2), lead) == reply
    assert len(forum.topics) == 1 and len(forum.posts) == 2
    assert len(forum.calls("POST", "/posts.json")) == 2
    # one look-up by external_id, answered with Discourse's redirect, which is read, not
    # followed; then one read of the topic for the reply
    topic_id = int(lead.remote_id.split("/")[0])
    reads = [urlsplit(r.path).path for r in forum.requests[before:] if r.method == "GET"]
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
    assert len(forum.calls("POST", "/posts.json")) == 1 and forum.topics == {}
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
            "/site.json",
            "/c/5/show.json",
            "/tags.json",
            f"/t/external_id/{external_id('config-check')}.json",
        ]
        with pytest.raises(PostError, match="category 99 does not exist"):
            make_poster(forum, tmp_path, category=99).check()
    with FakeDiscourse(staff=True) as forum:
        assert (
            f"as @{BOT} (staff, trust level 4: exempt from" in make_poster(forum, tmp_path).check()
        )
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


# -- what the real server does that the fake did not (issue 21) --------------------------------

HELD_DAY = dt.date(2026, 7, 20)


def held_thread(store_path: Path):
    from bot.app import threads_for_day
    from bot.store import Store

    store = Store(store_path)
    (thread,) = threads_for_day(store, HELD_DAY, "markdown")
    return store, thread


def held_forum(**settings: Any) -> FakeDiscourse:
    forum = FakeDiscourse(**settings)
    forum.min_post_length = 5  # the three-part sample's replies are short and not fitted here
    return forum


def test_a_post_queued_for_review_is_held_not_failed_and_found_once_approved(tmp_path):
    # a trust-level-0 account on a forum that approves new users' posts
    with FakeDiscourse(account="tl0", approve_unless_trust_level=1) as forum:
        poster = make_poster(forum, tmp_path)
        held = poster.publish(post(1), None, None)
        assert held.held and held.url is None and forum.topics == {}
        (pending,) = forum.pending
        assert poster.find_held(post(1), None) is None  # still waits for the moderators
        forum.approve(pending)
        (topic,) = forum.topics.values()
        assert topic["external_id"] is None  # the approved topic lost it
        found = poster.find_held(post(1), None)
        assert found == Published(
            f"{topic['id']}/1", f"{forum.url}/t/{topic['slug']}/{topic['id']}"
        )
        assert not found.held


def test_a_held_lead_is_recorded_held_its_replies_wait_then_follow(tmp_path, three_part_store):
    from bot.operations.publish_report import history, history_cells
    from bot.publishing.log import publish_thread as publish_logged

    store, thread = held_thread(three_part_store)
    with held_forum(account="tl0", approve_unless_trust_level=1) as forum:
        result = publish_logged(store, make_poster(forum, tmp_path), "forum", thread)
        assert result.state == "held" and not result.failed
        assert [p.state for p in result.posts] == ["held", "planned", "planned"]
        assert "held by the forum's moderators" in result.summary()
        rows = [history_cells(row) for row in history(store, needs_a_look=True).rows]
        assert len(rows) == 1 and rows[0][4] == "held"
        assert "held by the forum's moderators for review" in rows[0][5]
        # a later run: still in the queue, nothing is sent again
        again = publish_logged(store, make_poster(forum, tmp_path), "forum", thread)
        assert again.state == "held" and len(forum.pending) == 1 and forum.posts == {}
        forum.approve(next(iter(forum.pending)))
        forum.approve_unless_trust_level = 0  # and the account no longer needs approval
        done = publish_logged(store, make_poster(forum, tmp_path), "forum", thread)
        assert done.state == "sent" and done.sent_now == 2
        (topic,) = forum.topics.values()
        assert [forum.posts[i]["post_number"] for i in topic["post_ids"]] == [1, 2, 3]
        assert len(forum.calls("POST", "/posts.json")) == 3  # the lead was sent once


def test_a_held_reply_holds_the_replies_after_it(tmp_path, three_part_store):
    from bot.publishing.log import publish_thread as publish_logged

    store, thread = held_thread(three_part_store)
    with held_forum(require_reply_approval=True) as forum:
        result = publish_logged(store, make_poster(forum, tmp_path), "forum", thread)
        assert [p.state for p in result.posts] == ["sent", "held", "planned"]
        forum.require_reply_approval = False
        forum.approve(next(iter(forum.pending)))
        done = publish_logged(store, make_poster(forum, tmp_path), "forum", thread)
        assert [p.state for p in done.posts] == ["sent", "sent", "sent"]
        assert len(forum.posts) == 3


@pytest.mark.parametrize("account", ["staff", "member"])
def test_a_reply_sent_again_later_is_looked_up_not_posted_twice(tmp_path, account):
    with FakeDiscourse(account=account) as forum:
        first = make_poster(forum, tmp_path)
        lead = first.publish(post(1), None, None)
        reply = first.publish(post(2), lead, lead)
        # later (past unique_posts_mins and the 120 s memo), another run sends it again:
        # staff skip the duplicate check altogether, and for others it has expired
        forum.now += 6 * 60
        again = make_poster(forum, tmp_path)
        assert again.publish(post(2), lead, lead) == reply
        assert len(forum.posts) == 2


def test_the_fake_forgets_duplicates_after_unique_posts_mins(tmp_path):
    with FakeDiscourse() as forum:
        poster = make_poster(forum, tmp_path)
        lead = poster.publish(post(1), None, None)
        topic_id = int(lead.remote_id.split("/")[0])
        forum.add_post(topic_id, BOT, post(2).body)
        assert forum._body_errors(post(2).body, forum.bot, False) == [
            "Body is too similar to what you recently posted"
        ]
        forum.now += 5 * 60
        assert forum._body_errors(post(2).body, forum.bot, False) == []
        forum.bot["admin"] = True
        forum.now = 0
        assert forum._body_errors(post(2).body, forum.bot, True) == []


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["On-This-Day"], "write 'on-this-day'"),
        (["history!"], "write 'history'"),
        (["a-tag-longer-than-twenty"], "at most 20 characters"),
        (["a", "b", "c", "d", "e", "f"], "at most 5 a topic"),
    ],
)
def test_tags_are_validated_as_discourse_keeps_them(forum, tmp_path, tags, message):
    with pytest.raises(ConfigError, match=rf"^test\.tags: .*{re.escape(message)}"):
        DiscoursePoster.validate_settings(settings_for(forum, tags=tags), "test", tmp_path)
    kept = ["on-this-day", "cold_war", "a", "b", "c"]
    assert DiscoursePoster.validate_settings(settings_for(forum, tags=kept), "t", tmp_path)["tags"]


def test_an_account_that_cannot_tag_posts_its_topic_without_tags(tmp_path, caplog):
    with FakeDiscourse(account="tl0") as forum:
        lead = make_poster(forum, tmp_path).publish(post(1), None, None)
        (topic,) = forum.topics.values()
        assert lead.remote_id == f"{topic['id']}/1" and topic["tags"] == []
        assert "tags on-this-day left out" in caplog.text
        assert "tags" not in forum.calls("POST", "/posts.json")[0].json()


def test_a_new_users_mention_and_image_caps_are_respected(tmp_path, caplog):
    with FakeDiscourse(account="tl0") as forum:
        poster = make_poster(forum, tmp_path, tags=[])
        assert poster.capabilities.max_mentions == 10
        poster.load_limits()
        assert poster.capabilities.max_mentions == 2
        assert DiscoursePoster.capabilities.max_mentions == 10  # the class keeps the default
        # the fake refuses a third mention, as Discourse does for trust level 0
        three = "FYI @jane @bob @carol: the Apollo 11 thread is up."
        with pytest.raises(PostError, match="new users can only mention 2 users"):
            poster.publish(post(1, three), None, None)
        images = (
            {"caption": "Aldrin", "url": "https://example.org/aldrin.jpg"},
            {"caption": "Eagle", "url": "https://example.org/eagle.jpg"},
        )
        lead = poster.publish(post(1, images=images), None, None)
        assert lead.remote_id.endswith("/1")
        assert forum.accepted()[-1].count("![") == 1
        assert "1 image(s) left out: @anniversary-bot may embed 1 a post" in caplog.text
    for account, cap in (("staff", 10), ("member", 10)):
        with FakeDiscourse(account=account) as forum:
            poster = make_poster(forum, tmp_path)
            poster.load_limits()
            assert poster.capabilities.max_mentions == cap and poster.max_images is None


def test_fitting_moves_mentions_past_a_new_users_cap(tmp_path):
    from bot.config.channel import Channel
    from bot.config.loading import load_config
    from bot.threads.fitting import fit_for
    from bot.threads.render import Post, Thread, mention_text

    members = [Member(f"m{i}", f"Member {i}", {"discourse": f"member{i}"}) for i in range(5)]
    line = "FYI " + " ".join(mention_text(m, "discourse", "markdown") for m in members)
    thread = Thread(
        "1969-07-20-apollo-11", None, HELD_DAY, "markdown",
        [Post(1, "The Apollo 11 thread, with its FYI list.\n\n" + line, TITLE, members)],
    )  # fmt: skip
    with FakeDiscourse(account="tl0") as forum:
        poster = make_poster(forum, tmp_path)
        poster.load_limits()
        config = load_config(None)
        destination = next(iter(config.destinations.values()))
        fitted = fit_for(thread, Channel(config, destination, poster))
    assert len(fitted.posts) == 3
    for fitted_post in fitted.posts:
        assert len(re.findall(r"@member\d", fitted_post.body)) <= 2
    assert sorted(m.id for p in fitted.posts for m in p.mentions) == [m.id for m in members]


def test_check_reports_trust_level_staff_tagging_and_key_scopes(tmp_path):
    with FakeDiscourse(account="tl0") as forum:
        report = make_poster(forum, tmp_path).check()
        assert "(not staff, trust level 0: at most 2 mentions and 1 image a post" in report
        assert "tags: on-this-day will be left out: @anniversary-bot cannot tag topics" in report
        assert "key: reads the session and looks topics up by external_id" in report
    with FakeDiscourse(account="member") as forum:
        report = make_poster(forum, tmp_path, tags=["on-this-day", "space"]).check()
        assert "not staff, trust level 1" in report
        assert "tags: space do(es) not exist on the forum" in report
    with FakeDiscourse(account="staff") as forum:
        report = make_poster(forum, tmp_path, tags=["space"]).check()
        assert "(staff, trust level 4: exempt from" in report
        assert "tags: space (this account may create tags)" in report
    scopes = {"topics:write", "topics:read", "users:show", "categories:show", "uploads:create"}
    with FakeDiscourse(account="member", scopes=scopes, external_id_scope=False) as forum:
        report = make_poster(forum, tmp_path).check()
        assert "not staff, trust level 1" in report  # read from the public profile
        assert "it is a scoped key (/session/current.json is refused)" in report
        assert "it may not look topics up by external_id" in report
        assert "tags: on-this-day (whether they exist could not be read)" in report


def test_the_daemon_looks_a_held_lead_up_and_its_day_ending_misses_only_the_replies(
    tmp_path, three_part_store, monkeypatch
):
    from bot.config.loading import load_config
    from bot.operations.retry import retry
    from bot.publishing.log import PublishLog
    from bot.publishing.scheduler import DailyJob
    from bot.store import Store
    from tests.conftest import write_config

    def at(day: int, hour: int) -> dt.datetime:
        return dt.datetime(2026, 7, day, hour, tzinfo=dt.UTC)

    def states() -> dict[int, str]:
        rows = PublishLog(Store(three_part_store)).rows("forum", HELD_DAY)
        return {row["number"]: row["state"] for row in rows}

    with held_forum(account="tl0", approve_unless_trust_level=1) as forum:
        monkeypatch.setenv("DISCOURSE_KEY", API_KEY)
        config = load_config(
            write_config(
                tmp_path / "bot.yaml",
                f"  forum:\n    type: discourse\n    url: {forum.url}\n"
                "    api_key: {$env: DISCOURSE_KEY}\n"
                f"    api_username: {BOT}\n    category: {CATEGORY}\n"
                "    time: '07:00'\n    timezone: UTC\n",
            )
        )
        DailyJob(three_part_store, config).run_destination("forum", at(20, 7))
        assert states() == {1: "held", 2: "planned", 3: "planned"}
        # the sweeps look it up and send nothing again while it waits
        DailyJob(three_part_store, config).run_destination("forum", at(20, 8))
        assert states()[1] == "held" and len(forum.calls("POST", "/posts.json")) == 1
        # the day ends first: the replies are missed, the held lead stays held
        DailyJob(three_part_store, config).run_destination("forum", at(21, 7))
        assert states() == {1: "held", 2: "missed", 3: "missed"}
        # approved later: `retry` finds it and records it sent; nothing is sent late
        forum.approve(next(iter(forum.pending)))
        list(retry(Store(three_part_store), config))
        assert states() == {1: "sent", 2: "missed", 3: "missed"}
        assert len(forum.posts) == 1 and len(forum.calls("POST", "/posts.json")) == 1
