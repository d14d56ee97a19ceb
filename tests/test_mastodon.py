"""The Mastodon adapter against a local server that enforces Mastodon's documented API: Bearer
token, the status length as Mastodon counts it (URLs as 23, mentions by their local part, the
content warning included), replies to statuses that exist, Idempotency-Key, instance limits,
asynchronous media processing and rate limiting."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from bot.errors import ConfigError
from bot.model.dates import AnniversaryDate
from bot.posters.base import OutgoingPost, PostError, Published
from bot.posters.mastodon import (
    IDEMPOTENCY_KEY_LIFETIME,
    MastodonPoster,
    count_graphemes,
    count_length,
    idempotency_key,
    status_length,
)
from tests.harnesses.mastodon import TOKEN, FakeMastodon, MastodonHarness, mastodon_length

DAY = dt.date(2026, 7, 20)


# --- Mastodon's counting, written independently of the adapter's -----------------------------
#
# A plainer reading of StatusLengthValidator than bot.posters.mastodon's port of twitter-text:
# the fake server counts with it, and the tests check that both agree.


# --- a local Mastodon -------------------------------------------------------------------------


class FakeTime:
    """A clock and a sleep that only pretend: the media wait is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def server():
    with FakeMastodon() as fake:
        yield fake


def make_poster(url: str, tmp_path: Path, token: str = TOKEN, **kwargs: Any) -> MastodonPoster:
    settings = MastodonPoster.validate_settings(
        {"url": url, "access_token": token, "visibility": "unlisted"}, "test", tmp_path
    )
    poster = MastodonPoster("masto", settings, **kwargs)
    # connection retries back off for seconds by default
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


