"""The Matrix adapter, against a REAL Synapse (tests marked by the ``synapse`` fixture) and
against a local homeserver fake that enforces the client-server API contract (the rest).

The real server: ``tests/synapse/install.sh VENV_DIR`` once, then
``ANNIVERSARY_BOT_SYNAPSE_VENV=VENV_DIR .venv/bin/python -m pytest tests/test_matrix.py``.
Without the variable the Synapse tests skip, saying so; the fake-server tests always run.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.errors import ConfigError
from bot.events.mentions import Member
from bot.posters.base import OutgoingPost, PostError, Published
from bot.posters.matrix import (
    CONTENT_BUDGET,
    KEY_FIELD,
    MAX_LENGTH,
    MAX_MENTIONS,
    MatrixPoster,
    event_size,
    to_html,
    transaction_id,
)
from tests.harnesses.matrix import ALIAS, BOT, ROOM, TOKEN, FakeHomeserver, bot_messages
from tests.synapse.fixture import (
    ROOM_ALIAS,
    SKIP_REASON,
    SynapseSession,
    shared_synapse,
    stop_shared,
)

DAY = dt.date(2026, 1, 10)
SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "reference"
SEED_THREAD = SEED / "seed-thread-trotsky-1928-01-10.txt"


# ---------------------------------------------------------------------------------------------
# A homeserver fake: the client-server API as the spec and Synapse enforce it, with state


# ---------------------------------------------------------------------------------------------
# helpers


def make_poster(homeserver: str, token: str, room: str, tmp_path: Path) -> MatrixPoster:
    settings = MatrixPoster.validate_settings(
        {"homeserver": homeserver, "access_token": token, "room": room, "timeout": 10.0},
        "test",
        tmp_path,
    )
    poster = MatrixPoster("matrixtest", settings)
    # keep the tests quick: urllib3 backs off 0.5 s, 1 s, ... by default
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


def no_retries(poster: MatrixPoster) -> None:
    adapter = poster.http.session.get_adapter("http://")
    adapter.max_retries = adapter.max_retries.new(total=0, connect=0, read=0, status=0)


def outgoing(
    number: int,
    body: str | None = None,
    mentions: tuple[Member, ...] = (),
    key_prefix: str = "matrixtest/1928-01-10-trotsky/2026-01-10",
) -> OutgoingPost:
    return OutgoingPost(
        key=f"{key_prefix}/{number}",
        thread_key=key_prefix,
        number=number,
        body=body if body is not None else f"Post {number}.\nSecond line.",
        format="text",
        event_id="1928-01-10-trotsky",
        day=DAY,
        title="Trotsky is exiled" if number == 1 else None,
        mentions=mentions,
    )


@pytest.fixture
def fake():
    with FakeHomeserver() as server:
        yield server


@pytest.fixture
def poster(fake, tmp_path):
    instance = make_poster(fake.url, TOKEN, ROOM, tmp_path)
    yield instance
    instance.close()


# ---------------------------------------------------------------------------------------------
# declarations and settings


def test_declares_matrix_capabilities():
    caps = MatrixPoster.capabilities
    assert (MatrixPoster.name, MatrixPoster.platform, MatrixPoster.formats) == (
        "matrix", "matrix", ("text",),
    )  # fmt: skip
    assert (caps.max_length, caps.max_mentions) == (MAX_LENGTH, MAX_MENTIONS) == (20_000, 50)
    assert caps.replies is True and caps.titles is False and caps.mention_syntax == "{name}"
    assert MatrixPoster.can_find is True and MatrixPoster.resend_window == 1200
    assert MatrixPoster.secret_settings == ("access_token",)


def test_max_length_fits_the_event_limit():
    # Latin text at the limit, with its HTML, the most mentions, and a thread relation, fits
    mentions = tuple(
        Member(f"m{i}", f"Member Number {i}", {"matrix": f"@member-number-{i}:example.org"})
        for i in range(MAX_MENTIONS)
    )
    line = "Trotsky's exile, as Broué wrote & others: https://en.wikipedia.org/wiki/Leon_Trotsky"
    names = " ".join(m.name for m in mentions)
    body = (line + "\n") * ((MAX_LENGTH - len(names) - 5) // (len(line) + 1)) + "FYI " + names
    assert len(body) <= MAX_LENGTH
    poster = MatrixPoster("m", {"homeserver": "http://h", "access_token": "x" * 20, "room": ROOM})
    lead = Published("$" + "a" * 43)
    content = poster.content(outgoing(2, body, mentions), lead, lead)
    assert "formatted_body" in content and event_size(content) <= CONTENT_BUDGET
    # 3-byte characters at the limit do not fit twice, but go out as plain text
    cjk = poster.content(outgoing(1, "漢" * MAX_LENGTH), None, None)
    assert "formatted_body" not in cjk and event_size(cjk) <= CONTENT_BUDGET


@pytest.mark.parametrize(
    "room", ["!abcdefghijklmnop", "!abc:example.org", "#anniversaries:example.org"]
)
def test_settings_take_room_ids_and_aliases(room, tmp_path):
    settings = MatrixPoster.validate_settings(
        {"homeserver": "https://matrix.example.org", "access_token": TOKEN, "room": room},
        "dest",
        tmp_path,
    )
    assert settings["room"] == room
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"room": "anniversaries"}, r"dest\.room: String should match pattern"),
        ({"room": "#no-server"}, r"dest\.room: String should match pattern"),
        ({"homeserver": "matrix.example.org"}, r"dest\.homeserver: String should match"),
        ({"access_token": None}, r"dest\.access_token: required key for matrix is missing"),
        ({"user": "@bot:x"}, r"dest\.user: unknown key for matrix \(it takes: access_token,"),
    ],
)
def test_settings_errors_name_the_key(values, message, tmp_path):
    base = {"homeserver": "https://m.example.org", "access_token": TOKEN, "room": ROOM}
    merged = {k: v for k, v in {**base, **values}.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        MatrixPoster.validate_settings(merged, "dest", tmp_path)


def test_transaction_id_is_deterministic_and_per_key():
    a = transaction_id("dest/event/2026-01-10/1")
    assert a == transaction_id("dest/event/2026-01-10/1")
    assert a != transaction_id("dest/event/2026-01-10/2")
    assert re.fullmatch(r"anniv-[0-9a-f]{40}", a)


# ---------------------------------------------------------------------------------------------
# the HTML rendition


def test_html_escapes_each_line_and_keeps_line_breaks():
    text = 'Trotsky <"exiled"> & Stalin\'s\n\nnext line'
    assert to_html(text) == 'Trotsky &lt;"exiled"&gt; &amp; Stalin\'s<br><br>next line'


def test_html_links_urls_without_their_trailing_punctuation():
    text = "Background from https://en.wikipedia.org/wiki/Leon_Trotsky_(politician). See (https://x.org/a)"
    assert to_html(text) == (
        'Background from <a href="https://en.wikipedia.org/wiki/Leon_Trotsky_(politician)">'
        "https://en.wikipedia.org/wiki/Leon_Trotsky_(politician)</a>. See "
        '(<a href="https://x.org/a">https://x.org/a</a>)'
    )
    assert to_html("https://x.org/?a=1&b=2") == (
        '<a href="https://x.org/?a=1&amp;b=2">https://x.org/?a=1&amp;b=2</a>'
    )


def test_html_turns_mentioned_names_into_pills_longest_first():
    mentions = {"SGT Jane Doe": "@jane:example.org", "Jane": "@jane2:example.org"}
    text = "FYI SGT Jane Doe, Jane, Janet and https://x.org/SGT Jane Doe"
    assert to_html(text, mentions) == (
        'FYI <a href="https://matrix.to/#/@jane:example.org">SGT Jane Doe</a>, '
        '<a href="https://matrix.to/#/@jane2:example.org">Jane</a>, Janet and '
        '<a href="https://x.org/SGT">https://x.org/SGT</a> '
        '<a href="https://matrix.to/#/@jane2:example.org">Jane</a> Doe'
    )


def test_html_escapes_names_and_user_ids():
    mentions = {"A <b> & Co": '@a"b:example.org'}
    assert to_html("Hi A <b> & Co", mentions) == (
        'Hi <a href="https://matrix.to/#/@a&quot;b:example.org">A &lt;b&gt; &amp; Co</a>'
    )


# ---------------------------------------------------------------------------------------------
# against the homeserver fake: exact requests


JANE = Member("jane", "SGT Jane Doe", {"matrix": "@jane:fake.test"})
JANE2 = Member("jane2", "SGT Jane Doe", {"matrix": "@jane.doe:fake.test"})
NOHANDLE = Member("john", "CPL John Roe")
BADHANDLE = Member("jim", "PFC Jim Poe", {"matrix": "jim"})


def test_publishes_a_thread_with_exact_requests(fake, tmp_path):
    poster = make_poster(fake.url, TOKEN, ALIAS, tmp_path)
    lead = poster.publish(
        outgoing(1, "Lead line\nFYI SGT Jane Doe", (JANE, NOHANDLE, JANE2)), None, None
    )
    second = poster.publish(outgoing(2, "Second", (NOHANDLE, BADHANDLE)), lead, lead)
    third = poster.publish(outgoing(3, "Third https://x.org"), lead, second)
    room = quote(ROOM, safe="")
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/_matrix/client/v3/directory/room/{quote(ALIAS, safe='')}"),  # once
        *[
            ("PUT", f"/_matrix/client/v3/rooms/{room}/send/m.room.message/"
             + transaction_id(outgoing(n).key))
            for n in (1, 2, 3)
        ],
    ]  # fmt: skip
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    first, reply, last = (r.json() for r in fake.sends())
    assert first == {
        "msgtype": "m.text",
        "body": "Lead line\nFYI SGT Jane Doe",
        "format": "org.matrix.custom.html",
        "formatted_body": 'Lead line<br>FYI <a href="https://matrix.to/#/@jane:fake.test">'
        "SGT Jane Doe</a>",
        "m.mentions": {"user_ids": ["@jane:fake.test", "@jane.doe:fake.test"]},
        KEY_FIELD: outgoing(1).key,
    }
    assert reply["m.mentions"] == {"user_ids": []}  # no handle, bad handle: named, no ping
    assert reply["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": lead.remote_id,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": lead.remote_id},
    }
    assert last["m.relates_to"]["event_id"] == lead.remote_id
    assert last["m.relates_to"]["m.in_reply_to"] == {"event_id": second.remote_id}
    assert [e["event_id"] for e in fake.messages()] == [
        lead.remote_id, second.remote_id, third.remote_id,
    ]  # fmt: skip
    assert lead.url == f"https://matrix.to/#/{ROOM}/{quote(lead.remote_id, safe='$')}"


def test_the_same_post_sent_again_is_one_event(fake, tmp_path):
    first = make_poster(fake.url, TOKEN, ROOM, tmp_path).publish(outgoing(1), None, None)
    # a new process: a new poster, the same token and key
    again = make_poster(fake.url, TOKEN, ROOM, tmp_path).publish(outgoing(1), None, None)
    assert again == first and len(fake.sends()) == 2 and len(fake.messages()) == 1


def test_find_looks_up_the_lead_and_replies_by_key(fake, poster):
    assert poster.find(outgoing(1), None) is None
    # someone else copies the bot's key into a message: not the bot's post
    fake.add_event(ROOM, "@mallory:fake.test", {"msgtype": "m.text", "body": "x",
                                                KEY_FIELD: outgoing(1).key})  # fmt: skip
    assert poster.find(outgoing(1), None) is None
    lead = poster.publish(outgoing(1), None, None)
    for n in range(120):  # more than a page of the bot's messages since the lead
        fake.add_event(ROOM, BOT, {"msgtype": "m.text", "body": f"other {n}"})
    assert poster.find(outgoing(1), None) == lead
    assert poster.find(outgoing(2), lead) is None
    reply = poster.publish(outgoing(2), lead, lead)
    assert poster.find(outgoing(2), lead) == reply
    assert poster.find(outgoing(3), lead) is None
    finds = [r for r in fake.requests if r.method == "GET"]
    assert sum("/messages" in r.path for r in finds) == 4  # 1 + 1 + 2 pages (120 since)
    assert sum("/relations/" in r.path for r in finds) == 3


def test_find_is_bounded(fake, poster):
    for n in range(600):
        fake.add_event(ROOM, BOT, {"msgtype": "m.text", "body": f"n{n}"})
    assert poster.find(outgoing(1), None) is None
    assert sum("/messages" in r.path for r in fake.requests) == 5  # 5 pages of 100, no more


def test_429_with_a_short_retry_after_is_waited_for(fake, poster):
    fake.script = [(429, {"Retry-After": "0"}, {"errcode": "M_LIMIT_EXCEEDED",
                                                "error": "Too Many Requests",
                                                "retry_after_ms": 10})]  # fmt: skip
    published = poster.publish(outgoing(1), None, None)
    assert len(fake.sends()) == 2 and [e["event_id"] for e in fake.messages()] == [
        published.remote_id
    ]


def test_429_with_a_long_retry_after_is_retryable_not_slept(fake, poster):
    fake.script = [(429, {"Retry-After": "300"}, {"errcode": "M_LIMIT_EXCEEDED",
                                                  "retry_after_ms": 300000})]  # fmt: skip
    started = time.monotonic()
    with pytest.raises(PostError) as raised:
        poster.publish(outgoing(1), None, None)
    assert time.monotonic() - started < 1
    assert raised.value.retryable is True and raised.value.retry_after == 300
    assert "rate limiting" in str(raised.value) and len(fake.sends()) == 1


def test_429_without_retry_after_header_uses_retry_after_ms(fake, poster):
    answer = (429, {}, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests",
                        "retry_after_ms": 7500})  # fmt: skip
    fake.script = [answer] * 5
    with pytest.raises(PostError) as raised:
        poster.publish(outgoing(1), None, None)
    port = fake.server.httpd.server_address[1]
    assert str(raised.value) == (
        f"matrix (127.0.0.1:{port}) is rate limiting posting the lead (M_LIMIT_EXCEEDED): "
        "retry in 7.5 s"
    )
    assert (raised.value.retryable, raised.value.status, raised.value.retry_after) == (
        True, 429, 7.5,
    )  # fmt: skip
    assert len(fake.sends()) == 5 and fake.messages() == []  # 1 + urllib3's 4 retries


def test_unknown_token_is_a_clear_non_retryable_error(fake, tmp_path):
    poster = make_poster(fake.url, "syt_wrong_token_0123456789", ROOM, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(outgoing(1), None, None)
    message = str(raised.value)
    assert raised.value.retryable is False and raised.value.status == 401
    assert "rejected the access token while posting the lead (M_UNKNOWN_TOKEN)" in message
    assert "syt_wrong_token" not in message and len(fake.requests) == 1


def test_forbidden_is_a_clear_non_retryable_error(fake, tmp_path):
    poster = make_poster(fake.url, TOKEN, "!other:fake.test", tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(outgoing(1), None, None)
    assert raised.value.retryable is False and raised.value.status == 403
    assert "refused posting the lead (M_FORBIDDEN: User @anniv-bot:fake.test not in room" in str(
        raised.value
    )
    assert "is the bot's account joined to !other:fake.test" in str(raised.value)


def test_unknown_alias_is_a_clear_error(fake, tmp_path):
    poster = make_poster(fake.url, TOKEN, "#nope:fake.test", tmp_path)
    with pytest.raises(PostError, match=r"the room alias #nope:fake\.test does not exist") as e:
        poster.publish(outgoing(1), None, None)
    assert e.value.retryable is False and fake.sends() == []


def test_a_post_too_large_with_html_goes_out_as_plain_text(fake, poster):
    body = "Троцкий " * (MAX_LENGTH // 8)  # 2 bytes a letter: too large twice, fine once
    poster.publish(outgoing(1, body), None, None)
    (event,) = fake.messages()
    assert event["content"]["body"] == body and "formatted_body" not in event["content"]
    assert "format" not in event["content"] and event["content"]["m.mentions"] == {"user_ids": []}


def test_a_post_too_large_even_as_plain_text_is_refused_before_sending(fake, poster):
    with pytest.raises(PostError, match=r"post 1 is 80,\d{3} bytes as a Matrix event") as raised:
        poster.publish(outgoing(1, "🎖" * MAX_LENGTH), None, None)
    assert raised.value.retryable is False and fake.requests == []


def test_check_says_who_and_where(fake, tmp_path):
    poster = make_poster(fake.url, TOKEN, ALIAS, tmp_path)
    assert poster.check() == (
        f"access token is valid for {BOT} (device FAKEDEVICE), joined to {ALIAS} ({ROOM})"
    )
    fake.encrypted.add(ROOM)
    assert poster.check().endswith("; the room is end-to-end encrypted: the bot's posts go out "
                                   "unencrypted")  # fmt: skip


def test_check_fails_when_not_joined_or_token_wrong(fake, tmp_path):
    fake.joined.discard(ROOM)
    with pytest.raises(PostError, match=rf"valid for {BOT}, but {BOT} is not joined to {ROOM}"):
        make_poster(fake.url, TOKEN, ROOM, tmp_path).check()
    with pytest.raises(PostError, match=r"rejected the access token while checking the token"):
        make_poster(fake.url, "syt_not_the_token_at_all", ROOM, tmp_path).check()


def test_the_token_stays_out_of_errors_and_logs(fake, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    poster = make_poster(fake.url, TOKEN, ROOM, tmp_path)
    fake.script = [(500, {}, {"errcode": "M_UNKNOWN", "error": "boom"})] * 5
    with pytest.raises(PostError) as raised:
        poster.publish(outgoing(1), None, None)
    assert raised.value.retryable is True and "M_UNKNOWN: boom" in str(raised.value)
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text
    assert TOKEN not in repr(poster.settings)


# ---------------------------------------------------------------------------------------------
# against a real Synapse


@pytest.fixture(scope="session")
def synapse():
    """The real Synapse (tests/synapse/fixture.py), or a skip saying how to get one."""
    session = shared_synapse()
    if session is None:
        pytest.skip(SKIP_REASON)
    print(
        f"\nSynapse ready in {session.server.startup_seconds:.1f} s at {session.server.base_url}; "
        f"4 users registered and logged in, a room made, in {session.setup_seconds:.1f} s"
    )
    yield session
    stop_shared()


def synapse_poster(session: SynapseSession, room: str, tmp_path: Path, user=None) -> MatrixPoster:
    user = user or session.bot
    return make_poster(session.server.base_url, user.access_token, room, tmp_path)


def thread_events(session: SynapseSession, room: str, root: str) -> list[dict[str, Any]]:
    """The thread's replies as the server lists them, oldest first (all pages)."""
    server, token, events = session.server, session.bot.access_token, []
    params: dict[str, Any] = {"dir": "f", "limit": 50}
    while True:
        data = server.api(
            "GET",
            f"/_matrix/client/v1/rooms/{quote(room, safe='')}/relations/{quote(root, safe='')}"
            "/m.thread",
            token,
            params=params,
        )
        events += data["chunk"]
        if not data.get("next_batch"):
            return events
        params["from"] = data["next_batch"]


