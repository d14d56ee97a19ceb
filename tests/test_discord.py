"""The discord adapter against a local server that enforces Discord's execute-webhook contract:
``?wait=true`` for a returned message, ``content`` of at most 2,000 characters (else 400 code
50035), ``allowed_mentions`` on every post, forum ``thread_name`` / ``thread_id`` semantics,
and 429 with ``retry_after`` and ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import re
import time
from urllib.parse import urlsplit

import pytest

from bot import __version__
from bot.errors import ConfigError
from bot.events.mentions import Member, MentionDirectory
from bot.posters.base import OutgoingPost, PostError, Published
from bot.posters.discord import DiscordPoster, thread_name
from bot.publishing.log import outgoing_posts
from bot.threads.render import ZERO_WIDTH_SPACE, render_thread
from tests.harnesses.discord import CHANNEL_ID, GUILD_ID, TOKEN, WEBHOOK_ID, DiscordServer
from tests.test_render import make_event

DAY = dt.date(2026, 7, 20)

JANE = "223344556677889900"  # a listed member's Discord user id
MALLORY = "123456789012345678"  # someone the event text names as <@...>, not listed


@pytest.fixture
def server():
    with DiscordServer() as s:
        yield s
        assert s.violations == []


@pytest.fixture
def forum():
    with DiscordServer(forum=True) as s:
        yield s
        assert s.violations == []


class FakeTime:
    """A clock and a sleep that only pretend: pacing is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_poster(url: str, tmp_path, fake_time: FakeTime | None = None, **extra) -> DiscordPoster:
    settings = DiscordPoster.validate_settings({"webhook_url": url, **extra}, "test", tmp_path)
    timing = {"clock": fake_time.clock, "sleep": fake_time.sleep} if fake_time else {}
    poster = DiscordPoster("disc", settings, **timing)
    # keep the tests quick: urllib3 backs off 0.5 s, 1 s, ... by default
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


def post(number: int, body: str = "", title: str | None = None, mentions=()) -> OutgoingPost:
    return OutgoingPost(
        key=f"disc/apollo/2026-07-20/{number}",
        thread_key="disc/apollo/2026-07-20",
        number=number,
        body=body or f"Post number {number}.",
        format="markdown",
        event_id="apollo",
        day=DAY,
        title=title if number == 1 else None,
        mentions=tuple(mentions),
    )


# --- threads ----------------------------------------------------------------------------------


