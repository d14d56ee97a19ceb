"""The slack adapter against a local server that enforces the Web API's contract: the Bearer
token, ``{"ok": false, "error": ...}`` refusals with HTTP 200, ``thread_ts`` naming an existing
top-level message, metadata returned only with ``include_all_metadata``, cursor pagination, and
429 with ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import ConfigError
from bot.events.mentions import Member
from bot.posters.base import Outcome, OutgoingPost, PostError, Published
from bot.posters.slack import EVENT_TYPE, SlackPoster
from bot.publishing.log import PublishLog, outgoing_posts, publish_thread
from bot.threads.render import ZERO_WIDTH_SPACE
from tests.harnesses.slack import CHANNEL, TOKEN, SlackServer
from tests.test_discord import injection_thread
from tests.test_render import DIRECTORY, make_event

DAY = dt.date(2026, 7, 20)


def notified(text: str) -> set[str]:
    """Whom Slack would notify for this text: "<@U..>" users and "<!channel>"-like
    broadcasts and user groups. ``link_names`` is off, so plain "@word" pings nobody."""
    return set(re.findall(r"<([@!][^>|]*)(?:\|[^>]*)?>", text))


@pytest.fixture
def server():
    with SlackServer() as s:
        yield s


def make_poster(server: SlackServer, tmp_path, **extra) -> SlackPoster:
    values = {"token": TOKEN, "channel": CHANNEL, "api_url": server.api_url, **extra}
    poster = SlackPoster("slk", SlackPoster.validate_settings(values, "test", tmp_path))
    # keep the tests quick: urllib3 backs off 0.5 s, 1 s, ... by default
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


def post(number: int, body: str = "", mentions=()) -> OutgoingPost:
    return OutgoingPost(
        key=f"slk/apollo/2026-07-20/{number}",
        thread_key="slk/apollo/2026-07-20",
        number=number,
        body=body or f"Post number {number}.",
        format="text",
        event_id="apollo",
        day=DAY,
        title="A title" if number == 1 else None,
        mentions=tuple(mentions),
    )


def permalink(ts: str, thread: str | None = None) -> str:
    link = f"https://example.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    return link + (f"?thread_ts={thread}&cid={CHANNEL}" if thread else "")


# --- threads ------------------------------------------------------------------------------------


def test_a_thread_lead_then_replies_under_it(server, tmp_path):
    poster = make_poster(server, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), lead, lead)
    third = poster.publish(post(3), lead, reply)
    ts = [m["ts"] for m in server.messages]
    assert [lead.remote_id, reply.remote_id, third.remote_id] == ts
    assert lead.url == permalink(ts[0]) and third.url == permalink(ts[2], ts[0])
    assert server.calls() == ["chat.postMessage", "chat.getPermalink"] * 3
    bodies = [r.json() for r in server.posted()]
    assert bodies[0] == {
        "channel": CHANNEL,
        "text": "Post number 1.",
        "unfurl_links": False,
        "link_names": False,
        "metadata": {"event_type": EVENT_TYPE, "event_payload": {"key": post(1).key}},
    }
    # replies name the lead, never the previous reply
    assert [b.get("thread_ts") for b in bodies] == [None, ts[0], ts[0]]
    for r in server.requests:
        assert r.headers["Authorization"] == f"Bearer {TOKEN}"
    assert [r.headers.get("Content-Type") for r in server.posted()] == [
        "application/json; charset=utf-8"
    ] * 3


def test_a_reply_to_a_lead_marked_sent_by_hand_finds_the_lead_by_its_key(server, tmp_path):
    poster = make_poster(server, tmp_path)
    lead = poster.publish(post(1), None, None)
    reply = poster.publish(post(2), Published("(confirmed by hand)"), None)
    assert server.posted()[-1].json()["thread_ts"] == lead.remote_id
    assert server.messages[-1]["thread_ts"] == lead.remote_id != reply.remote_id


def test_a_reply_whose_lead_is_not_there_fails_clearly(server, tmp_path):
    poster = make_poster(server, tmp_path)
    with pytest.raises(PostError, match="the lead is not in the channel") as raised:
        poster.publish(post(2), Published("(confirmed by hand)"), None)
    assert raised.value.retryable is False and server.posted() == []


def test_thread_ts_must_be_an_existing_message(server, tmp_path):
    poster = make_poster(server, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(2), Published("1784999999.000001"), None)
    assert str(raised.value) == (
        "slack: chat.postMessage refused: thread_not_found (the lead message of the thread does "
        "not exist (deleted?))"
    )
    assert server.messages == []


# --- find: the metadata carries the key -------------------------------------------------------


def test_find_lead_and_replies_by_their_key(server, tmp_path):
    poster = make_poster(server, tmp_path)
    assert poster.find(post(1), None) is None
    lead = poster.publish(post(1), None, None)
    server.add("chatter")
    reply = poster.publish(post(2), lead, lead)
    server.add("more chatter", thread_ts=lead.remote_id)
    assert poster.find(post(1), None) == lead
    assert poster.find(post(2), lead) == reply
    assert poster.find(post(3), lead) is None
    # a reply's lead known only by key (marked by hand): found through the lead
    assert poster.find(post(2), Published("(confirmed by hand)")) == reply
    history = [r for r in server.requests if "conversations." in r.path]
    for r in history:
        query = parse_qs(urlsplit(r.path).query)
        assert query["include_all_metadata"] == ["true"] and query["channel"] == [CHANNEL]
    lead_lookup = parse_qs(urlsplit(history[1].path).query)
    # two days before the anniversary day, in UTC
    assert lead_lookup["oldest"] == [str(int(dt.datetime(2026, 7, 18, tzinfo=dt.UTC).timestamp()))]


def test_find_ignores_other_apps_messages_and_other_keys(server, tmp_path):
    server.add("not ours", metadata={"event_type": "something_else",
                                     "event_payload": {"key": post(1).key}})  # fmt: skip
    server.add("another day", metadata={"event_type": EVENT_TYPE,
                                         "event_payload": {"key": "slk/apollo/2025-07-20/1"}})  # fmt: skip
    assert make_poster(server, tmp_path).find(post(1), None) is None


def test_find_pages_through_a_busy_channel(server, tmp_path):
    poster = make_poster(server, tmp_path)
    lead = poster.publish(post(1), None, None)
    for n in range(450):
        server.add(f"message {n}")
    assert poster.find(post(1), None) == lead
    pages = [parse_qs(urlsplit(r.path).query) for r in server.requests
             if "conversations.history" in r.path]  # fmt: skip
    assert [p.get("cursor") for p in pages] == [None, ["200"], ["400"]]
    assert {p["limit"][0] for p in pages} == {"200"}


def test_a_crash_after_slack_accepted_the_lead_is_reconciled_not_resent(server, tmp_path, store):
    """The process died after chat.postMessage and before the log said "sent": the next run
    finds the lead by its key, records it, and sends only what is left."""
    from bot.threads.render import render_thread

    thread = render_thread(make_event(), DAY, "text", DIRECTORY, platform="slack")
    posts = outgoing_posts(thread, "slk")
    log = PublishLog(store)
    log.plan(posts, "slk")
    log.mark_sending(posts[0].key)
    crashed = make_poster(server, tmp_path).publish(posts[0], None, None)  # Slack got it
    result = publish_thread(store, make_poster(server, tmp_path), "slk", thread)
    assert [p.state for p in result.posts] == ["sent", "sent"] and result.sent_now == 1
    assert result.posts[0].remote_id == crashed.remote_id
    assert [m["metadata"]["event_payload"]["key"] for m in server.messages] == [
        p.key for p in posts
    ]
    assert server.messages[1]["thread_ts"] == crashed.remote_id


# --- nobody is pinged but the listed members ------------------------------------------------


def test_injection_corpus_notifies_only_the_listed_member(server, tmp_path):
    thread = injection_thread("slack", "text")
    posts = outgoing_posts(thread, "slk")
    poster = make_poster(server, tmp_path)
    lead = poster.publish(posts[0], None, None)
    poster.publish(posts[1], lead, lead)
    first, second = (r.json()["text"] for r in server.posted())
    assert notified(first) == {"@U0JANE01"} and notified(second) == set()
    for text in (first, second):
        # what event data said arrives escaped, as the core wrote it: never unescaped
        assert f"&lt;!channel&gt; &lt;!here&gt; &lt;@{ZERO_WIDTH_SPACE}U999&gt;" in text
        assert "&lt;b&gt;x&lt;/b&gt;" in text and "[click](https://evil.example)" in text
        assert f"@{ZERO_WIDTH_SPACE}everyone" in text and "@everyone" not in text
        assert f"@{ZERO_WIDTH_SPACE}someone" in text
        assert "<!" not in text and "<@U999>" not in text
    assert first.endswith("FYI <@U0JANE01> Joe")
    assert [p.body for p in posts] == [m["text"] for m in server.messages]  # sent as rendered


def test_a_raw_control_sequence_that_is_not_a_listed_mention_is_escaped(server, tmp_path):
    # a URL is printed raw by the templates: "<!channel>" inside one must not ping
    body = "See https://example.org/<!channel>?a=1&amp;b and <@U0JANE01> and <@U0OTHER1> &lt;x&gt;"
    jane = Member("jane", "Jane", {"slack": "U0JANE01"})
    make_poster(server, tmp_path).publish(post(1, body=body, mentions=(jane,)), None, None)
    (message,) = server.messages
    assert message["text"] == (
        "See https://example.org/&lt;!channel&gt;?a=1&amp;b and <@U0JANE01> and "
        "&lt;@U0OTHER1&gt; &lt;x&gt;"
    )
    assert notified(message["text"]) == {"@U0JANE01"}


def test_a_handle_that_is_not_a_member_id_is_refused_before_sending(server, tmp_path):
    bad = Member("jane", "Jane", {"slack": "U1> <!channel"})
    with pytest.raises(PostError, match="member 'jane' has the handle") as raised:
        make_poster(server, tmp_path).publish(post(1, mentions=(bad,)), None, None)
    assert raised.value.retryable is False and server.requests == []


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "error", "hint"),
    [
        (lambda s, p: None, None, None),
        (lambda s, p: p.settings.update(token="xoxb-wrong-token-0000"), "invalid_auth",
         "the token is not valid: check token (a bot token, xoxb-...)"),
        (lambda s, p: setattr(p, "channel", "C0NOTHERE"), "channel_not_found",
         "check channel: it takes the channel's ID (C0123ABCD, in the channel's details), and a "
         "private channel must have the bot invited"),
        (lambda s, p: setattr(s, "member", False), "not_in_channel",
         "invite the bot to the channel (/invite @the-bot)"),
        (lambda s, p: setattr(s, "max_text", 10), "msg_too_long",
         "the message is longer than Slack takes"),
    ],
    ids=["ok", "invalid_auth", "channel_not_found", "not_in_channel", "msg_too_long"],
)  # fmt: skip
def test_ok_false_is_a_clear_non_retryable_error(server, tmp_path, setup, error, hint):
    poster = make_poster(server, tmp_path)
    setup(server, poster)
    if error is None:
        poster.publish(post(1), None, None)
        assert len(server.messages) == 1
        return
    with pytest.raises(PostError) as raised:
        poster.publish(post(1), None, None)
    assert str(raised.value) == f"slack: chat.postMessage refused: {error} ({hint})"
    assert raised.value.retryable is False
    assert server.calls() == ["chat.postMessage"] and server.messages == []
    assert TOKEN not in str(raised.value)


def test_missing_scope_names_the_scope(server, tmp_path):
    server.script = [(200, {}, {"ok": False, "error": "missing_scope", "needed": "chat:write",
                                "provided": "channels:history"})]  # fmt: skip
    with pytest.raises(PostError) as raised:
        make_poster(server, tmp_path).publish(post(1), None, None)
    assert str(raised.value) == (
        "slack: chat.postMessage refused: missing_scope (the app lacks the scope chat:write: "
        "add it and reinstall the app)"
    )


def test_429_retry_after_is_honoured_and_the_post_sent_once(server, tmp_path):
    server.script = [(429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})]
    poster = make_poster(server, tmp_path)
    published = poster.publish(post(1), None, None)
    first, second = server.posted()
    assert second.time - first.time >= 0.95  # waited as asked, not the 0.01 s backoff
    assert [m["ts"] for m in server.messages] == [published.remote_id]


def test_long_429_is_recorded_with_its_wait_not_slept(server, tmp_path):
    server.script = [(429, {"Retry-After": "900"}, {"ok": False, "error": "ratelimited"})]
    started = time.monotonic()
    with pytest.raises(PostError) as raised:
        make_poster(server, tmp_path).publish(post(1), None, None)
    assert time.monotonic() - started < 5
    assert raised.value.retryable is True and raised.value.retry_after == 900
    assert len(server.posted()) == 1 and server.messages == []


@pytest.mark.parametrize("error", ["internal_error", "fatal_error"])
def test_an_internal_error_of_a_post_is_an_unknown_outcome(server, tmp_path, error):
    server.script = [(200, {}, {"ok": False, "error": error})]
    with pytest.raises(PostError, match=f"refused: {error} .Slack may have posted it") as raised:
        make_poster(server, tmp_path).publish(post(1), None, None)
    assert raised.value.retryable is True and raised.value.outcome == Outcome.UNKNOWN


def test_an_internal_error_of_a_read_is_retryable_and_sent_nothing(server, tmp_path):
    server._conversations_history = lambda args: (200, {}, {"ok": False, "error": "internal_error"})
    with pytest.raises(PostError, match="refused: internal_error$") as raised:
        make_poster(server, tmp_path).find(post(1), None)
    assert raised.value.retryable is True and raised.value.outcome == Outcome.NOT_SENT


def _thread_of_two():
    from bot.threads.render import render_thread

    return render_thread(make_event(), DAY, "text", DIRECTORY, platform="slack")


@pytest.mark.parametrize("error", ["internal_error", "fatal_error"])
def test_a_post_slack_kept_despite_an_internal_error_is_looked_up_not_resent(
    server, tmp_path, store, error
):
    """Slack's docs: after internal_error or fatal_error the message may have been posted.
    The next run finds it by its key instead of posting it a second time."""
    thread = _thread_of_two()
    posts = outgoing_posts(thread, "slk")
    server.fail_after_posting = [error]
    first = publish_thread(store, make_poster(server, tmp_path), "slk", thread)
    assert [p.state for p in first.posts] == ["sending", "planned"] and first.sent_now == 0

    again = publish_thread(store, make_poster(server, tmp_path), "slk", thread, retry_now=True)
    assert [p.state for p in again.posts] == ["sent", "sent"] and again.sent_now == 1
    keys = [m["metadata"]["event_payload"]["key"] for m in server.messages]
    assert keys == [p.key for p in posts]  # each once
    assert again.posts[0].remote_id == server.messages[0]["ts"]


def test_without_the_history_scope_an_internal_error_waits_for_a_person(tmp_path, store):
    with SlackServer(scopes="chat:write") as server:
        thread = _thread_of_two()
        server.fail_after_posting = ["internal_error"]
        publish_thread(store, make_poster(server, tmp_path), "slk", thread)
        again = publish_thread(store, make_poster(server, tmp_path), "slk", thread, retry_now=True)
        assert [p.state for p in again.posts] == ["unconfirmed", "planned"]
        assert (
            "missing_scope" in again.posts[0].error and "channels:history" in again.posts[0].error
        )
        assert len(server.messages) == 1  # never re-sent blind


def test_a_failing_permalink_does_not_fail_a_sent_post(server, tmp_path):
    poster = make_poster(server, tmp_path)
    original = server._chat_getPermalink
    server._chat_getPermalink = lambda args: (200, {}, {"ok": False, "error": "internal_error"})
    published = poster.publish(post(1), None, None)
    assert published == Published(server.messages[0]["ts"], None)
    server._chat_getPermalink = original


# --- check and settings -------------------------------------------------------------------------


def test_check_tests_the_token_and_the_channel(server, tmp_path):
    said = make_poster(server, tmp_path).check()
    assert said == f"token of 'anniv' in 'Example' is valid; channel {CHANNEL} can be read"
    assert server.calls() == ["auth.test", "conversations.history"]


def test_check_with_a_bad_token(server, tmp_path):
    poster = make_poster(server, tmp_path)
    poster.settings["token"] = "xoxb-wrong-token-0000"
    with pytest.raises(PostError, match="auth.test refused: invalid_auth"):
        poster.check()


def test_check_with_a_channel_the_bot_is_not_in(server, tmp_path):
    server.member = False
    with pytest.raises(PostError, match="conversations.history refused: not_in_channel"):
        make_poster(server, tmp_path).check()


def test_settings(tmp_path):
    settings = SlackPoster.validate_settings({"token": TOKEN, "channel": CHANNEL}, "t", tmp_path)
    assert settings == {"token": TOKEN, "channel": CHANNEL, "api_url": "https://slack.com/api"}
    assert TOKEN not in repr(settings)
    with pytest.raises(ConfigError, match=r"^t\.channel: must be the channel's ID"):
        SlackPoster.validate_settings({"token": TOKEN, "channel": "#general"}, "t", tmp_path)
    with pytest.raises(ConfigError, match=r"^t\.token: must be a Slack bot token") as raised:
        SlackPoster.validate_settings({"token": "not-a-token", "channel": CHANNEL}, "t", tmp_path)
    assert "not-a-token" not in str(raised.value)
    caps = SlackPoster.capabilities
    assert (caps.max_length, caps.titles, caps.replies, caps.mention_syntax) == (
        4000, False, True, "<@{handle}>")  # fmt: skip