def reference_texts(alice: Member, bob: Member) -> list[str]:
    """A root of about 20,000 characters and two replies, from the reference thread's text
    (its lead, video URL, excerpt paragraphs), each part with its own FYI list."""
    if SEED_THREAD.exists():
        lines = [x.strip() for x in SEED_THREAD.read_text(encoding="utf-8").splitlines()]
        paragraphs = [x for x in lines[10:280] if len(x) > 40]
    else:  # the shared folder is not here: text of the same shape
        paragraphs = [
            f"Paragraph {n}: Trotsky, Broué & the «Left Opposition» — exile to Alma-Ata, 1928." * 3
            for n in range(400)
        ]

    def part(first: str, target: int, fyi: str, start: int) -> str:
        out = [first, "https://www.youtube.com/watch?v=IXgXASp-qWs", "",
               "Background from https://en.wikipedia.org/wiki/Leon_Trotsky:"]  # fmt: skip
        index = start
        while len("\n\n".join(out)) + len(paragraphs[index % len(paragraphs)]) < target:
            out.append(paragraphs[index % len(paragraphs)])
            index += 1
        return "\n\n".join([*out, f"FYI {fyi}"])

    return [
        part(paragraphs[0], 19_900, f"{alice.name} CPL John Roe", 1),
        part("The exile itself, January 1928.", 19_000, "CPL John Roe", 60),
        part("Mexico, 1940.", 5_800, bob.name, 120),
    ]


