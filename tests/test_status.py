"""``status`` for a monitor: ``--json`` (the schema the README documents), exit codes (0 all
good, 1 a post failed, was missed or is unconfirmed in the last --days days, 2 the bot cannot
run), whether the daemon runs (the instance lock's holder and since when) and its last sweep."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
import time_machine

from bot.publishing.log import PublishLog
from bot.store import Store
from tests.conftest import write_config

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
DESTINATIONS = "  archive:\n    type: outbox\n    path: outbox\n    time: '07:00'\n"


@pytest.fixture
def setup(tmp_path, cli_run):
    config = write_config(tmp_path / "bot.yaml", DESTINATIONS, "timezone: UTC\n")
    db = tmp_path / "store.db"
    Store(str(db)).close()

    def run(*args: str):
        with time_machine.travel(NOW, tick=False):
            return cli_run("--config", str(config), "--db", str(db), "status", *args)

    return db, run


def failed_on(db, day: dt.date, state: str = "failed") -> str:
    """A row of ``day`` for the destination in ``state``."""
    store = Store(str(db))
    log = PublishLog(store, lambda: NOW)
    row = log.record_render_failure("archive", "2000-01-01-an-event", day, "it names a gone member")
    if state == "missed":
        log.mark_missed(row["key"], "its day ended")
    elif state == "unconfirmed":
        log.mark_unconfirmed(row["key"], "no answer")
    store.close()
    return row["key"]


def test_all_good_is_exit_0_and_the_json_says_so(setup):
    db, run = setup
    code, out, err = run("--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["ok"] is True and found["exit_code"] == 0
    assert found["days"] == 7 and found["problems_since"] == "2026-03-04"
    assert found["daemon"] == {"running": False, "pid": None, "since": None, "last_sweep": None}
    (archive,) = found["destinations"]
    assert archive["name"] == "archive" and archive["type"] == "outbox"
    assert archive["next_run"] == "2026-03-11T07:00:00+00:00"
    assert archive["problems"] == [] and archive["last_day"] is None
    code, out, err = run()
    assert code == 0 and "all good" in err and "daemon: not running" in out


@pytest.mark.parametrize("state", ["failed", "missed", "unconfirmed"])
def test_a_recent_problem_is_exit_1_with_its_post_named(setup, state):
    db, run = setup
    key = failed_on(db, TODAY - dt.timedelta(days=2), state)
    code, out, err = run("--json")
    assert code == 1
    found = json.loads(out)
    assert found["ok"] is False and found["exit_code"] == 1
    (problem,) = found["destinations"][0]["problems"]
    assert problem["key"] == key and problem["state"] == state
    assert problem["day"] == "2026-03-08" and problem["last_error"]
    code, out, err = run()
    assert code == 1 and key in out and "history --failed" in err


def test_a_problem_older_than_the_days_looked_at_does_not_count(setup):
    db, run = setup
    failed_on(db, TODAY - dt.timedelta(days=7))  # eight days ago, today included
    code, out, _ = run("--json")
    assert code == 0 and json.loads(out)["destinations"][0]["problems"] == []
    code, out, _ = run("--json", "--days", "8")
    assert code == 1 and len(json.loads(out)["destinations"][0]["problems"]) == 1


def test_a_bad_config_or_store_is_exit_2(tmp_path, cli_run):
    bad = write_config(tmp_path / "bad.yaml", "  x:\n    type: no-such-adapter\n")
    code, out, err = cli_run("--config", str(bad), "status", "--json")
    assert code == 2
    assert json.loads(out)["exit_code"] == 2 and "no-such-adapter" in json.loads(out)["error"]
    assert len(err.strip().splitlines()) == 1
    not_a_store = tmp_path / "notes.db"
    not_a_store.write_text("these are notes, not a store\n" * 100)
    good = write_config(tmp_path / "good.yaml", DESTINATIONS)
    code, out, err = cli_run("--config", str(good), "--db", str(not_a_store), "status")
    assert code == 2 and err.startswith("Error: ") and len(err.strip().splitlines()) == 1


def test_the_running_daemon_its_pid_since_and_last_sweep(setup, tmp_path):
    from bot.config.schema import parse_config
    from bot.publishing.scheduler import DailyJob, InstanceLock

    db, run = setup
    lock = InstanceLock(db)
    assert lock.acquire()
    started = (NOW - dt.timedelta(hours=3)).timestamp()
    os.utime(lock.path, (started, started))  # the kernel's clock wrote it: as if 3 hours ago
    try:
        swept = NOW - dt.timedelta(minutes=4)
        config = parse_config(tmp_path / "bot.yaml")
        DailyJob(db, config, clock=lambda: swept).sweep()
        code, out, err = run("--json")
        assert code == 0, err
        daemon = json.loads(out)["daemon"]
        assert daemon["running"] is True and daemon["pid"] == os.getpid()
        assert daemon["since"] == "2026-03-10T09:00:00+00:00"
        assert daemon["last_sweep"] == "2026-03-10T11:56:00+00:00"
        code, out, _ = run()
        assert f"daemon: running (pid {os.getpid()}) since 2026-03-10 09:00" in out
    finally:
        lock.release()
    code, out, _ = run("--json")
    assert json.loads(out)["daemon"]["running"] is False
    assert json.loads(out)["daemon"]["last_sweep"] == "2026-03-10T11:56:00+00:00"


def test_log_lines_as_json_objects_with_secrets_masked(monkeypatch, capsys):
    import logging

    from bot.secrets_filter import MASK, Secret, configure_logging

    monkeypatch.setenv("ANNIVERSARY_BOT_LOG_FORMAT", "json")
    Secret("JsonLogSecret-0123456789")
    configure_logging(logging.INFO)
    try:
        logging.getLogger("bot.test").warning("sent with %s", "JsonLogSecret-0123456789")
        try:
            raise ValueError("JsonLogSecret-0123456789 in a traceback")
        except ValueError:
            logging.getLogger("bot.test").exception("the job failed")
    finally:
        logging.getLogger().handlers.clear()
    lines = capsys.readouterr().err.strip().splitlines()
    first, second = (json.loads(line) for line in lines[-2:])
    assert first["level"] == "WARNING" and first["logger"] == "bot.test"
    assert first["message"] == f"sent with {MASK}" and first["time"].endswith("+00:00")
    assert "JsonLogSecret" not in second["exception"] and "ValueError" in second["exception"]


def _steps_of_status(tmp_path, sent_rows: int) -> int:
    """SQLite's virtual-machine steps (in tens) ``status`` and ``history --failed --to outbox``
    take on a store whose log has ``sent_rows`` sent posts over the years and one failed post."""
    from bot.config import default_config
    from bot.operations.publish_report import history_rows, status
    from bot.store.rows import PlannedRow

    store = Store(str(tmp_path / f"log-{sent_rows}.db"))
    first = dt.date(2000, 1, 1)
    rows = [
        PlannedRow(f"outbox/old-{n}/{first + dt.timedelta(days=n // 3)}/{n % 3 + 1}",
                   f"old-{n // 3}", first + dt.timedelta(days=n // 3), n % 3 + 1, None, "x" * 200)
        for n in range(sent_rows)
    ]  # fmt: skip
    for start in range(0, len(rows), 1000):
        store.plan_posts("outbox", rows[start : start + 1000], "sent", "2000-01-01T09:00:00")
    failed = failed_on_destination(store, "outbox", TODAY - dt.timedelta(days=1))
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.db.conn.set_progress_handler(count, 10)
    found = status(store, default_config(), NOW, TODAY)
    needs_a_look = list(history_rows(store, "outbox", needs_a_look=True))
    store.db.conn.set_progress_handler(None, 0)
    assert [row["key"] for row in needs_a_look] == [failed]
    (outbox,) = found.destinations
    assert [row["key"] for row in outbox.problems] == [failed]
    assert [row["key"] for row in outbox.needs_a_look] == [failed]
    assert outbox.last_day == str(TODAY - dt.timedelta(days=1))
    store.close()
    return steps


def failed_on_destination(store: Store, destination: str, day: dt.date) -> str:
    log = PublishLog(store, lambda: NOW)
    return log.record_render_failure(destination, "2026-03-09-an-event", day, "gone")["key"]


def test_status_reads_as_much_with_years_of_log_as_with_weeks(tmp_path):
    # years of sent posts must not be read to find the one that needs a person: status and
    # history --failed count and look up through the log's indexes, so ten times the log costs
    # them about the same (a scan of the destination's rows grew with the log: issue 20)
    weeks, years = _steps_of_status(tmp_path, 2_000), _steps_of_status(tmp_path, 20_000)
    assert years < 2 * max(weeks, 1), (weeks, years)