def test_text_channel_thread_is_consecutive_messages(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    lead = poster.publish(post(1, title="A title"), None, None)
    reply = poster.publish(post(2), lead, lead)
    third = poster.publish(post(3), lead, reply)
    ids = [m["id"] for m in server.messages]
    assert [lead.remote_id, reply.remote_id, third.remote_id] == [f"{CHANNEL_ID}/{i}" for i in ids]
    assert lead.url == f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{ids[0]}"
    # one GET (the webhook, once per run) then one POST per post, all with ?wait=true
    assert [(r.method, urlsplit(r.path).query) for r in server.requests] == [
        ("GET", ""), ("POST", "wait=true"), ("POST", "wait=true"), ("POST", "wait=true"),
    ]  # fmt: skip
    assert [r.json() for r in server.posts()] == [
        {"content": f"Post number {n}.", "allowed_mentions": {"parse": [], "users": []}}
        for n in (1, 2, 3)
    ]
    assert server.threads == {}


def test_forum_lead_opens_a_thread_and_replies_go_into_it(forum, tmp_path):
    poster = make_poster(forum.url, tmp_path, forum=True, username="Anniversary Bot")
    assert poster.capabilities.titles is True and poster.capabilities.title_length == (1, 100)
    lead = poster.publish(post(1, title="July 20, 1969: Apollo 11"), None, None)
    reply = poster.publish(post(2), lead, lead)
    third = poster.publish(post(3), lead, reply)
    (thread_id,) = forum.threads
    assert forum.threads[thread_id] == "July 20, 1969: Apollo 11"
    assert lead.remote_id == f"{thread_id}/{thread_id}"
    assert [m["channel_id"] for m in forum.messages] == [thread_id] * 3
    assert reply.remote_id == f"{thread_id}/{forum.messages[1]['id']}" != third.remote_id
    queries = [urlsplit(r.path).query for r in forum.posts()]
    assert queries == ["wait=true", f"wait=true&thread_id={thread_id}",
                       f"wait=true&thread_id={thread_id}"]  # fmt: skip
    bodies = [r.json() for r in forum.posts()]
    assert bodies[0] == {
        "content": "Post number 1.",
        "allowed_mentions": {"parse": [], "users": []},
        "username": "Anniversary Bot",
        "thread_name": "July 20, 1969: Apollo 11",
    }
    assert ["thread_name" in b for b in bodies] == [True, False, False]


def test_forum_thread_name_is_cut_to_100_characters(forum, tmp_path):
    poster = make_poster(forum.url, tmp_path, forum=True)
    title = "July 20, 1969: " + "a very long title " * 10
    poster.publish(post(1, title=title), None, None)
    (name,) = forum.threads.values()
    assert name == title[:99].rstrip() + "…" and len(name) <= 100


def test_thread_name_is_plain_text_on_one_line():
    escaped = post(1, title="1\\. The \\*crew\\* of\nApollo\\_11 \\\\o/")
    assert thread_name(escaped) == "1. The *crew* of Apollo_11 \\o/"
    untitled = post(1, body="\n  First line of the body.\nSecond.")
    assert thread_name(untitled) == "First line of the body."


def test_forum_reply_without_a_known_thread_fails_clearly(forum, tmp_path):
    poster = make_poster(forum.url, tmp_path, forum=True)
    with pytest.raises(PostError, match="thread id is unknown") as raised:
        poster.publish(post(2), Published("(confirmed by hand)"), None)
    assert raised.value.retryable is False and forum.requests == []


def test_thread_name_in_a_text_channel_says_to_set_forum_false(server, tmp_path):
    poster = make_poster(server.url, tmp_path, forum=True)
    with pytest.raises(PostError, match="set forum: false") as raised:
        poster.publish(post(1, title="T"), None, None)
    assert raised.value.retryable is False and server.messages == []


def test_a_forum_without_forum_true_says_to_set_it(forum, tmp_path):
    poster = make_poster(forum.url, tmp_path)
    with pytest.raises(PostError, match="set forum: true"):
        poster.publish(post(1, title="T"), None, None)
    assert forum.messages == []


# --- nobody is pinged but the listed members ------------------------------------------------

INJECTION = (
    "Hey @everyone and @here, <@123456789012345678> and <@!123456789012345678> and role "
    "<@&345678901234567890>, <!channel> <!here> <@U999>, @someone, <b>x</b>, "
    "[click](https://evil.example) and https://evil.example/<@123456789012345678>."
)


def injection_thread(platform: str, fmt: str):
    event = make_event(
        lead=INJECTION,
        parts=[
            {"blocks": [
                {"type": "text", "text": INJECTION},
                {"type": "quote", "text": INJECTION, "cite": "@everyone"},
                {"type": "links", "title": "@here", "links": [
                    {"title": "[click](https://evil.example) @everyone", "url": "https://nasa.gov"}]},
                {"type": "mentions", "lists": ["crew"], "members": []},
            ]},
            {"blocks": [{"type": "text", "text": INJECTION}]},
        ],
    )  # fmt: skip
    directory = MentionDirectory(
        [{"id": "jane", "name": "SGT Jane Doe", "handles": {"discord": JANE, "slack": "U0JANE01"}},
         {"id": "joe", "name": "Joe", "handles": {}},
         {"id": "mallory", "name": "@everyone Mallory",
          "handles": {"discord": MALLORY, "slack": "U999"}}],
        [{"name": "crew", "members": ["jane", "joe"]}],
    )  # fmt: skip
    return render_thread(event, DAY, fmt, directory, platform=platform)


def test_injection_corpus_pings_only_the_listed_member(server, tmp_path):
    thread = injection_thread("discord", "markdown")
    posts = outgoing_posts(thread, "disc")
    assert [m.id for m in posts[0].mentions] == ["jane", "joe"]
    poster = make_poster(server.url, tmp_path)
    lead = poster.publish(posts[0], None, None)
    poster.publish(posts[1], lead, lead)
    first, second = server.messages
    assert first["allowed_mentions"] == {"parse": [], "users": [JANE]}
    assert second["allowed_mentions"] == {"parse": [], "users": []}
    # what Discord would notify, from the content and allowed_mentions as it received them
    assert first["pinged"] == [JANE] and second["pinged"] == []
    # and the text itself: the only live mention is the listed member's
    for message in (first, second):
        content = message["content"]
        assert "@everyone" not in content and "@here" not in content
        assert f"@{ZERO_WIDTH_SPACE}everyone" in content
        assert re.findall(r"(?<!\\)<@[!&]?\d+>", content) == (
            [f"<@{JANE}>"] if message is first else []
        )
        assert "\\[click\\](https://evil.example)" in content
    assert first["content"].endswith(f"FYI <@{JANE}> Joe")


def test_allowed_mentions_are_sent_even_with_nobody_to_ping(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    poster.publish(post(1, body="@everyone <@123456789012345678>"), None, None)
    (message,) = server.messages
    assert message["allowed_mentions"] == {"parse": [], "users": []}
    assert message["pinged"] == []


def test_each_listed_member_once_members_without_a_handle_skipped(server, tmp_path):
    members = (
        Member("jane", "Jane", {"discord": JANE}),
        Member("joe", "Joe"),
        Member("jane2", "Jane again", {"discord": JANE}),
        Member("ann", "Ann", {"discord": "334455667788990011", "slack": "U1"}),
    )
    poster = make_poster(server.url, tmp_path)
    poster.publish(post(1, body=f"<@{JANE}> <@334455667788990011>", mentions=members), None, None)
    assert server.messages[0]["allowed_mentions"]["users"] == [JANE, "334455667788990011"]
    assert server.messages[0]["pinged"] == sorted([JANE, "334455667788990011"])


def test_a_handle_that_is_not_a_user_id_is_refused_before_sending(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    bad = (Member("jane", "Jane", {"discord": "janedoe"}),)
    with pytest.raises(PostError, match="member 'jane' has the handle 'janedoe'") as raised:
        poster.publish(post(1, mentions=bad), None, None)
    assert raised.value.retryable is False and server.requests == []


def rate_limited(header: str, retry_after: float, is_global: bool):
    # Discord's 429: the header in whole seconds, the body exact
    body = {"message": "You are being rate limited.", "retry_after": retry_after,
            "global": is_global}  # fmt: skip
    return 429, {"Retry-After": header}, body


# --- API versions, User-Agent and pacing ----------------------------------------------------------


@pytest.mark.parametrize("pasted", [6, 8, 10])
def test_requests_go_to_api_v10_whatever_version_the_url_names(tmp_path, pasted):
    with DiscordServer(version=pasted) as server:
        poster = make_poster(server.url, tmp_path)
        poster.publish(post(1), None, None)
        route = f"/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}"
        assert [urlsplit(r.path).path for r in server.requests] == [route, route]
        assert server.served_versions == [10, 10] and server.violations == []


@pytest.mark.parametrize("pasted", [6, 10])
def test_a_rate_limit_is_read_in_seconds_whatever_version_the_url_names(tmp_path, pasted):
    """An unversioned URL is served by v6, which says 150 s as 150000 (milliseconds): read as
    seconds that was a retry 41 hours later and a missed day."""
    with DiscordServer(version=pasted) as server:
        server.limit_next_post(150.0)  # longer than the HTTP layer sleeps through
        poster = make_poster(server.url, tmp_path)
        with pytest.raises(PostError) as raised:
            poster.publish(post(1), None, None)
        assert raised.value.retryable is True and raised.value.retry_after == 150
        assert "150 s" in str(raised.value) and server.messages == []


def test_the_user_agent_is_discords_bot_form(server, tmp_path):
    make_poster(server.url, tmp_path).publish(post(1), None, None)
    agents = {r.headers["User-Agent"] for r in server.requests}
    assert agents == {f"DiscordBot (https://pypi.org/project/anniversary-bot/, {__version__})"}


def test_posts_are_paced_on_the_rate_limit_headers_not_on_429s(tmp_path):
    fake = FakeTime()
    with DiscordServer(rate_limit=(5, 2.0), clock=fake.clock) as server:
        poster = make_poster(server.url, tmp_path, fake)
        lead = poster.publish(post(1), None, None)
        for number in range(2, 12):
            poster.publish(post(number), lead, lead)
        assert len(server.messages) == 11 and server.limited == 0
        # posts 1-5 empty the bucket, the 6th waits its reset, 6-10 empty it again
        assert fake.sleeps == [2.0, 2.0]
        assert server.violations == []


def test_a_pacing_wait_past_two_minutes_is_the_next_retry_not_slept(tmp_path):
    fake = FakeTime()
    with DiscordServer(rate_limit=(1, 600.0), clock=fake.clock) as server:
        poster = make_poster(server.url, tmp_path, fake)
        lead = poster.publish(post(1), None, None)
        with pytest.raises(PostError, match="no request left for 600 s") as raised:
            poster.publish(post(2), lead, lead)
        assert raised.value.retryable is True and raised.value.retry_after == 600
        assert fake.sleeps == [] and len(server.posts()) == 1 and server.limited == 0


# --- errors -------------------------------------------------------------------------------------


def test_429_retry_after_is_honoured_and_the_post_sent_once(server, tmp_path):
    server.script = [rate_limited("1", 0.9, False)]
    poster = make_poster(server.url, tmp_path)
    started = time.monotonic()
    published = poster.publish(post(1), None, None)
    first, second = server.posts()
    assert second.time - first.time >= 0.95  # waited as asked, not the 0.01 s backoff
    assert time.monotonic() - started < 5
    assert len(server.messages) == 1 and published.remote_id.endswith(server.messages[0]["id"])


def test_long_429_is_recorded_with_its_wait_not_slept(server, tmp_path):
    server.script = [rate_limited("3600", 3600.0, True)]
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(1), None, None)
    assert raised.value.retryable is True and raised.value.retry_after == 3600
    assert len(server.posts()) == 1 and server.messages == []


def test_429_retries_run_out_and_report_the_global_limit(server, tmp_path):
    server.script = [rate_limited("0", 0.3, True)] * 5
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(1), None, None)
    assert len(server.posts()) == 5  # the first try and 4 retries
    assert str(raised.value) == "discord is rate limiting (global limit): it asks to wait 0.3 s"
    assert raised.value.retryable is True and raised.value.status == 429
    assert raised.value.retry_after == 0.3  # the body's exact wait, over the header's 0


@pytest.mark.parametrize("deleted", [True, False], ids=["deleted", "wrong-token"])
def test_a_dead_webhook_fails_fast_without_the_url_in_the_message(server, tmp_path, deleted):
    url = server.url if deleted else server.url.replace(TOKEN, "wrong-token-value-0000")
    server.deleted = deleted
    poster = make_poster(url, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(1), None, None)
    error = raised.value
    assert error.retryable is False and error.status == (404 if deleted else 401)
    said = "Unknown Webhook" if deleted else "Invalid Webhook Token"
    assert str(error) == (
        f"discord answered {error.status} ({said}): the webhook was deleted or webhook_url is "
        "wrong: create a webhook in the channel's Integrations settings and put its URL in "
        "webhook_url"
    )
    assert TOKEN not in str(error) and "wrong-token" not in str(error) and "/api/" not in str(error)
    # the GET that reads the webhook found out: no refused POST (Discord bans IPs for those)
    assert [r.method for r in server.requests] == ["GET"]


def test_a_webhook_deleted_during_the_run(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    lead = poster.publish(post(1), None, None)
    server.deleted = True
    with pytest.raises(PostError, match="the webhook was deleted") as raised:
        poster.publish(post(2), lead, lead)
    assert raised.value.retryable is False and TOKEN not in str(raised.value)
    assert [r.method for r in server.requests] == ["GET", "POST", "POST"]


def test_too_long_content_gives_discords_field_error(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(1, body="x" * 2001), None, None)
    assert str(raised.value) == (
        "discord answered 400 (code 50035): Invalid Form Body: content: Must be 2000 or fewer "
        "in length."
    )
    assert raised.value.retryable is False and server.messages == []


def test_a_deleted_forum_thread(forum, tmp_path):
    poster = make_poster(forum.url, tmp_path, forum=True)
    lead = poster.publish(post(1, title="T"), None, None)
    forum.threads.clear()
    with pytest.raises(PostError, match="thread no longer exists") as raised:
        poster.publish(post(2), lead, lead)
    assert raised.value.retryable is False


def test_a_server_error_is_not_repeated_blind(server, tmp_path):
    """A 502 may come from a gateway after Discord created the message, and a webhook cannot
    look messages up: the POST is not repeated; the outcome is unknown (a person decides)."""
    from bot.posters.base import Outcome

    server.script = [(502, {}, {"message": "Bad Gateway", "code": 0})]
    poster = make_poster(server.url, tmp_path)
    with pytest.raises(PostError) as raised:
        poster.publish(post(1), None, None)
    assert raised.value.outcome == Outcome.UNKNOWN or (
        raised.value.__context__ is not None and raised.value.__context__.outcome == Outcome.UNKNOWN
    )
    assert len(server.posts()) == 1


def test_cannot_find(server, tmp_path):
    poster = make_poster(server.url, tmp_path)
    assert poster.can_find is False
    with pytest.raises(NotImplementedError):
        poster.find(post(1), None)


# --- check and settings -------------------------------------------------------------------------


def test_check_reads_the_webhook(server, tmp_path):
    said = make_poster(server.url, tmp_path).check()
    assert said == (
        f"webhook 'Anniversaries' answers: it posts to channel {CHANNEL_ID} on server {GUILD_ID} "
        "(text channel); API v10 (webhook_url names no version, which Discord serves as v6)"
    )
    assert [r.method for r in server.requests] == ["GET"] and TOKEN not in said


@pytest.mark.parametrize(
    ("pasted", "said"), [(10, "API v10"), (8, "API v10 (webhook_url names v8)")]
)
def test_check_names_the_api_version(tmp_path, pasted, said):
    with DiscordServer(version=pasted) as server:
        assert make_poster(server.url, tmp_path).check().endswith(f"(text channel); {said}")


def test_config_check_names_the_api_version(server, tmp_path, cli_run, monkeypatch):
    from tests.conftest import write_config

    monkeypatch.setenv("DISCORD_WEBHOOK_URL", server.url)
    config = write_config(
        tmp_path / "bot.yaml",
        "  disc:\n    type: discord\n    webhook_url: {$env: DISCORD_WEBHOOK_URL}\n",
    )
    code, out, err = cli_run("--config", str(config), "config", "check")
    assert code == 0, err
    assert "disc (discord): webhook 'Anniversaries' answers" in out
    assert "API v10 (webhook_url names no version, which Discord serves as v6)" in out
    assert TOKEN not in out + err


def test_check_of_a_deleted_webhook(server, tmp_path):
    server.deleted = True
    with pytest.raises(PostError, match="deleted or webhook_url is wrong"):
        make_poster(server.url, tmp_path).check()


@pytest.mark.parametrize(
    "url",
    [
        "https://discord.com/api/channels/1/messages",
        "https://discord.com/api/webhooks/123/tok?thread_id=5",
        "http://discord.com/api/webhooks/123/" + TOKEN,
        "discord.com/api/webhooks/123/" + TOKEN,
    ],
)
def test_webhook_url_is_checked_without_repeating_it(tmp_path, url):
    with pytest.raises(ConfigError, match=r"^test\.webhook_url: must be") as raised:
        DiscordPoster.validate_settings({"webhook_url": url}, "test", tmp_path)
    assert TOKEN not in str(raised.value) and "tok?" not in str(raised.value)


def test_settings_defaults_and_secret(tmp_path):
    url = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
    settings = DiscordPoster.validate_settings({"webhook_url": url}, "test", tmp_path)
    assert settings == {"webhook_url": url, "forum": False, "username": None}
    assert TOKEN not in repr(settings)
    poster = DiscordPoster("disc", settings)
    assert poster.capabilities.titles is False and poster.capabilities.max_length == 2000
    assert TOKEN not in repr(vars(poster))
    with pytest.raises(ConfigError, match="username: may not contain"):
        DiscordPoster.validate_settings(
            {"webhook_url": url, "username": "Discord Bot"}, "t", tmp_path
        )