@pytest.fixture(scope="module")
def reference_thread(synapse, tmp_path_factory):
    """The reference-size thread, posted once to a fresh room; the time it took."""
    room = synapse.new_room()
    alice = Member("alice", "SGT Anna Able", {"matrix": synapse.alice.user_id})
    bob = Member("bob", "SSG Robert Baker", {"matrix": synapse.bob.user_id})
    texts = reference_texts(alice, bob)
    mentions = [(alice, NOHANDLE), (NOHANDLE,), (bob,)]
    posts = [
        outgoing(n + 1, text, tuple(mentions[n]), key_prefix="real/trotsky/2026-01-10")
        for n, text in enumerate(texts)
    ]
    poster = synapse_poster(synapse, room, tmp_path_factory.mktemp("ref"))
    started = time.monotonic()
    lead = previous = None
    published = []
    for post in posts:
        previous = poster.publish(post, lead, previous)
        lead = lead or previous
        published.append(previous)
    seconds = time.monotonic() - started
    poster.close()
    print(
        f"\nposted a {sum(map(len, texts)):,}-character thread ({', '.join(str(len(t)) for t in texts)}"
        f" characters) to Synapse in {seconds:.2f} s"
    )
    return {"room": room, "posts": posts, "published": published, "seconds": seconds}


