"""Secrets never leave the process (issue 12).

Every kind of secret the bot holds gets a distinctive value: the Slack token, the Matrix and
Mastodon access tokens, the Discourse API key, a webhook URL whose path is its secret (with
``user:password@`` in it too), the webhook's signing secret, a Discord webhook URL, and URLs
with ``user:password@`` that are not secrets themselves. Local servers refuse every request and
quote it back (path, headers, body, and some of it URL-encoded and JSON-escaped), as platforms
and the proxies before them sometimes do. Then every command that talks to them or shows what
they said runs as a real process with DEBUG logs, and stdout, stderr, the store, the outbox and
the bot's home folder are searched for every secret in every form it could take: zero hits.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import click
import pytest

from bot import secrets_filter
from bot.config import Secret
from bot.errors import ConfigError
from bot.posters.base import PostError
from bot.secrets_filter import MASK, mask
from tests.conftest import write_config
from tests.servers import FakePlatform, LocalServer, Recorded

DAY = "2026-07-20"  # a day of the bundled sample events (every day has one)

SLACK_TOKEN = "xoxb-5150-SLACKsecretTOKEN-q7z"
MATRIX_TOKEN = "syt_MATRIXsecret/TOKEN+q7w3=="
MASTODON_TOKEN = "MASTODONsecretTOKEN_x9k2p/plus+"
DISCOURSE_KEY = "DISCOURSEsecretKEY/c8v1m+equals="
WEBHOOK_SIGNING_SECRET = "WEBHOOKhmacSECRET_n5b7z-long"
WEBHOOK_PATH_TOKEN = "HOOKpathSECRET_r4t6y9"
WEBHOOK_PASSWORD = "HOOKuserPASS_e2w8"
DISCORD_TOKEN = "DISCORDwebhookTOKEN_u1i3o-p5a7s9d2f4g6h8j0k"
FORUM_PASSWORD = "FORUMbasicPASS_a7s9"
DISCORD_WEBHOOK_ID = "123456789012345678"


@pytest.fixture(autouse=True)
def no_secrets_from_other_tests():
    """Each test starts with no registered secret, and leaves none behind."""
    secrets_filter.forget_all()
    yield
    secrets_filter.forget_all()


SECRETS = {
    "slack token": SLACK_TOKEN,
    "matrix access token": MATRIX_TOKEN,
    "mastodon access token": MASTODON_TOKEN,
    "discourse api key": DISCOURSE_KEY,
    "webhook signing secret": WEBHOOK_SIGNING_SECRET,
    "webhook url path token": WEBHOOK_PATH_TOKEN,
    "webhook url password": WEBHOOK_PASSWORD,
    "discord webhook token": DISCORD_TOKEN,
    "discourse url password": FORUM_PASSWORD,
}
BASIC_CREDENTIALS = {
    "webhook url basic auth": ("hookuser", WEBHOOK_PASSWORD),
    "discourse url basic auth": ("forumuser", FORUM_PASSWORD),
}


def forms(value: str) -> set[str]:
    """``value`` in every form a platform, a log line or a JSON dump could carry it, plus its
    first and last 10 characters (a message cut to a length must not keep half a token)."""
    escaped = json.dumps(value)[1:-1]
    found = {
        value,
        quote(value, safe=""),
        quote(value, safe="/"),
        quote_plus(value),
        escaped,
        escaped.replace("/", "\\/"),
        value[:10],
        value[-10:],
    }
    found |= {f.replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d") for f in found}
    return found


def needles() -> dict[str, set[bytes]]:
    found = {name: {form.encode() for form in forms(value)} for name, value in SECRETS.items()}
    for name, (user, password) in BASIC_CREDENTIALS.items():
        found[name] = {base64.b64encode(f"{user}:{password}".encode())}
    return found


def leaks(data: bytes | str) -> list[str]:
    """The secrets found in ``data``, by name and the form that was found."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return sorted(
        f"{name} as {needle.decode()!r}"
        for name, found in needles().items()
        for needle in found
        if needle in data
    )


# --- the platforms: every request refused, and quoted back -------------------------------------


