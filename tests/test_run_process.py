"""`anniversary-bot run` as a real process: posts when due, stops cleanly on SIGTERM, a
restart does not post again, and a second instance refuses to start."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import THREE_PART_EVENT, build_year_store, write, write_config

pytestmark = pytest.mark.processes


def start(config, db, *extra):
    env = {**os.environ, "ANNIVERSARY_BOT_LOG": "INFO"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "run", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # polling a real process, not moving the scheduler's time
    return False


def stop(process):
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def test_run_posts_when_due_then_a_restart_posts_nothing(tmp_path):
    # one single-post event on every day: the same test whatever the real date (the sample
    # data's events have one post on some days and several on others)
    db = build_year_store(tmp_path / "store.db")
    outbox = tmp_path / "outbox"
    # a real process reads the real clock: its time zone is chosen so that its local time is
    # about noon, so the due time 3 s from now never crosses a midnight, whatever the hour
    now = dt.datetime.now(dt.UTC)
    offset = 12 - now.hour  # -11 to +12 hours: every one has an Etc/GMT zone
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    local = now + dt.timedelta(hours=offset, seconds=3)
    due = local.strftime("%H:%M:%S")
    config = write_config(
        tmp_path / "bot.yaml",
        f"  out:\n    type: outbox\n    path: {outbox}\n    time: '{due}'\n    timezone: {zone}\n",
    )
    process = start(config, db)
    assert wait_for(lambda: len(list(outbox.rglob("*.json"))) >= 1), "nothing was posted"
    # a second run on the same store refuses to start
    second = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "run"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert second.returncode == 1
    assert "Error: another 'anniversary-bot run' (pid" in second.stderr
    code, _, err = stop(process)
    assert code == 0, err
    assert "received SIGTERM" in err and "stopped" in err
    assert "1/1 posts sent (1 now)" in err
    files = {p: p.stat().st_mtime_ns for p in outbox.rglob("*") if p.is_file()}
    assert len([p for p in files if p.suffix == ".txt"]) >= 1

    restarted = start(config, db)
    time.sleep(2)  # a real process: give its start-up sweep time to run, then stop it
    code, _, err = stop(restarted)
    assert code == 0, err
    assert ": done" in err
    assert {p: p.stat().st_mtime_ns for p in outbox.rglob("*") if p.is_file()} == files


# the daemon, told to stop while it hands a job to its worker: the thread pool holds its lock
# there, so the SIGTERM is sent from inside (once the daemon's handler is installed)
STOPPED_WHILE_SUBMITTING = """
import os, signal, sys
from concurrent.futures import ThreadPoolExecutor

adjust = ThreadPoolExecutor._adjust_thread_count
told = []


def adjust_and_be_told_to_stop(self):
    if not told and callable(signal.getsignal(signal.SIGTERM)):
        told.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
    adjust(self)


ThreadPoolExecutor._adjust_thread_count = adjust_and_be_told_to_stop
from bot.cli import main

main(sys.argv[1:])
"""


def test_a_sigterm_while_the_daemon_submits_a_job_stops_it(tmp_path):
    # the handler shut the scheduler down itself, and waited for the thread pool's lock that
    # the interrupted thread (its own) held: the daemon hung instead of stopping
    config = write_config(
        tmp_path / "bot.yaml", f"  out:\n    type: outbox\n    path: {tmp_path / 'out'}\n"
    )
    env = {**os.environ, "ANNIVERSARY_BOT_LOG": "INFO", "ANNIVERSARY_BOT_SEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", STOPPED_WHILE_SUBMITTING, "--config", str(config), "--db",
         str(tmp_path / "store.db"), "run"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "received SIGTERM" in done.stderr and "stopped" in done.stderr


def test_every_command_closes_its_store_before_the_process_ends(tmp_path):
    # bot.cli.main leaves the interpreter's last garbage collection out (start-up speed, issue
    # 20); a store is a reference cycle that only that collection would otherwise close, so
    # main closes every store first: no command leaves the write-ahead log (STORE-wal and
    # STORE-shm) behind, nor the last writes in it alone, whatever the real date
    db = build_year_store(tmp_path / "store.db")
    config = write_config(
        tmp_path / "bot.yaml", f"  out:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n"
    )
    event = write(tmp_path / "events" / "apollo.yaml", THREE_PART_EVENT)
    commands = [["preview", "--date", "01-10"], ["status"], ["import", str(event)],
                ["run", "--once"], ["history"], ["preview", "--date", "07-20", "--all"]]  # fmt: skip
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *command],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
        assert not [p.name for p in tmp_path.glob("store.db-*")], command  # -wal, -shm
    assert "Apollo 11" in done.stdout  # imported


FROZEN_AT_THE_END = """
import gc, sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(gc.get_freeze_count(), file=sys.__stderr__)
"""


def test_a_command_leaves_the_last_garbage_collection_out(tmp_path):
    # issue 20: the interpreter's clean-up traced every object of every module preview
    # imported, to find the few in reference cycles (some 15 ms of 150); main freezes them,
    # once it has closed the stores, and the process frees them when it ends
    db = build_year_store(tmp_path / "store.db")
    env = {key: value for key, value in os.environ.items() if key != "ANNIVERSARY_BOT_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_AT_THE_END, "--db", str(db), "preview", "--date", "01-10"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "The event of January 10" in done.stdout
    assert int(done.stderr.strip().splitlines()[-1]) > 10_000  # the imports' objects, frozen