def test_synapse_reference_thread_reads_back(synapse, reference_thread):
    room, posts, published = (reference_thread[k] for k in ("room", "posts", "published"))
    assert 19_000 < len(posts[0].body) <= MAX_LENGTH
    token = synapse.bot.access_token
    events = [
        synapse.server.api(
            "GET",
            f"/_matrix/client/v3/rooms/{quote(room, safe='')}/event/{quote(p.remote_id, safe='')}",
            token,
        )
        for p in published
    ]
    for post, event in zip(posts, events, strict=True):
        content = event["content"]
        assert event["sender"] == synapse.bot.user_id and event["type"] == "m.room.message"
        assert content["body"] == post.body and content[KEY_FIELD] == post.key
        assert content["formatted_body"] == to_html(
            post.body, {m.name: m.handles["matrix"] for m in post.mentions if m.handles}
        )
    root = events[0]["content"]
    assert root["m.mentions"] == {"user_ids": [synapse.alice.user_id]}
    assert (
        f'<a href="https://matrix.to/#/{synapse.alice.user_id}">SGT Anna Able</a>'
        in (root["formatted_body"])
    )
    assert "m.relates_to" not in root
    # the thread as the server lists it: both replies, in order, hanging off the root
    replies = thread_events(synapse, room, published[0].remote_id)
    assert [e["event_id"] for e in replies] == [p.remote_id for p in published[1:]]
    assert [e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] for e in replies] == [
        published[0].remote_id, published[1].remote_id,
    ]  # fmt: skip
    assert all(e["content"]["m.relates_to"]["rel_type"] == "m.thread" for e in replies)
    assert [e["content"]["body"] for e in bot_messages(synapse, room)] == [p.body for p in posts]
    assert reference_thread["seconds"] < 30