def quoted(request: Recorded) -> str:
    """The request as a careless server echoes it: the credential first, padded so that it
    straddles the 200-character cut where a client shortens the message (a message cut in the
    middle of a token still shows the half before the cut), then method, path, headers and body,
    also URL-encoded and JSON-escaped."""
    credential = (
        request.headers.get("Authorization") or request.headers.get("Api-Key") or request.path
    )
    headers = json.dumps(request.headers)
    body = request.body.decode("utf-8", "replace")[:2000]
    return (
        "." * 185
        + f"{credential} | {request.method} {request.path} | encoded path: "
        + f"{quote(request.path, safe='')} | escaped path: {request.path.replace('/', chr(92) + '/')}"
        + f" | headers: {headers} | escaped headers: {headers.replace('/', chr(92) + '/')}"
        + f" | encoded credential: {quote(credential, safe='')} | body: {body}"
    )


class QuotingPlatform(FakePlatform):
    """A platform refusing everything in its own error format, quoting the request."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.answers: list[str] = []
        self.server = LocalServer(self._handle)

    def _handle(self, request: Recorded):
        text = quoted(request)
        self.answers.append(text)
        if self.platform == "slack":
            # Slack's Web API answers HTTP 200 with ok:false and an error string:
            # https://api.slack.com/web#evaluating_responses
            return 200, {}, {"ok": False, "error": f"invalid_auth {text}"}
        if self.platform == "discord":
            # Discord's error body is {"code", "message"}; a 401 or 404 on a webhook may come
            # without a code (from a proxy in front of it):
            # https://discord.com/developers/docs/reference#error-messages
            return 401, {}, {"message": text}
        if self.platform == "matrix":
            # Matrix errors are {"errcode", "error"}:
            # https://spec.matrix.org/v1.11/client-server-api/#standard-error-response
            return 403, {}, {"errcode": "M_FORBIDDEN", "error": text}
        if self.platform == "mastodon":
            # Mastodon errors are {"error", "error_description"}:
            # https://docs.joinmastodon.org/entities/Error/
            return 422, {}, {"error": text}
        if self.platform == "discourse":
            # Discourse answers a refused post with 422 and {"errors": [...]}:
            # https://docs.discourse.org/#tag/Posts/operation/createTopicPostPM
            return 422, {}, {"errors": [text], "error_type": "invalid_parameters"}
        # the webhook receiver is the operator's own: any refusal with a JSON "error"
        return 422, {}, {"error": text}


@dataclass
class Run:
    args: tuple[str, ...]
    code: int | None  # None: it did not finish within the time allowed
    stdout: str
    stderr: str


@dataclass
class Scenario:
    runs: list[Run]
    run_dir: Path
    store: Path
    platforms: dict[str, QuotingPlatform]


COMMANDS = [
    ("config", "show"),
    ("config", "check"),
    ("post", "--date", DAY),
    ("retry",),
    ("history",),
    ("history", "--json"),
    ("history", "--failed"),
    ("status",),
    ("run", "--once"),
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, sample_store_path) -> Scenario:
    """Every command run once against the refusing platforms (module-scoped: about a dozen
    processes, shared by the checks below)."""
    config_dir = tmp_path_factory.mktemp("config")  # holds the secrets: not searched
    run_dir = tmp_path_factory.mktemp("run")  # everything the bot writes: searched
    store = run_dir / "store.db"
    shutil.copy(sample_store_path, store)
    names = ("slack", "discord", "matrix", "mastodon", "discourse", "webhook")
    platforms = {name: QuotingPlatform(name) for name in names}
    for platform in platforms.values():
        platform.__enter__()
    try:
        (config_dir / "discourse.key").write_text(DISCOURSE_KEY + "\n", encoding="utf-8")
        port = {name: p.url.rsplit(":", 1)[1] for name, p in platforms.items()}
        env = {
            **os.environ,
            "ANNIVERSARY_BOT_HOME": str(run_dir / "home"),
            "ANNIVERSARY_BOT_LOG": "DEBUG",
            "SLACK_TOKEN": SLACK_TOKEN,
            "MATRIX_TOKEN": MATRIX_TOKEN,
            "MASTODON_TOKEN": MASTODON_TOKEN,
            "HOOK_URL": f"http://hookuser:{WEBHOOK_PASSWORD}@127.0.0.1:{port['webhook']}"
            f"/hook/{WEBHOOK_PATH_TOKEN}",
            "HOOK_SECRET": WEBHOOK_SIGNING_SECRET,
            "DISCORD_URL": f"{platforms['discord'].url}/api/webhooks/{DISCORD_WEBHOOK_ID}/"
            f"{DISCORD_TOKEN}",
        }
        env.pop("ANNIVERSARY_BOT_CONFIG", None)
        env.pop("ANNIVERSARY_BOT_DEBUG", None)
        config = write_config(
            config_dir / "bot.yaml",
            f"""\
  out:
    type: outbox
    path: {run_dir / "outbox"}
    timezone: UTC
  chat:
    type: slack
    token: {{$env: SLACK_TOKEN}}
    channel: C0123ABCD
    api_url: {platforms["slack"].url}/api
    timezone: UTC
  room:
    type: matrix
    homeserver: {platforms["matrix"].url}
    access_token: {{$env: MATRIX_TOKEN}}
    room: "!quotingroom:example.org"
    timezone: UTC
  social:
    type: mastodon
    url: {platforms["mastodon"].url}
    access_token: {{$env: MASTODON_TOKEN}}
    timezone: UTC
  forum:
    type: discourse
    url: http://forumuser:{FORUM_PASSWORD}@127.0.0.1:{port["discourse"]}
    api_key: {{$file: discourse.key}}
    api_username: history-bot
    category: 5
    timezone: UTC
  hook:
    type: webhook
    url: {{$env: HOOK_URL}}
    secret: {{$env: HOOK_SECRET}}
    lookup_url: {platforms["webhook"].url}/lookup
    timezone: UTC
  discord:
    type: discord
    webhook_url: {{$env: DISCORD_URL}}
    timezone: UTC
