"""Exactly once across processes: two commands that publish from one store at the same time
(two `post`, `post` beside `run --once`, two `run --once`, the daemon beside `post`), as real
processes against a local webhook receiver that counts deliveries per post key.

Every event has three posts and there is one for every day of the year, so the trials do not
depend on the real date; a trial that straddles midnight posts two days, each exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import build_year_store, write_config
from tests.servers import WebhookReceiver

pytestmark = pytest.mark.processes

SECRET = "a-shared-secret-of-enough-length"
TRIALS = int(os.environ.get("ANNIVERSARY_BOT_CONCURRENCY_TRIALS", "50"))
PAIRS = {
    "post+post": (("post",), ("post",)),
    "post+run-once": (("post",), ("run", "--once")),
    "run-once+run-once": (("run", "--once"), ("run", "--once")),
    "daemon+post": (("run",), ("post",)),
}


@pytest.fixture(scope="module")
def year_store(tmp_path_factory):
    return build_year_store(tmp_path_factory.mktemp("year") / "store.db", parts=3)


def _start(config, db, args, url, log=None):
    env = {**os.environ, "ANNIVERSARY_BOT_LOG": "INFO", "HOOK_SECRET": SECRET, "HOOK_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *args],
        env=env, stdout=subprocess.PIPE, stderr=log or subprocess.PIPE, text=True,
    )  # fmt: skip


def _swept(daemon_log: str) -> bool:
    """The daemon's start-up sweep has dealt with today: posted it, or found it done."""
    return "posts sent" in daemon_log or ": done" in daemon_log


def _wait(predicate, timeout=60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)  # polling real processes, not moving the scheduler's time
    return False


@pytest.mark.parametrize("pair", list(PAIRS))
def test_two_processes_at_once_post_each_post_exactly_once(tmp_path, year_store, pair):
    first_args, second_args = PAIRS[pair]
    outcomes = []
    with WebhookReceiver(SECRET) as receiver:
        config = write_config(
            tmp_path / "bot.yaml",
            "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n"
            "    secret: {$env: HOOK_SECRET}\n    time: '00:00'\n    timezone: UTC\n"
            "    catch_up_hours: 24\n",
        )
        for trial in range(TRIALS):
            db = tmp_path / f"trial-{trial}.db"
            shutil.copy(year_store, db)
            before = sum(receiver.copies().values())
            daemon = first_args == ("run",)
            log = tmp_path / f"daemon-{trial}.log"
            with open(log, "w") as log_file:
                first = _start(config, db, first_args, receiver.url, log_file if daemon else None)
            second = _start(config, db, second_args, receiver.url)
            if daemon:  # its start-up sweep posts today's thread, or finds it done
                swept = _wait(lambda log=log: _swept(log.read_text()))
                second.wait(timeout=60)
                first.send_signal(signal.SIGTERM)
                assert swept, log.read_text()
            results = [p.communicate(timeout=60) + (p.returncode,) for p in (first, second)]
            if daemon:
                results[0] = (results[0][0], log.read_text(), results[0][2])
            for out, err, code in results:
                assert "unexpected" not in err and "Traceback" not in err, err
                assert code == 0, (pair, trial, out, err)
            outcomes.append(results)
            copies = receiver.copies()
            duplicates = {key: n for key, n in copies.items() if n != 1}
            assert not duplicates, (pair, trial, duplicates, results)
            # no loss: every post of the trial's day (or days, across midnight) arrived
            days = {key.split("/")[2] for key in copies if key.startswith("hook/")}
            for day in days:
                keys = [k for k in copies if k.split("/")[2] == day]
                assert len(keys) % 3 == 0, (pair, trial, sorted(keys))
            assert sum(copies.values()) - before >= 3, (pair, trial, results)
            receiver.accepted.clear()
    assert len(outcomes) == TRIALS