def test_synapse_reference_thread_through_the_core(
    synapse, tmp_path, sample_store, reference_day, capsys
):
    """The reference event itself (parts of ~11,000, ~75,000 and ~5,800 characters), rendered
    for Matrix, fitted to the adapter's capabilities by the core, published by the publish
    loop, read back from the server."""
    from bot.app import threads_for_day
    from bot.config import Config, Destination
    from bot.config.channel import Channel
    from bot.publishing.log import publish_thread
    from bot.threads.fitting import fit_for

    destination = Destination(name="matrixref", type="matrix", format="text")
    (rendered,) = threads_for_day(sample_store, reference_day, "text", platform="matrix")
    thread = fit_for(
        rendered, Channel(Config(None, None, None, None, {}), destination, MatrixPoster)
    )
    assert len(thread.posts) > len(rendered.posts) >= 3  # part 2 is split to fit
    assert all(len(p.body) <= MAX_LENGTH for p in thread.posts)
    room = synapse.new_room()
    poster = synapse_poster(synapse, room, tmp_path)
    started = time.monotonic()
    result = publish_thread(sample_store, poster, destination.name, thread)
    seconds = time.monotonic() - started
    assert result.state == "sent", result.summary()
    events = bot_messages(synapse, room)
    assert [e["content"]["body"] for e in events] == [p.body for p in thread.posts]
    assert all("formatted_body" in e["content"] for e in events)  # Latin text: HTML fits
    replies = thread_events(synapse, room, events[0]["event_id"])
    assert [e["event_id"] for e in replies] == [e["event_id"] for e in events[1:]]
    with capsys.disabled():
        print(
            f"\nreference thread through the core: {len(thread.posts)} posts, "
            f"{sum(len(p.body) for p in thread.posts):,} characters, published in {seconds:.2f} s"
        )


