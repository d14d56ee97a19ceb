"""Quiet, useful logs: ``post`` prints a line per post and per HTTP retry (urllib3's own retry
warnings stay out); the daemon logs a line per job, and the scheduler's and urllib3's internals
only at DEBUG."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest

from bot.config import Config, Destination
from bot.http import CappedRetry
from bot.publishing.scheduler import DailyJob
from bot.secrets_filter import THIRD_PARTY_LOGGERS, configure_logging
from tests.conftest import build_year_store, write_config
from tests.servers import LocalServer

WEBHOOK = """\
  hook:
    type: webhook
    url: {$env: HOOK_URL}
    secret: {$env: HOOK_SECRET}
"""
SECRET = "k3y-for-signing-the-webhook-posts"


@pytest.fixture(autouse=True)
def restore_logging():
    """configure_logging sets the process's loggers: put them back for the next test."""
    names = ["", "bot.progress", "urllib3.connectionpool", *THIRD_PARTY_LOGGERS]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.handlers[:], logger.filters[:], logger.propagate)
    yield
    for name, (level, handlers, filters, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:], logger.filters[:], logger.propagate = handlers, filters, propagate


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without waiting: the backoff is a parameter of the retry policy, set to 0."""
    monkeypatch.setattr(CappedRetry, "get_backoff_time", lambda self: 0.0)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once it is closed


def post(cli_run, tmp_path, monkeypatch, url: str, *extra: str):
    monkeypatch.setenv("HOOK_URL", url)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    config = write_config(tmp_path / "bot.yaml", WEBHOOK)
    store = build_year_store(tmp_path / "year.db", parts=3)
    return cli_run("--config", str(config), "--db", str(store), "post", "--date", "07-20", *extra)


def test_post_shows_each_post_and_each_retry_and_no_urllib3_warning(
    cli_run, tmp_path, monkeypatch, no_backoff
):
    code, out, err = post(cli_run, tmp_path, monkeypatch, f"http://127.0.0.1:{closed_port()}/h")
    assert code == 1
    assert "hook: 1990-07-20-every-day: sending post 1 of 3\n" in err
    for attempt in range(1, 5):  # PlatformHTTP's 4 retries, each said as it starts
        assert f"webhook: connection failed (NewConnectionError): retry {attempt} in 0.0 s" in err
    assert "Retrying (" not in err and "urllib3" not in err
    assert "0/3 posts sent; post 1 failed: webhook: cannot connect" in out


def test_post_shows_a_retry_after_429_then_every_post(cli_run, tmp_path, monkeypatch, no_backoff):
    answers = iter([429])

    def receiver(request):
        # https://www.rfc-editor.org/rfc/rfc6585#section-4: 429 with Retry-After, retried
        status = next(answers, 200)
        return (status, {"Retry-After": "0"} if status == 429 else {}, {})

    with LocalServer(receiver) as server:
        code, out, err = post(cli_run, tmp_path, monkeypatch, server.url + "/hook")
    assert code == 0, err
    lines = err.splitlines()
    assert lines.index("webhook: answered 429: retry 1 in 0.0 s") == (
        lines.index("hook: 1990-07-20-every-day: sending post 1 of 3") + 1
    )
    assert [line for line in lines if "sending post" in line] == [
        f"hook: 1990-07-20-every-day: sending post {n} of 3" for n in (1, 2, 3)
    ]
    assert "3/3 posts sent (3 now)" in out


def test_the_daemon_logs_one_line_per_job_and_no_scheduler_internals(tmp_path, capsys):
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.publishing.scheduler import build_scheduler

    store = build_year_store(tmp_path / "year.db", parts=3)
    outbox = Destination(
        "out", "outbox", "text", settings={"path": str(tmp_path / "outbox"), "format": "text"}
    )
    config = Config(None, store, None, "UTC", {"out": outbox})
    at_nine = dt.datetime(2026, 7, 20, 9, 0, tzinfo=dt.UTC)  # two hours after its 07:00
    job = DailyJob(store, config, clock=lambda: at_nine)
    configure_logging(logging.INFO)
    scheduler = build_scheduler(job, config, scheduler_cls=BackgroundScheduler)
    scheduler.start(paused=True)  # adds its jobs, which apscheduler logs at INFO
    scheduler.shutdown(wait=False)
    job.run_logged("out")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "INFO bot.publishing.scheduler: 2026-07-20: out: 1990-07-20-every-day: 3/3" in lines[0]

    configure_logging(logging.DEBUG)  # everything, for a person debugging
    scheduler = build_scheduler(job, config, scheduler_cls=BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    assert "apscheduler" in capsys.readouterr().err