""",
        )
        runs = []
        for args in COMMANDS:
            command = [sys.executable, "-m", "bot", "--config", str(config), "--db", str(store)]
            try:
                done = subprocess.run(
                    [*command, *args], env=env, capture_output=True, text=True, timeout=120
                )
            except subprocess.TimeoutExpired as stuck:
                # kept as a failure of that command's test, not of every test here
                out, err = (
                    x.decode() if isinstance(x, bytes) else x or ""
                    for x in (stuck.output, stuck.stderr)
                )
                runs.append(Run(args, None, out, err))
                continue
            runs.append(Run(args, done.returncode, done.stdout, done.stderr))
        yield Scenario(runs, run_dir, store, platforms)
    finally:
        for platform in platforms.values():
            platform.__exit__(None, None, None)


def test_the_platforms_were_reached_and_quoted_every_secret_back(scenario):
    """The searches below find nothing because nothing leaked, not because nothing was said."""
    answers = "".join(a for p in scenario.platforms.values() for a in p.answers)
    quoted_back = {found.split(" as ")[0] for found in leaks(answers)}
    # never sent as such: the signing secret only signs, a URL's password goes as Basic auth
    never_sent = {"webhook signing secret", "webhook url password", "discourse url password"}
    assert quoted_back == set(needles()) - never_sent
    for name, platform in scenario.platforms.items():
        assert platform.requests, f"{name} was never called"
    post = next(run for run in scenario.runs if run.args[0] == "post")
    said = post.stdout + post.stderr
    for platform in ("slack", "matrix", "mastodon", "discourse", "webhook", "discord"):
        assert f"{platform}" in said and "failed" in said, post


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_command_prints_a_secret(scenario, args):
    run = next(run for run in scenario.runs if run.args == args)
    assert run.code is not None, f"did not finish: {run.stderr[-2000:]}"
    assert "Traceback" not in run.stderr, run.stderr
    assert leaks(run.stdout) == [], run.stdout
    assert leaks(run.stderr) == [], run.stderr


def test_the_bots_files_hold_no_secret_outside_the_store(scenario):
    written = [
        path
        for path in scenario.run_dir.rglob("*")
        if path.is_file() and not path.name.startswith(scenario.store.name)
    ]
    assert any(path.suffix == ".txt" for path in written), "the outbox got nothing"
    found = {str(path): leaks(path.read_bytes()) for path in written}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_the_store_holds_no_secret(scenario):
    files = [p for p in scenario.run_dir.iterdir() if p.name.startswith(scenario.store.name)]
    found = {p.name: leaks(p.read_bytes()) for p in files}
    assert {name: hits for name, hits in found.items() if hits} == {}


# --- the redactor ------------------------------------------------------------------------------


def test_a_registered_secret_is_masked_in_every_encoding():
    value = "Sec/ret+Value=with&chars-0123"
    Secret(value)
    for form in forms(value) - {value[:10], value[-10:]}:
        assert mask(f"said: {form}.") == f"said: {MASK}.", form
    assert mask(f"said: {value.replace('&', '&amp;')}") == f"said: {MASK}"


def test_overlapping_secrets_are_masked_whole_and_a_long_one_from_a_file_too():
    Secret("Overlap-0123")
    Secret("Overlap-0123-and-more")
    assert mask("a Overlap-0123-and-more b Overlap-0123 c") == f"a {MASK} b {MASK} c"
    private_key = "-----BEGIN KEY-----\n" + "Qk9vdXJTZWNyZXQ" * 300 + "\n-----END KEY-----"
    Secret(private_key)  # thousands of characters, several lines
    assert mask(f"read {private_key} here") == f"read {MASK} here"


def test_a_secret_url_masks_its_path_query_and_token_on_their_own():
    token = "AbCdEf-ghIJ_klmn0123456789opqrstuvWXYZ"
    Secret(f"https://discord.com/api/webhooks/{DISCORD_WEBHOOK_ID}/{token}")
    assert mask(f"POST /api/webhooks/{DISCORD_WEBHOOK_ID}/{token}?wait=true") == (
        f"POST {MASK}?wait=true"
    )
    assert mask(f"Unknown token {token}") == f"Unknown token {MASK}"
    assert mask(f"{token[:-1]}") == token[:-1], "a different text is left alone"
    Secret("https://hooks.example.org/receive?key=QueryToken0123456789&mode=json")
    assert mask("the key QueryToken0123456789 is wrong") == f"the key {MASK} is wrong"


def test_url_credentials_are_masked_in_every_form_requests_sends_them():
    secrets_filter.register_url_credentials("https://alice:pa%40ss-word9@forum.example.org")
    basic = base64.b64encode(b"alice:pa@ss-word9").decode()
    assert mask(f"Authorization: Basic {basic}") == f"Authorization: Basic {MASK}"
    assert mask(f"token {basic} refused") == f"token {MASK} refused"
    said = mask("cannot connect to alice:pa@ss-word9@forum.example.org")
    assert "pa@ss" not in said and "word9" not in said and said.endswith("@forum.example.org")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://bob:hunter2@example.org/x", f"https://bob:{MASK}@example.org/x"),
        ("https:\\/\\/bob:hunter2@example.org", f"https:\\/\\/bob:{MASK}@example.org"),
        ('"Authorization": "Bearer abc.def-123"', f'"Authorization": "Bearer {MASK}"'),
        ("authorization=Basic Ym9iOmh1bnRlcjI=", f"authorization=Basic {MASK}"),
        ("Api-Key: 0123456789abcdef", f"Api-Key: {MASK}"),
        ("HTTP_API_KEY=0123456789abcdef", f"HTTP_API_KEY={MASK}"),
        ("invalid Bearer syt_abcdef123456789", f"invalid Bearer {MASK}"),
        ("/sync?access_token=syt_abc_123&since=s1", f"/sync?access_token={MASK}&since=s1"),
        ("the token xoxp-1234-abcdEFGH is revoked", f"the token {MASK} is revoked"),
    ],
)
def test_credentials_are_masked_even_when_never_registered(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "wait=true; see https://example.org/watch?v=1&list=2",
        "mailto:someone@example.org and someone@example.org",
        "Bearer of bad news; the Bearer Bonds; authorization: none",
        "anniversary-bot posts to webhooks, forums and rooms",
        "https://en.wikipedia.org/wiki/Apollo_11",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert mask(text) == text


def test_masking_stays_fast_with_many_secrets_and_a_long_text():
    for number in range(100):
        Secret(f"speed-test-secret-{number:03d}-" + "x7" * 10)
    text = ("An ordinary line of output, with a URL https://example.org/a?b=c in it.\n") * 14_000
    started = time.perf_counter()
    for _ in range(5):
        assert mask(text) == text
    per_megabyte = (time.perf_counter() - started) / 5 / (len(text) / 1e6)
    # measured about 0.02 s per MB with 100 secrets (800 encodings); a scan per secret with
    # str.replace would take several times that
    assert per_megabyte < 0.5, f"{per_megabyte:.3f} s per MB"


def test_the_log_filter_masks_records_for_any_handler():
    Secret("LogLineSecret-0123456789")
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent %s", ("LogLineSecret-0123456789",), None
    )
    assert secrets_filter.secret_filter().filter(record)
    assert record.getMessage() == f"sent {MASK}"


# --- the console stream ------------------------------------------------------------------------


class Console(io.StringIO):
    def __init__(self, tty: bool = False) -> None:
        super().__init__()
        self.tty = tty
        self.flushes = 0

    def isatty(self) -> bool:
        return self.tty

    def flush(self) -> None:
        self.flushes += 1


def test_a_secret_cut_across_two_writes_is_masked_whole():
    Secret("StreamSecret-0123456789")
    from bot.secrets_filter import MaskingStream

    console = Console()
    stream = MaskingStream(console)
    stream.write("before StreamSec")
    stream.write("ret-0123456789 after\n")
    stream.flush()
    assert console.getvalue() == f"before {MASK} after\n"


def test_a_long_output_is_passed_on_in_chunks_and_masked_across_them():
    Secret("ChunkSecret-0123456789")
    from bot.secrets_filter import MaskingStream

    console = Console()
    stream = MaskingStream(console)
    line = "x" * 99 + "\n"
    for _ in range(1000):  # 100 kB: more than one chunk before any flush
        stream.write(line)
    written_before_flush = len(console.getvalue())
    stream.write("ChunkSe")
    stream.write("cret-0123456789\n")
    stream.flush()
    assert 0 < written_before_flush < 100_000
    assert console.getvalue() == line * 1000 + f"{MASK}\n"


def test_click_logging_and_the_progress_bar_work_through_the_stream():
    Secret("ClickSecret-0123456789")
    from bot.secrets_filter import MaskingStream

    console = Console(tty=True)
    stream = MaskingStream(console)
    assert stream.isatty() and stream.writable()
    with pytest.raises(TypeError):
        stream.write(b"")  # how click tells a binary stream from a text one
    stream.buffer.write(b"bytes ClickSecret-0123456789\n")  # click's way for bytes: masked too
    click.echo("echo ClickSecret-0123456789", file=stream)
    handler = logging.StreamHandler(stream)
    handler.emit(
        logging.LogRecord("x", logging.INFO, __file__, 1, "log ClickSecret-0123456789", None, None)
    )
    with click.progressbar(length=3, label="Bar", file=stream) as bar:
        for _ in range(3):
            bar.update(1)
    stream.flush()
    out = console.getvalue()
    assert f"echo {MASK}\n" in out and f"log {MASK}\n" in out and f"bytes {MASK}\n" in out
    assert "Bar" in out and "100%" in out
    assert "ClickSecret" not in out


def test_the_cli_masks_what_any_command_writes(cli_run, monkeypatch, tmp_path):
    """In-process (click's CliRunner swaps the streams): a secret printed by a command is
    masked like in the real process."""
    monkeypatch.setenv("HOOK_URL", "http://127.0.0.1:9/hook/CliRunnerPathSecret0123456789")
    monkeypatch.setenv("HOOK_SECRET", "CliRunnerSigningSecret0123456789")
    config = write_config(
        tmp_path / "bot.yaml",
        "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n    secret: {$env: HOOK_SECRET}\n"
        "    lookup_url: http://127.0.0.1:9/lookup?token=CliRunnerPathSecret0123456789\n",
    )
    code, out, err = cli_run("--config", str(config), "config", "show")
    assert code == 0, err
    assert "CliRunner" not in out and "lookup_url: " in out


# --- the config: a value from $env or $file is never shown -------------------------------------


def test_a_token_under_the_wrong_key_is_named_by_its_source_not_shown(
    cli_run, tmp_path, monkeypatch
):
    token = "WrongVarMastodonToken_0123456789"
    monkeypatch.setenv("WRONG_VAR", token)
    monkeypatch.setenv("MASTODON_TOKEN", "a-real-token-0123456789")
    config = write_config(
        tmp_path / "bot.yaml",
        "  social:\n    type: mastodon\n    url: {$env: WRONG_VAR}\n"
        "    access_token: {$env: MASTODON_TOKEN}\n",
    )
    from bot.config.schema import parse_config

    # a secret is read (and its value checked) when the destination needs it, not at loading
    destination = parse_config(config).destination("social")
    with pytest.raises(ConfigError) as raised:
        destination.with_secrets()
    message = str(raised.value)
    assert token not in message and MASK not in message
    assert re.match(
        rf"{re.escape(str(config))}(:\d+)?: destinations\.social\.url: expected the instance's "
        "address",
        message,
    )
    assert "$env WRONG_VAR" in message
    code, _, err = cli_run("--config", str(config), "config", "check")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "$env WRONG_VAR" in err


def test_a_secret_file_that_is_not_utf8_is_one_line_naming_config_key_and_file(cli_run, tmp_path):
    secret_file = tmp_path / "slack.token"
    secret_file.write_bytes(b"xoxb-\xff\xfeNotUtf8Token0123")
    config = write_config(
        tmp_path / "bot.yaml",
        f"  chat:\n    type: slack\n    token: {{$file: {secret_file.name}}}\n"
        "    channel: C0123ABCD\n",
    )
    code, out, err = cli_run("--config", str(config), "config", "check")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1
    assert re.match(
        rf"Error: {re.escape(str(config))}(:\d+)?: destinations\.chat\.token: secret file "
        + re.escape(str(secret_file)),
        err,
    )
    assert "UTF-8" in err and "unexpected" not in err and "NotUtf8" not in err


# --- the adapters' messages --------------------------------------------------------------------


class RefusingServer(FakePlatform):
    def __init__(self, status: int, body) -> None:
        self.status, self.body = status, body
        self.server = LocalServer(lambda request: (self.status, {}, self.body(request)))


def test_discord_401_without_a_code_does_not_echo_the_token(tmp_path, monkeypatch):
    """A 401/404 on a webhook without Discord's ``code`` (a proxy's answer) quoting the URL."""
    from bot.config.schema import parse_config
    from bot.posters.discord import DiscordPoster

    token = "DiscordUnitToken_0123456789abcdefghijklmnopqrstuvwxyz"
    # the token starts within the 200 characters of the message an adapter keeps
    answer = {"message": "." * 170 + f"unknown token {token} for {DISCORD_WEBHOOK_ID}"}
    with RefusingServer(401, lambda request: answer) as server:
        url = f"{server.url}/api/webhooks/{DISCORD_WEBHOOK_ID}/{token}"
        monkeypatch.setenv("DISCORD_UNIT_URL", url)
        config = write_config(
            tmp_path / "bot.yaml",
            "  d:\n    type: discord\n    webhook_url: {$env: DISCORD_UNIT_URL}\n",
        )
        poster = DiscordPoster("d", parse_config(config).destinations["d"].with_secrets())
        with pytest.raises(PostError) as raised:
            poster.check()
    assert leaks_of(str(raised.value), token) == []
    assert "discord answered 401" in str(raised.value)


def test_slack_ok_false_quoting_the_request_does_not_show_the_token(tmp_path, monkeypatch):
    from bot.config.schema import parse_config
    from bot.posters.slack import SlackPoster

    token = "xoxb-4242-SlackUnitToken-0123456789"

    def answer(request: Recorded):
        # Slack answers HTTP 200 with ok:false: https://api.slack.com/web#evaluating_responses
        return {"ok": False, "error": f"invalid_auth (you sent {request.headers['Authorization']})"}

    with RefusingServer(200, answer) as server:
        monkeypatch.setenv("SLACK_UNIT_TOKEN", token)
        config = write_config(
            tmp_path / "bot.yaml",
            "  s:\n    type: slack\n    token: {$env: SLACK_UNIT_TOKEN}\n    channel: C0123ABCD\n"
            f"    api_url: {server.url}/api\n",
        )
        poster = SlackPoster("s", parse_config(config).destinations["s"].with_secrets())
        with pytest.raises(PostError) as raised:
            poster.check()
    assert "slack: auth.test refused: invalid_auth" in str(raised.value)
    assert leaks_of(str(raised.value), token) == []


@pytest.mark.parametrize("adapter", ["mastodon", "discourse", "matrix"])
def test_an_adapter_names_the_host_never_the_urls_password(adapter, tmp_path, monkeypatch):
    from bot.config.schema import parse_config
    from bot.posters import poster_class

    password = f"{adapter.capitalize()}HostPassword_0123"
    with RefusingServer(404, lambda request: {"error": "no such thing"}) as server:
        url = f"http://someone:{password}@127.0.0.1:{server.url.rsplit(':', 1)[1]}"
        monkeypatch.setenv("UNIT_TOKEN", "unit-token-0123456789")
        settings = {
            "mastodon": f"    url: {url}\n    access_token: {{$env: UNIT_TOKEN}}\n",
            "discourse": f"    url: {url}\n    api_key: {{$env: UNIT_TOKEN}}\n"
            "    api_username: bot\n    category: 5\n",
            "matrix": f"    homeserver: {url}\n    access_token: {{$env: UNIT_TOKEN}}\n"
            "    room: '!room:example.org'\n",
        }[adapter]
        config = write_config(tmp_path / "bot.yaml", f"  x:\n    type: {adapter}\n" + settings)
        destination = parse_config(config).destinations["x"]
        poster = poster_class(adapter)("x", destination.with_secrets())
        assert password not in poster.host and poster.host.startswith("127.0.0.1:")
        with pytest.raises(PostError) as raised:
            poster.check()
    assert password not in str(raised.value), raised.value


def leaks_of(text: str, value: str) -> list[str]:
    return sorted(form for form in forms(value) if form in text)


def test_a_post_error_is_masked_when_made():
    Secret("PostErrorSecret-0123456789")
    assert str(PostError("platform said PostErrorSecret-0123456789")) == f"platform said {MASK}"


@pytest.mark.processes
def test_console_output_of_a_real_process_is_masked(tmp_path):
    """Whatever writes to the console (here a log line and a click.echo of a secret the
    code would never print on purpose) passes the redactor in ``main``."""
    script = (
        "import sys, logging, click\n"
        "from bot.config import Secret\n"
        "from bot import cli\n"
        "value = Secret('ProcessSecret-0123456789')\n"
        "@cli.cli.command(name='leak')\n"
        "def leak():\n"
        "    click.echo('out ' + value)\n"
        "    click.echo('err ' + value, err=True)\n"
        "    print('print ' + value)\n"
        "    sys.stderr.write('raw ' + value + '\\n')\n"
        "cli.main(['leak'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"out {MASK}\nprint {MASK}\n"
    assert done.stderr == f"err {MASK}\nraw {MASK}\n"


def test_export_through_the_masking_stream_is_byte_for_byte_the_same(cli_run, three_part_store):
    from bot.app import export_events
    from bot.store import Store

    direct = io.StringIO()
    store = Store(three_part_store)
    export_events(store, direct, "yaml")
    store.close()
    code, out, err = cli_run("--db", str(three_part_store), "export", "--format", "yaml")
    assert code == 0, err
    assert out == direct.getvalue() and "Apollo 11" in out