def test_synapse_mentioned_member_is_notified_unlisted_is_not(synapse, reference_thread):
    root, second, third = (p.remote_id for p in reference_thread["published"])

    def notifications(user, **params: Any) -> dict[str, bool]:
        """event id -> highlighted, for this thread's room, as the member's client sees it."""
        data = synapse.server.api(
            "GET", "/_matrix/client/v3/notifications", user.access_token,
            params={"limit": 100, **params},
        )  # fmt: skip
        return {
            n["event"]["event_id"]: {"set_tweak": "highlight"} in n["actions"]
            for n in data["notifications"]
            if n["room_id"] == reference_thread["room"] and n["event"]["type"] == "m.room.message"
        }  # (the room's invite to this member is a notification too)

    # alice is in the root's FYI list, bob only in reply 2's; both are in the room
    assert notifications(synapse.alice, only="highlight") == {root: True}
    assert notifications(synapse.bob, only="highlight") == {third: True}
    # Matrix's default rules give every member a plain notification for every message in a
    # group room (.m.rule.message): the mention is what makes it a highlight, and a name in
    # the text without m.mentions ("CPL John Roe", no handle) pings no one
    assert notifications(synapse.bob) == {root: False, second: False, third: True}
    assert notifications(synapse.alice) == {root: True, second: False, third: False}


