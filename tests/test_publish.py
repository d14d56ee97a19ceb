"""Publishing exactly once: the publish log, the webhook adapter on a real local server,
and `post`, `history`, `retry` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.app import threads_for_day
from bot.posters.base import PostError
from bot.posters.webhook import WebhookPoster
from bot.publishing.log import PublishLog, publish_thread
from bot.store import Store
from tests.conftest import write_config
from tests.servers import WebhookReceiver

SECRET = "a-shared-secret-of-enough-length"
DAY = dt.date(2026, 7, 20)


@pytest.fixture
def receiver():
    with WebhookReceiver(SECRET) as server:
        yield server


def webhook(receiver, **extra) -> WebhookPoster:
    settings = {
        "url": receiver.url,
        "secret": SECRET,
        "format": "text",
        "lookup_url": None,
        "timeout": 5.0,
    }
    settings.update(extra)
    poster = WebhookPoster("hook", settings)
    # keep the tests quick: urllib3 backs off 0.5 s, 1 s, ... by default
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0.01
    return poster


def thread(store_path):
    store = Store(store_path)
    (t,) = threads_for_day(store, DAY, "text")
    return store, t


def test_webhook_sends_every_part_once_in_order(receiver, three_part_store):
    store, t = thread(three_part_store)
    result = publish_thread(store, webhook(receiver), "hook", t)
    assert result.state == "sent" and result.sent_now == 3
    posts = [r.json() for r in receiver.requests]
    assert [p["number"] for p in posts] == [1, 2, 3]
    assert posts[0]["title"] == "July 20, 1969: Apollo 11 lands on the Moon (57th anniversary)"
    assert posts[1]["reply_to"] == posts[0]["key"].join(["msg-", ""])
    assert posts[2]["lead"] == "msg-" + posts[0]["key"]
    assert posts[0]["key"] == "hook/1969-07-20-apollo-11-lands-on-the-moon/2026-07-20/1"
    # again: nothing is sent
    again = publish_thread(store, webhook(receiver), "hook", t)
    assert again.sent_now == 0 and len(receiver.requests) == 3
    assert set(receiver.copies().values()) == {1}


def test_a_500_is_not_sent_again_blind_but_looked_up_then_sent_once(receiver, three_part_store):
    """A 5xx may come from a gateway after the receiver kept the post: the HTTP layer does not
    repeat the POST; the next run looks the post up and sends it only if it is not there."""
    store, t = thread(three_part_store)
    calls = {"n": 0}
    accept = receiver.server.handle

    def second_request_fails(request):
        if request.method == "POST":
            calls["n"] += 1
            if calls["n"] == 2:
                return 500, {}, {"error": "temporarily broken"}
        return accept(request)

    receiver.server.handle = second_request_fails
    now = dt.datetime(2026, 7, 20, 7, 0, tzinfo=dt.UTC)
    poster = webhook(receiver, lookup_url=receiver.lookup_url)
    result = publish_thread(store, poster, "hook", t, clock=lambda: now)
    assert [p.state for p in result.posts] == ["sent", "sending", "planned"]
    assert "it may have been posted" in result.posts[1].error
    assert [r.json()["number"] for r in receiver.requests] == [1, 2]  # no blind repeat
    # before its look-up time nothing happens; after it, a look-up, then one send
    same = publish_thread(store, poster, "hook", t, clock=lambda: now)
    assert len(receiver.requests) == 2 and same.sent_now == 0
    later = now + dt.timedelta(minutes=2)
    result = publish_thread(store, poster, "hook", t, clock=lambda: later)
    assert result.state == "sent"
    methods = [(r.method, r.path.split("?")[0]) for r in receiver.requests[2:]]
    assert methods == [("GET", "/lookup"), ("POST", receiver.path), ("POST", receiver.path)]
    assert receiver.copies() == {p.key: 1 for p in result.posts}


def test_a_500_without_a_lookup_is_unconfirmed_and_never_resent_without_a_person(
    receiver, three_part_store
):
    store, t = thread(three_part_store)
    receiver.script = [(500, {})]
    result = publish_thread(store, webhook(receiver), "hook", t)
    assert [p.state for p in result.posts] == ["unconfirmed", "planned", "planned"]
    assert "retry --resend" in result.posts[0].error
    for _ in range(3):
        again = publish_thread(store, webhook(receiver), "hook", t, retry_now=True)
        assert again.state == "unconfirmed"
    assert len(receiver.requests) == 1
    # a person checked: it is not there
    key = result.posts[0].key
    resent = publish_thread(store, webhook(receiver), "hook", t, resend={key})
    assert resent.state == "sent"
    assert receiver.copies() == {p.key: 1 for p in resent.posts}


def test_429_retry_after_is_honoured(receiver, three_part_store):
    store, t = thread(three_part_store)
    receiver.script = [(429, {"Retry-After": "1"})]
    result = publish_thread(store, webhook(receiver), "hook", t)
    assert result.state == "sent"
    first, second = receiver.requests[0], receiver.requests[1]
    assert second.time - first.time >= 0.95  # waited as asked, not the 0.01 s backoff
    assert set(receiver.copies().values()) == {1}


def test_long_retry_after_is_recorded_not_slept(receiver, three_part_store):
    store, t = thread(three_part_store)
    receiver.script = [(429, {"Retry-After": "3600"})]
    now = dt.datetime(2026, 7, 20, 7, 0, tzinfo=dt.UTC)
    result = publish_thread(store, webhook(receiver), "hook", t, clock=lambda: now)
    assert result.state == "failed"
    (row,) = PublishLog(store).rows(states=("failed",))
    assert row["next_retry_at"] == "2026-07-20T08:00:00+00:00"
    assert "asks to wait 3600 s" in row["last_error"]
    # later posts wait for the first: nothing else was sent
    assert len(receiver.requests) == 1 and receiver.copies() == {}


def test_401_fails_fast_with_the_platform_message(receiver, three_part_store):
    store, t = thread(three_part_store)
    poster = webhook(receiver, secret="the-wrong-secret-of-some-length")
    with pytest.raises(PostError) as raised:
        poster.publish(publish_thread.__globals__["outgoing_posts"](t, "hook")[0], None, None)
    assert len(receiver.requests) == 1
    assert raised.value.retryable is False
    port = receiver.server.httpd.server_address[1]
    assert str(raised.value) == (
        f"webhook (127.0.0.1:{port}) answered 401: bad signature (check the token or API key)"
    )


def test_network_down_is_a_clear_failure(three_part_store):
    store, t = thread(three_part_store)
    settings = {
        "url": "http://127.0.0.1:9/hook",
        "secret": SECRET,
        "format": "text",
        "lookup_url": None,
        "timeout": 2.0,
    }
    poster = WebhookPoster("hook", settings)
    poster.http.session.get_adapter("http://").max_retries.backoff_factor = 0
    result = publish_thread(store, poster, "hook", t)
    assert result.state == "failed"
    assert "cannot connect to 127.0.0.1:9" in result.posts[0].error
    assert [p.state for p in result.posts] == ["failed", "planned", "planned"]


# --- the CLI, as a user runs it ----------------------------------------------------------


def test_post_twice_sends_nothing_the_second_time(cli_run, tmp_path, three_part_store):
    outbox = tmp_path / "outbox"
    config = write_config(tmp_path / "bot.yaml", f"  out:\n    type: outbox\n    path: {outbox}\n")
    args = ("--config", str(config), "--db", str(three_part_store), "post", "--date", "2026-07-20")
    code, out, err = cli_run(*args)
    assert code == 0, err
    lead_file = outbox / "2026-07-20" / "1969-07-20-apollo-11-lands-on-the-moon-01.txt"
    assert out == (
        f"out: 1969-07-20-apollo-11-lands-on-the-moon: 3/3 posts sent (3 now); see {lead_file.as_uri()}\n"
    )
    files = sorted(p.name for p in (outbox / "2026-07-20").iterdir())
    assert files == [
        f"1969-07-20-apollo-11-lands-on-the-moon-0{n}.{ext}"
        for n in (1, 2, 3)
        for ext in ("json", "txt")
    ]
    stamp = {p: p.stat().st_mtime_ns for p in (outbox / "2026-07-20").iterdir()}
    code, out, _ = cli_run(*args)
    assert code == 0
    assert (
        out
        == "out: 1969-07-20-apollo-11-lands-on-the-moon: 3/3 posts sent (already sent earlier)\n"
    )
    assert {p: p.stat().st_mtime_ns for p in (outbox / "2026-07-20").iterdir()} == stamp
    sidecar = json.loads(
        (outbox / "2026-07-20" / "1969-07-20-apollo-11-lands-on-the-moon-02.json").read_text()
    )
    assert sidecar["reply_to"] == "2026-07-20/1969-07-20-apollo-11-lands-on-the-moon-01.txt"
    code, out, _ = cli_run("--config", str(config), "--db", str(three_part_store), "history")
    assert [line.split()[4] for line in out.splitlines()[1:]] == ["sent"] * 3


def test_dry_run_touches_nothing(cli_run, tmp_path, three_part_store):
    outbox = tmp_path / "outbox"
    config = write_config(tmp_path / "bot.yaml", f"  out:\n    type: outbox\n    path: {outbox}\n")
    code, out, _ = cli_run(
        "--config",
        str(config),
        "--db",
        str(three_part_store),
        "post",
        "--date",
        "2026-07-20",
        "--dry-run",
    )
    assert code == 0
    assert "---- post 3 of 3 (reply) ----\nPart three.\n---- 11 characters ----" in out
    assert not outbox.exists()
    assert PublishLog(Store(three_part_store)).rows() == []


def test_failed_post_is_recorded_then_retried(
    cli_run, tmp_path, three_part_store, receiver, monkeypatch
):
    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = write_config(
        tmp_path / "bot.yaml",
        "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n    secret: {$env: HOOK_SECRET}\n",
    )
    base = ("--config", str(config), "--db", str(three_part_store))
    receiver.script = [(400, {})]  # a refusal that will not improve by itself
    code, out, err = cli_run(*base, "post", "--date", "2026-07-20")
    assert code == 1
    assert "post 1 failed: webhook (127.0.0.1:" in out and "answered 400: scripted 400" in out
    assert err == (
        "hook: 1969-07-20-apollo-11-lands-on-the-moon: sending post 1 of 3\n"  # progress
        "Error: 1 thread not fully sent: see 'anniversary-bot history --failed'\n"
    )
    code, out, _ = cli_run(*base, "history", "--failed")
    header, row = out.splitlines()
    assert header.split() == ["DAY", "DESTINATION", "EVENT", "POST", "STATE", "DETAILS"]
    assert row.split()[3:6] == ["1", "failed", "attempts=1"]
    assert "waits for 'retry'" in row and "answered 400" in row
    # a refusal is not retried on a schedule: a second post run sends nothing
    code, out, _ = cli_run(*base, "post", "--date", "2026-07-20")
    assert code == 1 and len(receiver.requests) == 1
    code, out, _ = cli_run(*base, "retry")
    assert code == 0 and "3/3 posts sent (3 now)" in out
    assert set(receiver.copies().values()) == {1} and len(receiver.copies()) == 3


def test_config_show_masks_secrets_and_logs_never_show_them(
    cli_run, tmp_path, three_part_store, receiver, monkeypatch, capfd
):
    monkeypatch.setenv("HOOK_URL", receiver.url)
    write = tmp_path / "secret.txt"
    write.write_text(SECRET + "\n")
    config = write_config(
        tmp_path / "bot.yaml",
        f"  hook:\n    type: webhook\n    url: {{$env: HOOK_URL}}\n    secret: {{$file: {write.name}}}\n",
    )
    code, out, _ = cli_run("--config", str(config), "config", "show")
    assert code == 0
    assert "url: '********'" in out and "secret: '********'" in out
    assert SECRET not in out and "s3cr3t-path-token" not in out
    monkeypatch.setenv("ANNIVERSARY_BOT_LOG", "DEBUG")
    receiver.script = [(429, {"Retry-After": "0"}), (429, {"Retry-After": "0"})]
    code, out, err = cli_run(
        "--config", str(config), "--db", str(three_part_store), "post", "--date", "2026-07-20"
    )
    captured = capfd.readouterr()
    everything = out + err + captured.out + captured.err
    assert code == 0
    assert "urllib3" in everything or "POST" in everything  # debug logging did happen
    for secret in (SECRET, "s3cr3t-path-token"):
        assert secret not in everything, everything[everything.index(secret) - 300 :][:600]


@pytest.mark.parametrize(
    "destination, message",
    [
        (
            "  hook:\n    type: webhook\n    secret: {$env: X}\n",
            "destinations.hook.url: required key for webhook is missing",
        ),
        (
            "  hook:\n    type: webhook\n    url: http://x/y\n    secret: {$env: X}\n",
            "destinations.hook.url: is a secret: write {$env: NAME} or {$file: path}",
        ),
        ("  hook:\n    type: telegraph\n", "destinations.hook.type: unknown adapter 'telegraph'"),
        (
            "  out:\n    type: outbox\n    path: x\n    time: '25:00'\n",
            "destinations.out.time: expected a time of day as HH:MM",
        ),
        (
            "  out:\n    type: outbox\n    path: x\n    timezone: Mars/Olympus\n",
            "destinations.out.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ("  out:\n    type: outbox\n", "destinations.out.path: required key for outbox is missing"),
        (
            "  out:\n    type: outbox\n    path: x\n    colour: red\n",
            "destinations.out.colour: unknown key for outbox (it takes: format, path)",
        ),
        (
            "  hook:\n    type: webhook\n    url: {$env: NOT_SET_ANYWHERE}\n    secret: {$env: NOT_SET_ANYWHERE}\n",
            "environment variable NOT_SET_ANYWHERE is not set",
        ),
    ],
)
def test_bad_config_is_one_clear_line(cli_run, tmp_path, destination, message, monkeypatch):
    monkeypatch.setenv("X", "x" * 20)
    config = write_config(tmp_path / "bot.yaml", destination)
    code, _, err = cli_run("--config", str(config), "config", "check")
    assert code == 2
    # the file and the line of the destination (or of the key) it is about
    assert err.startswith(f"Error: {config}:") and message in err
    assert err.removeprefix(f"Error: {config}:").split(":", 1)[0].isdigit(), err
    assert len(err.strip().splitlines()) == 1


def test_a_read_timeout_is_reported_as_one(three_part_store):
    import time as real_time

    from tests.servers import LocalServer

    def slow(request):
        real_time.sleep(1.5)  # a server that accepts and then says nothing in time
        return 200, {}, {"id": "late"}

    with LocalServer(slow) as server:
        store, t = thread(three_part_store)
        settings = {
            "url": server.url + "/hook",
            "secret": SECRET,
            "format": "text",
            "lookup_url": None,
            "timeout": 0.5,
        }
        poster = WebhookPoster("hook", settings)
        result = publish_thread(store, poster, "hook", t)
    port = server.httpd.server_address[1]
    error = result.posts[0].error
    assert error.startswith(f"webhook: 127.0.0.1:{port} did not answer within 0.5 s; it may")
    assert result.posts[0].state == "unconfirmed" and "retry --mark-sent" in error
    assert len(server.requests) == 1  # a read that timed out is not sent again blindly