def post(
    number: int,
    body: str | None = None,
    *,
    title: str | None = None,
    sensitive: bool = False,
    images: tuple[dict[str, Any], ...] = (),
) -> OutgoingPost:
    return OutgoingPost(
        key=f"masto/1969-07-20-apollo-11/{DAY.isoformat()}/{number}",
        thread_key=f"masto/1969-07-20-apollo-11/{DAY.isoformat()}",
        number=number,
        body=body if body is not None else f"Post {number} of the thread.",
        format="text",
        event_id="1969-07-20-apollo-11",
        day=DAY,
        title=title if number == 1 else None,
        sensitive=sensitive,
        images=images,
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- counting ---------------------------------------------------------------------------------

COUNTED = [
    ("plain text", 10),
    ("  surrounding space is stripped \n", 29),
    ("see https://en.wikipedia.org/wiki/Apollo_11 now", 4 + 23 + 4),
    ("https://a.co", 23),  # a short URL counts 23 too
    ("end of a sentence: https://en.wikipedia.org/wiki/Apollo_11.", 19 + 23 + 1),
    ("(https://en.wikipedia.org/wiki/Mercury_(planet))", 1 + 23 + 1),
    ("https://www.youtube.com/watch?v=abc123&t=10s", 23),
    ("two https://example.org/a and http://example.org/b", 4 + 23 + 5 + 23),
    ("FYI @jane@mastodon.example.social @bob", 4 + 5 + 1 + 4),
    ("FYI @Jane_Doe.x@Example.Social!", 4 + 11 + 1),
    ("@\u200bjane@example.social is neutralised", 21 + 15),  # not a mention: counted whole
    ("mail jane@example.com", 21),  # not a mention, no protocol: not a URL
    ("@jane@", 6),  # a mention followed by "@" is none
    ("https://mastodon.social/@jane@example.social", 23),  # the URL starts first
    ("https://localhost:8080/abcdef", 29),  # no top-level domain: not a link
    ("https://127.0.0.1/abcdef", 24),
    ("https://example.com1/abc", 24),
    ("xhttps://example.com/" + "a" * 30, 51),  # glued to a word: not a link
    ("e\u0301te\u0301", 3),  # combining accents
    ("👨\u200d👩\u200d👧 family", 8),  # one emoji sequence
    ("🇫🇷🇩🇪", 2),  # two flags
    ("👍🏽", 1),
    ("a\r\nb", 3),
    ("한국어", 3),
    ("", 0),
    ("Zürich — 1928 «exile»", 21),  # non-ASCII, none of it joining: one cluster per character
    ("ü\r\nü 日本 🎉", 8),
    ("ü\u0301 日本", 4),  # a combining mark after non-ASCII joins it
]


@pytest.mark.parametrize(("text", "expected"), COUNTED)
def test_count_length_counts_as_mastodon_does(text, expected):
    assert count_length(text) == expected
    assert mastodon_length(text) == expected


def test_count_length_takes_the_instance_url_length():
    text = "read https://en.wikipedia.org/wiki/Apollo_11"
    assert count_length(text, url_length=30) == 5 + 30
    assert count_length(text, url_length=0) == 5


def test_a_content_warning_counts_as_written():
    body = "see https://en.wikipedia.org/wiki/Apollo_11"
    assert status_length(body, "CW: https://example.org/long/path") == 33 + 27
    assert count_graphemes("Content warning: é") == 18


def test_count_length_agrees_with_the_helper_on_every_bundled_event(sample_store):
    from bot.events.mentions import MentionDirectory
    from bot.threads.render import render_thread

    directory = MentionDirectory.from_store(sample_store)
    bodies = []
    for event in sample_store.iter_events():
        day = dt.date(2028, event.date.month, event.date.day)  # a leap year: Feb 29 exists
        bodies += [p.body for p in render_thread(event, day, "text", directory, "mastodon").posts]
    assert len(bodies) > 300
    assert sum("https://" in body for body in bodies) > 50
    differing = [b for b in bodies if count_length(b) != mastodon_length(b)]
    assert differing == []


# --- settings ---------------------------------------------------------------------------------


def test_settings_check_visibility_and_url(tmp_path):
    settings = MastodonPoster.validate_settings(
        {"url": "https://mastodon.example/", "access_token": TOKEN}, "dest", tmp_path
    )
    assert settings["visibility"] == "public"
    assert TOKEN not in repr(settings)
    poster = MastodonPoster("dest", settings)
    assert poster.base_url == "https://mastodon.example"
    poster.close()
    with pytest.raises(ConfigError, match=r"dest\.visibility"):
        MastodonPoster.validate_settings(
            {"url": "https://m.example", "access_token": TOKEN, "visibility": "friends"},
            "dest",
            tmp_path,
        )
    with pytest.raises(ConfigError, match=r"dest\.url"):
        MastodonPoster.validate_settings(
            {"url": "mastodon.example", "access_token": TOKEN}, "dest", tmp_path
        )
    with pytest.raises(ConfigError, match=r"dest\.access_token: required key"):
        MastodonPoster.validate_settings({"url": "https://m.example"}, "dest", tmp_path)


def test_declares_what_mastodon_takes():
    caps = MastodonPoster.capabilities
    assert (caps.max_length, caps.url_length, caps.max_mentions) == (500, 23, 8)
    assert (caps.replies, caps.titles, caps.images) == (True, False, True)
    assert caps.mention_syntax == "{handle}"
    assert MastodonPoster.platform == "mastodon" and MastodonPoster.formats == ("text",)
    assert MastodonPoster.can_find is False and MastodonPoster.resend_window == 3000
    assert MastodonPoster.secret_settings == ("access_token",)


# --- publishing -------------------------------------------------------------------------------


def test_a_thread_is_a_chain_of_replies(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    lead = poster.publish(post(1, title="Apollo 11"), None, None)
    second = poster.publish(post(2), lead, lead)
    third = poster.publish(post(3), lead, second)
    poster.close()

    assert server.calls() == ["POST /api/v1/statuses"] * 3
    statuses = list(server.statuses.values())
    assert [s["text"] for s in statuses] == [post(n).body for n in (1, 2, 3)]
    assert [s["in_reply_to_id"] for s in statuses] == [None, lead.remote_id, second.remote_id]
    assert [lead.remote_id, second.remote_id, third.remote_id] == [s["id"] for s in statuses]
    assert third.url == f"{server.url}/@historybot/{third.remote_id}"
    assert {s["visibility"] for s in statuses} == {"unlisted"}
    assert not any(s["sensitive"] or s["spoiler_text"] for s in statuses)
    for number, request in enumerate(server.requests, 1):
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        key = f"masto/1969-07-20-apollo-11/2026-07-20/{number}"
        assert request.headers["Idempotency-Key"] == sha256(f"anniversary-bot:{key}")
        assert "title" not in request.json()  # Mastodon has no titles


def test_sending_a_post_again_creates_no_duplicate(server, tmp_path):
    first = make_poster(server.url, tmp_path).publish(post(1), None, None)
    # a new process, after a crash: the same post, the same key
    again = make_poster(server.url, tmp_path).publish(post(1), None, None)
    assert again == first
    assert len(server.statuses) == 1
    assert server.calls() == ["POST /api/v1/statuses"] * 2
    key = idempotency_key(post(1).key)
    assert key == idempotency_key(post(1).key) != idempotency_key(post(2).key)
    assert re.fullmatch(r"[0-9a-f]{64}", key)


def test_mastodon_forgets_the_key_after_an_hour(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    first = poster.publish(post(1), None, None)
    server.offset = IDEMPOTENCY_KEY_LIFETIME + 1
    later = poster.publish(post(1), None, None)
    assert later.remote_id != first.remote_id and len(server.statuses) == 2


def _thread(bodies: list[str]):
    from bot.threads.render import Post, Thread

    posts = [Post(number, body) for number, body in enumerate(bodies, 1)]
    return Thread("1969-07-20-apollo-11", AnniversaryDate(7, 20, 1969), DAY, "text", posts)


def test_a_post_left_sending_by_a_crash_is_sent_again_once(server, tmp_path, store):
    from bot.publishing.log import PublishLog, outgoing_posts, publish_thread

    thread = _thread(["The lead.", "The second.", "The third."])
    posts = outgoing_posts(thread, "masto")
    log = PublishLog(store)
    log.plan(posts, "masto")
    poster = make_poster(server.url, tmp_path)
    # the crash: post 1 reached Mastodon, the process died before it recorded the answer
    log.mark_sending(posts[0].key)
    created = poster.publish(posts[0], None, None)

    result = publish_thread(store, poster, "masto", thread)

    assert [p.state for p in result.posts] == ["sent"] * 3
    assert result.posts[0].remote_id == created.remote_id
    assert server.texts() == ["The lead.", "The second.", "The third."]
    chain = [s["in_reply_to_id"] for s in server.statuses.values()]
    assert chain == [None, result.posts[0].remote_id, result.posts[1].remote_id]
    assert server.calls() == ["POST /api/v1/statuses"] * 4  # 1 before the crash, 3 after


def test_past_the_hour_a_post_left_sending_waits_for_a_person(server, tmp_path, store):
    from bot.publishing.log import PublishLog, outgoing_posts, publish_thread

    thread = _thread(["The lead.", "The second."])
    posts = outgoing_posts(thread, "masto")
    start = dt.datetime(2026, 7, 20, 7, 0, tzinfo=dt.UTC)
    log = PublishLog(store, lambda: start)
    log.plan(posts, "masto")
    log.mark_sending(posts[0].key)

    later = start + dt.timedelta(seconds=MastodonPoster.resend_window + 60)
    poster = make_poster(server.url, tmp_path)
    result = publish_thread(store, poster, "masto", thread, clock=lambda: later)

    assert [p.state for p in result.posts] == ["unconfirmed", "planned"]
    assert server.requests == []


def test_a_resend_at_the_end_of_the_window_still_lands_inside_mastodons_hour(tmp_path, store):
    """The lead went out at once with its four images, then the process died. The resend,
    decided as late as the window allows, uploads the images again, and this time Mastodon
    takes 50 s to process each: the status must still reach Mastodon inside the key's hour,
    or it is posted twice."""
    from bot.publishing.log import PublishLog, outgoing_posts, publish_thread
    from bot.threads.render import Post, Thread

    fake = FakeTime()
    images = [_image(tmp_path, f"{n}.jpg", f"Image {n}.") for n in range(4)]
    posts = [Post(1, "The lead.", images=images), Post(2, "The second.")]
    thread = Thread("1969-07-20-apollo-11", AnniversaryDate(7, 20, 1969), DAY, "text", posts)
    start = dt.datetime(2026, 7, 20, 7, 0, tzinfo=dt.UTC)
    with FakeMastodon(processing_polls=0, clock=fake.clock) as server:
        outgoing = outgoing_posts(thread, "masto")
        log = PublishLog(store, lambda: start)
        log.plan(outgoing, "masto")
        log.mark_sending(outgoing[0].key)
        poster = make_poster(server.url, tmp_path, clock=fake.clock, sleep=fake.sleep)
        first = poster.publish(outgoing[0], None, None)  # reached Mastodon; the crash follows

        age = MastodonPoster.resend_window
        fake.now += age
        server.processing_seconds = 50.0
        later = start + dt.timedelta(seconds=age)
        result = publish_thread(store, poster, "masto", thread, clock=lambda: later)

        assert [p.state for p in result.posts] == ["sent", "sent"]
        assert result.posts[0].remote_id == first.remote_id
        assert server.texts() == ["The lead.", "The second."]  # the lead once
        assert fake.now - 1000.0 < IDEMPOTENCY_KEY_LIFETIME  # the resend was inside the hour


def test_a_sensitive_post_has_a_content_warning(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    lead = poster.publish(post(1, title="The Challenger disaster", sensitive=True), None, None)
    poster.publish(post(2, sensitive=True), lead, lead)
    first, second = (request.json() for request in server.requests)
    assert first["spoiler_text"] == "Content warning: The Challenger disaster"
    assert second["spoiler_text"] == "Sensitive history"
    assert first["sensitive"] is second["sensitive"] is True
    assert [s["spoiler_text"] for s in server.statuses.values()] == [
        "Content warning: The Challenger disaster",
        "Sensitive history",
    ]


def test_a_content_warning_is_shortened_to_fit_the_limit(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    title = "The Space Shuttle Challenger breaks apart after launch"
    poster.publish(post(1, "x" * 480, title=title, sensitive=True), None, None)
    poster.publish(post(2, "y" * 495, sensitive=True), None, None)
    assert [s["spoiler_text"] for s in server.statuses.values()] == ["Sensitive history", "CW"]

    with pytest.raises(PostError, match="no room .* for a content warning") as error:
        poster.publish(post(3, "z" * 499, sensitive=True), None, None)
    assert error.value.retryable is False
    assert len(server.requests) == 2  # the third was never sent without a warning


def test_the_server_counts_a_content_warning_toward_the_limit(server):
    # the fake enforces it, so the test above would fail if the adapter ignored it
    answer = requests.post(
        f"{server.url}/api/v1/statuses",
        json={"status": "x" * 495, "spoiler_text": "Sensitive history", "sensitive": True},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "Validation failed: Text character limit of 500 exceeded"


def test_urls_and_mentions_count_as_mastodon_counts_them(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    url = "https://en.wikipedia.org/wiki/" + "Apollo_11_" * 20  # 230 characters
    mention = "@historian@a-very-long-instance-name.example.social"
    body = "a" * 440 + f" {url} {mention}"  # 440 + 1 + 23 + 1 + 10 = 475 as Mastodon counts
    assert len(body) > 700 and count_length(body) == 475
    published = poster.publish(post(1, body), None, None)
    assert server.statuses[published.remote_id]["text"] == body


def test_an_over_long_status_is_refused_for_good(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as error:
        poster.publish(post(1, "x" * 501), None, None)
    assert error.value.status == 422 and error.value.retryable is False
    assert "Text character limit of 500 exceeded" in str(error.value)
    assert server.statuses == {} and len(server.requests) == 1


def test_a_reply_to_a_deleted_status_says_so(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError, match=r"replies to \(4242\) is not on") as error:
        poster.publish(post(2), Published("4242"), Published("4242"))
    assert error.value.status == 404 and error.value.retryable is False


def test_a_wrong_token_is_a_clear_error_that_does_not_show_it(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-token-9d8e7f"
    poster = make_poster(server.url, tmp_path, token=wrong)
    with pytest.raises(PostError) as error:
        poster.publish(post(1), None, None)
    assert error.value.status == 401 and error.value.retryable is False
    assert "access_token" in str(error.value) and wrong not in str(error.value)
    with pytest.raises(PostError, match="refused the access token"):
        poster.check()
    assert wrong not in caplog.text
    assert server.statuses == {}


# --- rate limits ------------------------------------------------------------------------------


def test_a_short_retry_after_is_waited_for(server, tmp_path):
    server.script.append((429, {"Retry-After": "1"}, {"error": "Too many requests"}))
    poster = make_poster(server.url, tmp_path)
    started = time.monotonic()
    published = poster.publish(post(1), None, None)
    assert time.monotonic() - started >= 0.9
    assert server.calls() == ["POST /api/v1/statuses"] * 2
    assert list(server.statuses) == [published.remote_id]


def test_a_long_retry_after_becomes_the_next_retry(server, tmp_path):
    server.script.append((429, {"Retry-After": "3600"}, {"error": "Too many requests"}))
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as error:
        poster.publish(post(1), None, None)
    assert error.value.retryable is True and error.value.retry_after == 3600
    assert len(server.requests) == 1 and server.statuses == {}


def test_mastodons_rate_limit_reset_becomes_the_next_retry(server, tmp_path):
    now = dt.datetime(2026, 7, 20, 7, 0, tzinfo=dt.UTC)
    reset = (now + dt.timedelta(seconds=275)).isoformat(timespec="microseconds")
    server.script.append(
        (429, {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset": reset.replace("+00:00", "Z")},
         {"error": "Too many requests"})
    )  # fmt: skip
    poster = make_poster(server.url, tmp_path, now=lambda: now)
    with pytest.raises(PostError) as error:
        poster.publish(post(1), None, None)
    assert error.value.status == 429 and error.value.retryable is True
    assert error.value.retry_after == 275
    # not retried at once: the limit is spent until the reset
    assert len(server.requests) == 1 and server.statuses == {}


# --- limits -----------------------------------------------------------------------------------


def test_limits_come_from_the_instance(tmp_path):
    with FakeMastodon(max_characters=1000, url_length=30, max_media=2) as server:
        poster = make_poster(server.url, tmp_path)
        poster.load_limits()
        assert poster.capabilities.max_length == 1000
        assert poster.capabilities.url_length == 30
        assert poster.max_media == 2
        assert MastodonPoster.capabilities.max_length == 500  # the class default stays
        assert "Authorization" not in server.requests[0].headers  # a public endpoint
        poster.publish(post(1, "x" * 990), None, None)
        with pytest.raises(PostError, match="limit of 1000 exceeded"):
            poster.publish(post(2, "x" * 1001), None, None)
        assert server.calls() == ["GET /api/v2/instance"] + ["POST /api/v1/statuses"] * 2


def test_limits_from_an_older_server(tmp_path):
    with FakeMastodon(max_characters=5000, has_v2_instance=False) as server:
        poster = make_poster(server.url, tmp_path)
        poster.load_limits()
        assert poster.capabilities.max_length == 5000 and poster.capabilities.url_length == 23
        assert server.calls() == ["GET /api/v2/instance", "GET /api/v1/instance"]


def test_limits_stay_the_defaults_when_the_instance_does_not_say(server, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.posters.mastodon")
    server.script.append((200, {}, {"domain": "127.0.0.1"}))
    poster = make_poster(server.url, tmp_path)
    poster.load_limits()
    assert poster.capabilities == MastodonPoster.capabilities
    assert "keeping the default limits (500 characters, URLs as 23)" in caplog.text


def test_limits_stay_the_defaults_when_the_instance_is_down(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.posters.mastodon")
    with FakeMastodon() as server:
        url = server.url
    poster = make_poster(url, tmp_path)  # nothing listens there any more
    poster.load_limits()
    assert poster.capabilities == MastodonPoster.capabilities and poster.max_media == 4
    assert "could not read them" in caplog.text


# --- images -----------------------------------------------------------------------------------


def _image(tmp_path: Path, name: str, caption: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(b"\xff\xd8\xff\xe0 a JPEG " + name.encode())
    return {"caption": caption, "url": None, "file": str(path)}


def test_an_image_is_uploaded_and_waited_for(server, tmp_path):
    fake = FakeTime()
    poster = make_poster(server.url, tmp_path, clock=fake.clock, sleep=fake.sleep)
    eagle = _image(tmp_path, "eagle.jpg", "The lunar module Eagle.")
    linked = {"caption": "Aldrin on the Moon.", "url": "https://example.org/a.jpg", "file": None}
    published = poster.publish(post(1, images=(eagle, linked)), None, None)

    (media_id,) = server.media
    assert server.calls() == [
        "POST /api/v2/media",
        f"GET /api/v1/media/{media_id}",  # 206: processing
        f"GET /api/v1/media/{media_id}",  # 206
        f"GET /api/v1/media/{media_id}",  # 200 with its URL
        "POST /api/v1/statuses",
    ]
    assert fake.sleeps == [1.0, 2.0, 4.0]
    media = server.media[media_id]
    assert media["description"] == "The lunar module Eagle."
    assert (media["filename"], media["content_type"]) == ("eagle.jpg", "image/jpeg")
    assert media["bytes"] == Path(eagle["file"]).read_bytes()
    assert server.requests[-1].json()["media_ids"] == [media_id]
    assert server.statuses[published.remote_id]["media_ids"] == [media_id]


def test_the_wait_for_an_image_is_bounded(tmp_path):
    with FakeMastodon(processing_polls=10**6) as server:
        fake = FakeTime()
        poster = make_poster(server.url, tmp_path, clock=fake.clock, sleep=fake.sleep)
        image = _image(tmp_path, "slow.png", "A slow image.")
        with pytest.raises(PostError, match="still being processed after 60 s") as error:
            poster.publish(post(1, images=(image,)), None, None)
        assert error.value.retryable is True
        assert sum(fake.sleeps) == 60 and max(fake.sleeps) == 5
        assert server.statuses == {}
        assert server.calls().count("POST /api/v1/statuses") == 0
        assert len(server.requests) == 1 + len(fake.sleeps)


def test_the_wait_for_all_the_images_of_a_status_is_bounded(tmp_path):
    with FakeMastodon(processing_seconds=50.0) as server:
        fake = FakeTime()
        server.clock = fake.clock
        poster = make_poster(server.url, tmp_path, clock=fake.clock, sleep=fake.sleep)
        poster.media_budget = 120.0
        images = tuple(_image(tmp_path, f"{n}.jpg", f"Image {n}.") for n in range(4))
        with pytest.raises(PostError, match="2.jpg was still being processed after 16 s"):
            poster.publish(post(1, images=images), None, None)
        assert sum(fake.sleeps) == 120 and server.statuses == {}


def test_an_image_mastodon_fails_to_process_is_left_out_with_a_warning(tmp_path, caplog):
    with FakeMastodon(processing_fails=True) as server:
        fake = FakeTime()
        poster = make_poster(server.url, tmp_path, clock=fake.clock, sleep=fake.sleep)
        broken = _image(tmp_path, "broken.jpg", "A broken image.")
        published = poster.publish(post(1, images=(broken,)), None, None)
        (media_id,) = server.media
        assert server.calls() == [
            "POST /api/v2/media",
            f"GET /api/v1/media/{media_id}",  # 422: processing failed
            "POST /api/v1/statuses",
        ]
        assert server.statuses[published.remote_id]["media_ids"] == []
        assert server.texts() == [post(1).body]
        assert "image broken.jpg left out" in caplog.text
        assert "Error processing thumbnail" in caplog.text


@pytest.mark.parametrize(
    ("status", "error"),
    [(422, "File type of uploaded media could not be verified"),
     (500, "Error processing thumbnail for uploaded media")],
)  # fmt: skip
def test_an_image_refused_on_upload_is_left_out_with_a_warning(tmp_path, caplog, status, error):
    # app/controllers/api/v2/media_controller.rb: 422 for an unverifiable type, 500 when
    # processing fails during the upload (the HTTP layer tries a 500 five times)
    with FakeMastodon(processing_polls=0) as server:
        server.script = [(status, {}, {"error": error})] * (1 if status == 422 else 5)
        poster = make_poster(server.url, tmp_path)
        image = _image(tmp_path, "odd.jpg", "An odd image.")
        published = poster.publish(post(1, images=(image,)), None, None)
        assert server.statuses[published.remote_id]["media_ids"] == []
        assert f"image odd.jpg left out: 127.0.0.1:{urlsplit(server.url).port}" in caplog.text


def test_at_most_the_instances_number_of_images_go_with_a_status(tmp_path, caplog):
    with FakeMastodon(processing_polls=0) as server:
        poster = make_poster(server.url, tmp_path)
        images = tuple(_image(tmp_path, f"{n}.jpg", f"Image {n}.") for n in range(5))
        missing = {"caption": "Gone.", "url": None, "file": str(tmp_path / "gone.jpg")}
        poster.publish(post(1, images=(missing, *images)), None, None)
        assert server.calls() == ["POST /api/v2/media"] * 4 + ["POST /api/v1/statuses"]
        assert [m["description"] for m in server.media.values()] == [
            f"Image {n}." for n in range(4)
        ]
        assert server.requests[-1].json()["media_ids"] == list(server.media)
        assert "gone.jpg left out" in caplog.text and "the rest are left out" in caplog.text


# --- check ------------------------------------------------------------------------------------


def test_check_names_the_account(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    said = poster.check()
    assert said.startswith(f"token accepted by {urlsplit(server.url).netloc}: posts as @historybot")
    assert f"{server.url}/@historybot" in said and "visibility unlisted" in said
    assert server.calls() == ["GET /api/v1/accounts/verify_credentials"]
    assert server.statuses == {}


def test_check_with_a_token_that_may_only_post(tmp_path):
    with FakeMastodon(credentials_status=403) as server:
        said = make_poster(server.url, tmp_path).check()
    assert "token accepted" in said and "write:statuses" in said


# --- the contract suite -----------------------------------------------------------------------


def test_the_harness_reads_back_what_was_accepted(tmp_path, capsys):
    harness = MastodonHarness(tmp_path, capsys)
    try:
        poster = make_poster(harness.server.url, tmp_path)
        poster.publish(post(1, "One."), None, None)
        assert harness.received() == ["One."]
        assert json.loads(harness.server.requests[0].body)["status"] == "One."
    finally:
        harness.close()