def test_synapse_crash_and_rerun_leaves_exactly_one_copy(synapse, tmp_path):
    room = synapse.new_room()
    posts = [outgoing(n, f"Post {n} of the rerun thread.", key_prefix="real/rerun/2026-01-10")
             for n in (1, 2, 3)]  # fmt: skip
    first = synapse_poster(synapse, room, tmp_path)
    lead = first.publish(posts[0], None, None)
    reply = first.publish(posts[1], lead, lead)
    first.close()  # the process dies here, its log not updated
    # the restarted process sends the same posts again, same token, same keys
    again = synapse_poster(synapse, room, tmp_path)
    assert again.publish(posts[0], None, None) == lead
    assert again.publish(posts[1], lead, lead) == reply
    third = again.publish(posts[2], lead, reply)
    assert [e["event_id"] for e in bot_messages(synapse, room)] == [
        lead.remote_id, reply.remote_id, third.remote_id,
    ]  # fmt: skip
    assert [e["event_id"] for e in thread_events(synapse, room, lead.remote_id)] == [
        reply.remote_id, third.remote_id,
    ]  # fmt: skip


class Crash(BaseException):
    """A process killed right after the homeserver accepted a post (not an Exception: the
    publish loop must not catch it, as it could not catch SIGKILL)."""


@pytest.mark.parametrize("find", [True, False], ids=["reconciled-by-find", "resent-by-txn-id"])
def test_synapse_publish_loop_survives_a_crash_after_the_response(
    synapse, tmp_path, three_part_store, find
):
    from bot.app import threads_for_day
    from bot.publishing.log import PublishLog, publish_thread
    from bot.store import Store

    store = Store(three_part_store)
    (thread,) = threads_for_day(store, dt.date(2026, 7, 20), "text", platform="matrix")
    assert len(thread.posts) == 3
    room = synapse.new_room()

    class CrashingPoster(MatrixPoster):
        def publish(self, post, lead, previous):
            published = super().publish(post, lead, previous)
            if post.number == 2:
                raise Crash
            return published

    settings = synapse_poster(synapse, room, tmp_path).settings
    crashing = CrashingPoster("matrixtest", settings)
    with pytest.raises(Crash):
        publish_thread(store, crashing, "matrixtest", thread)
    rows = PublishLog(store).rows(destination="matrixtest")
    assert [r["state"] for r in rows][:2] == ["sent", "sending"]
    restarted = synapse_poster(synapse, room, tmp_path)
    if not find:  # the core then relies on resend_window and the homeserver dropping a repeat
        restarted.can_find = False
    result = publish_thread(store, restarted, "matrixtest", thread)
    assert result.state == "sent", result.summary()
    events = bot_messages(synapse, room)
    assert [e["content"][KEY_FIELD] for e in events] == [r["key"] for r in rows]
    assert [e["event_id"] for e in events] == [p.remote_id for p in result.posts]
    replies = thread_events(synapse, room, result.posts[0].remote_id)
    assert len(replies) == len(thread.posts) - 1


def test_synapse_find_after_the_fact(synapse, tmp_path):
    room = synapse.new_room()
    poster = synapse_poster(synapse, room, tmp_path)
    posts = [outgoing(n, key_prefix="real/find/2026-01-10") for n in (1, 2)]
    assert poster.find(posts[0], None) is None
    lead = poster.publish(posts[0], None, None)
    assert poster.find(posts[0], None) == lead
    assert poster.find(posts[1], lead) is None
    reply = poster.publish(posts[1], lead, lead)
    assert synapse_poster(synapse, room, tmp_path).find(posts[1], lead) == reply


