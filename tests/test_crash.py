"""Crash tests: the real process is killed with SIGKILL at each step of publishing, then run
again; every part ends up on the destination exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import write_config
from tests.servers import WebhookReceiver

pytestmark = pytest.mark.processes

SECRET = "crash-test-shared-secret-0123456789"
STEPS = [
    "before-request:/1",
    "after-response:/1",
    "between-parts:/2",
    "before-request:/2",
    "after-response:/2",
    "between-parts:/3",
    "after-response:/3",
]


def run(config, db, *args, crash_at=None, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "ANNIVERSARY_BOT_CRASH_AT"}
    env.update(env_extra or {})
    if crash_at:
        env["ANNIVERSARY_BOT_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def receiver():
    with WebhookReceiver(SECRET) as server:
        yield server


def webhook_config(tmp_path, receiver, lookup=True):
    lookup_line = f"    lookup_url: {receiver.lookup_url}\n" if lookup else ""
    return write_config(
        tmp_path / "bot.yaml",
        "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n    secret: {$env: HOOK_SECRET}\n"
        + lookup_line,
    ), {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET}


@pytest.mark.parametrize("step", STEPS)
def test_webhook_with_lookup_survives_sigkill(tmp_path, receiver, three_part_store, step):
    config, env = webhook_config(tmp_path, receiver)
    crashed = run(
        config, three_part_store, "post", "--date", "2026-07-20", crash_at=step, env_extra=env
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    again = run(config, three_part_store, "post", "--date", "2026-07-20", env_extra=env)
    assert again.returncode == 0, again.stderr
    assert "3/3 posts sent" in again.stdout
    copies = receiver.copies()
    assert sorted(key[-1] for key in copies) == ["1", "2", "3"]
    assert set(copies.values()) == {1}
    # replies still hang off the lead that exists
    posts = {p[0]["number"]: p[0] for p in receiver.accepted.values()}
    lead_id = "msg-" + posts[1]["key"]
    assert posts[2]["lead"] == lead_id and posts[3]["lead"] == lead_id


@pytest.mark.parametrize("step", STEPS)
def test_outbox_survives_sigkill(tmp_path, three_part_store, step):
    outbox = tmp_path / "outbox"
    config = write_config(tmp_path / "bot.yaml", f"  out:\n    type: outbox\n    path: {outbox}\n")
    crashed = run(config, three_part_store, "post", "--date", "2026-07-20", crash_at=step)
    assert crashed.returncode == -signal.SIGKILL
    again = run(config, three_part_store, "post", "--date", "2026-07-20")
    assert again.returncode == 0, again.stderr
    folder = outbox / "2026-07-20"
    names = sorted(p.name for p in folder.iterdir())
    stem = "1969-07-20-apollo-11-lands-on-the-moon"
    assert names == [f"{stem}-0{n}.{ext}" for n in (1, 2, 3) for ext in ("json", "txt")]
    for n in (1, 2, 3):
        assert json.loads((folder / f"{stem}-0{n}.json").read_text())["number"] == n


def test_without_lookup_an_interrupted_post_is_unconfirmed_not_resent(
    tmp_path, receiver, three_part_store
):
    config, env = webhook_config(tmp_path, receiver, lookup=False)
    crashed = run(
        config,
        three_part_store,
        "post",
        "--date",
        "2026-07-20",
        crash_at="after-response:/2",
        env_extra=env,
    )
    assert crashed.returncode == -signal.SIGKILL
    again = run(config, three_part_store, "post", "--date", "2026-07-20", env_extra=env)
    assert again.returncode == 1
    assert "post 2 unconfirmed: interrupted while sending" in again.stdout
    assert sorted(k[-1] for k in receiver.copies()) == ["1", "2"]  # 2 was not sent again
    history = run(config, three_part_store, "history", "--failed", env_extra=env)
    assert ["2", "unconfirmed"] in [line.split()[3:5] for line in history.stdout.splitlines()]
    key = "hook/1969-07-20-apollo-11-lands-on-the-moon/2026-07-20/2"
    # the user looked, the post is there: record it (that post only), and the thread goes on
    marked = run(config, three_part_store, "retry", "--mark-sent", key, env_extra=env)
    assert marked.returncode == 0, marked.stderr
    assert marked.stdout == f"marked sent: {key}\n"
    assert len(receiver.copies()) == 2
    resumed = run(config, three_part_store, "post", "--date", "2026-07-20", env_extra=env)
    assert resumed.returncode == 0, resumed.stderr
    assert set(receiver.copies().values()) == {1} and len(receiver.copies()) == 3