def test_synapse_throttled_send_is_retryable_then_goes_through_once(synapse, tmp_path):
    # slowbot's own message rate is overridden to 1 a second, burst 1 (Synapse's admin API)
    room = synapse.new_room(members=[synapse.slow])
    token, base = synapse.slow.access_token, synapse.server.base_url
    patient = make_poster(base, token, room, tmp_path)  # retries as the bot runs them
    impatient = make_poster(base, token, room, tmp_path)
    no_retries(impatient)
    first, second = (outgoing(1, text, key_prefix=f"real/throttled-{text}/2026-01-10")
                     for text in ("first", "second"))  # fmt: skip
    patient.publish(first, None, None)  # takes the burst (after a wait if the join took it)
    with pytest.raises(PostError) as raised:
        impatient.publish(second, None, None)
    error = raised.value
    assert error.retryable is True and error.status == 429 and 0 < error.retry_after <= 1.0
    assert re.fullmatch(
        r"matrix \(127\.0\.0\.1:\d+\) is rate limiting posting the lead \(M_LIMIT_EXCEEDED\): "
        r"retry in [01]\.\d s",
        str(error),
    )
    # the same post again, as the next run would: the adapter waits as Synapse asks (its
    # Retry-After header, 1 s), and the post goes out once
    started = time.monotonic()
    published = patient.publish(second, None, None)
    assert 0.2 < time.monotonic() - started < 3
    events = synapse.server.room_events(room, synapse.bot.access_token)
    keys = [e["content"].get(KEY_FIELD) for e in events]
    assert keys.count(first.key) == 1 and keys.count(second.key) == 1
    assert events[-1]["event_id"] == published.remote_id


def test_synapse_errors_are_clear(synapse, tmp_path):
    room = synapse.new_room()
    wrong = make_poster(synapse.server.base_url, "syt_not_a_real_token_0123", room, tmp_path)
    with pytest.raises(PostError, match=r"rejected the access token while posting the lead "
                                        r"\(M_UNKNOWN_TOKEN\)") as raised:  # fmt: skip
        wrong.publish(outgoing(1), None, None)
    assert raised.value.retryable is False
    # a room the bot is not in: alice's own
    theirs = synapse.server.create_room(synapse.alice, [])
    outside = synapse_poster(synapse, theirs, tmp_path)
    with pytest.raises(PostError, match=r"refused posting the lead \(M_FORBIDDEN: ") as raised:
        outside.publish(outgoing(1), None, None)
    assert raised.value.retryable is False
    with pytest.raises(PostError, match=r"is not joined to"):
        outside.check()


def test_synapse_check_and_alias(synapse, tmp_path):
    # the room made at start has the alias: it is resolved once, then posted to
    poster = synapse_poster(synapse, ROOM_ALIAS, tmp_path)
    assert poster.check() == (
        f"access token is valid for {synapse.bot.user_id} (device {synapse.bot.device_id}), "
        f"joined to {ROOM_ALIAS} ({synapse.room})"
    )
    published = poster.publish(outgoing(1, key_prefix="real/alias/2026-01-10"), None, None)
    assert bot_messages(synapse, synapse.room)[-1]["event_id"] == published.remote_id
    assert poster.room_id() == synapse.room


def test_synapse_takes_what_the_size_guard_lets_through(synapse, tmp_path):
    room = synapse.new_room()
    poster = synapse_poster(synapse, room, tmp_path)
    cyrillic = ("Троцкий выслан в Алма-Ату. " * 800)[:MAX_LENGTH]
    latin = ("Trotsky was exiled to Alma-Ata & <later> Turkey. " * 500)[:MAX_LENGTH]
    a = poster.publish(outgoing(1, cyrillic, key_prefix="real/size/2026-01-10"), None, None)
    b = poster.publish(outgoing(1, latin, key_prefix="real/size2/2026-01-10"), None, None)
    contents = {e["event_id"]: e["content"] for e in bot_messages(synapse, room)}
    assert "formatted_body" not in contents[a.remote_id]  # plain: too large twice
    assert contents[a.remote_id]["body"] == cyrillic
    assert contents[b.remote_id]["formatted_body"].count("&lt;later&gt;") == latin.count("<later>")
