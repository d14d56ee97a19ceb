"""Alerts through Apprise, to a local receiver of Apprise's ``json://`` service on 127.0.0.1:
one alert per incident across a simulated week of sweeps (time moved by time-machine), a
"recovered" message, an endpoint that cannot be reached never stops posting, and the secrets of
alert URLs are never printed."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
import time_machine

from bot.config import AlertEvent, AlertSettings, AlertUrl, Config, Destination
from bot.drafts import Drafts
from bot.model import Event
from bot.model.dates import AnniversaryDate
from bot.operations.alerts import check_incidents, deliver
from bot.operations.retry import retry
from bot.operations.watch import Watch
from bot.posters.base import Capabilities, Outcome, OutgoingPost, Poster, PostError, Published
from bot.publishing.log import PublishLog
from bot.publishing.scheduler import SWEEP_MINUTES, DailyJob
from bot.store import Store
from tests.conftest import write
from tests.servers import LocalServer, Recorded

UTC = dt.UTC
TOKEN = "s3cr3tAlertPathToken42"  # the secret part of the alert URL


class AlertReceiver:
    """What Apprise's ``json://host:port/path`` sends: a POST of a JSON object with
    ``version``, ``title``, ``message`` and ``type`` (info, success, warning, failure) to
    ``http://host:port/path`` (https://github.com/caronc/apprise/wiki/Notify_Custom_JSON).
    ``down`` answers 503 to that many requests first (a service that is down for a while)."""

    def __init__(self, down: int = 0) -> None:
        self.down = down
        self.messages: list[dict] = []
        self.server = LocalServer(self._handle)

    def _handle(self, request: Recorded):
        if request.method != "POST" or request.path != f"/alerts/{TOKEN}":
            return 404, {}, {"error": "not found"}
        payload = request.json()
        assert {"version", "title", "message", "type"} <= set(payload), payload
        assert payload["type"] in ("info", "success", "warning", "failure"), payload
        if self.down:
            self.down -= 1
            return 503, {}, {"error": "down for maintenance"}
        self.messages.append(payload)
        return 200, {}, {}

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.httpd.server_address[1]}/alerts/{TOKEN}"

    def titles(self) -> list[str]:
        return [m["title"] for m in self.messages]

    def __enter__(self) -> AlertReceiver:
        self.server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)


class Platform:
    """The simulated platform the "sim" adapter posts to, scripted per day: "ok", "refuse"
    (401 until ``fixed``), "unknown" (kept, no answer; cannot be looked up) or "flaky" (500
    twice, then accepted)."""

    def __init__(self, script: dict[dt.date, str], only: str | None = None) -> None:
        self.script = script
        self.only = only  # the destination the script is for (default: every one)
        self.fixed = False
        self.received: dict[str, int] = {}
        self.attempts: dict[dt.date, int] = {}

    def publish(self, post: OutgoingPost) -> Published:
        scripted = self.only is None or post.key.startswith(f"{self.only}/")
        behaviour = self.script.get(post.day, "ok") if scripted else "ok"
        self.attempts[post.day] = self.attempts.get(post.day, 0) + 1
        if behaviour == "refuse" and not self.fixed:
            raise PostError("sim answered 401: bad token (check the token)", retryable=False)
        if behaviour == "flaky" and self.attempts[post.day] <= 2:
            raise PostError("sim answered 500", status=500)
        self.received[post.key] = self.received.get(post.key, 0) + 1
        if behaviour == "unknown" and post.number == 1 and self.received[post.key] == 1:
            raise PostError("sim kept it but did not answer", outcome=Outcome.UNKNOWN)
        return Published(remote_id=post.key)


PLATFORM = Platform({})


class SimPoster(Poster):
    """The "sim" adapter: posts to ``PLATFORM``; it cannot look posts up."""

    name = "sim"
    capabilities = Capabilities()

    def publish(self, post, lead, previous) -> Published:
        return PLATFORM.publish(post)


@pytest.fixture
def sim(monkeypatch):
    import bot.posters

    # this module as pytest imported it: the adapter and the test share its PLATFORM
    monkeypatch.setitem(bot.posters.BUILTIN_POSTERS, "sim", f"{__name__}:SimPoster")
    monkeypatch.setattr(f"{__name__}.PLATFORM", Platform({}))
    return sys.modules[__name__]


def week_store(path) -> Store:
    """Two-post events on March 1 to 9, one a day."""
    events = [
        Event(
            id=f"1990-03-0{n}-e",
            date=AnniversaryDate(3, n, 1990),
            title=f"Event of March {n}",
            lead="something happened.",
            parts=[{"blocks": [{"type": "text", "text": f"Part {p}."}]} for p in (1, 2)],
        )  # fmt: skip
        for n in range(1, 10)
    ]
    store = Store(path)
    store.import_events(events)
    return store


def alert_config(url_variable: str, *destinations: Destination, **alerts) -> Config:
    settings = AlertSettings([AlertUrl({"$env": url_variable})], **alerts)
    return Config(None, None, None, None, {d.name: d for d in destinations}, alerts=settings)


def day(n: int) -> dt.date:
    return dt.date(2027, 3, n)


def at(n: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 3, n, hour, minute, tzinfo=UTC)


def test_a_week_of_sweeps_gives_one_alert_per_incident_and_recovered_messages(
    tmp_path, sim, monkeypatch
):
    """Day 2 refused (401) until a person fixes it and retries; day 3 the bot is down; day 4 a
    post is unconfirmed until a person marks it sent; day 5 fails twice and goes out by itself;
    day 6 is held (an edited draft) until approved; day 7 stays held and its day ends."""
    sim.PLATFORM = Platform({day(2): "refuse", day(4): "unknown", day(5): "flaky"})
    store_path = tmp_path / "week.db"
    store = week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00", timezone="UTC")
    with AlertReceiver() as receiver, time_machine.travel(at(1, 0), tick=False) as traveller:
        monkeypatch.setenv("ALERT_URL", receiver.url)
        config = alert_config("ALERT_URL", forum, held_hours=2)
        job = DailyJob(store_path, config, watch=Watch.of(config))
        drafts = Drafts(store)

        def person(now: dt.datetime) -> None:
            if now == at(2, 12):  # the token is fixed, and a person retries
                sim.PLATFORM.fixed = True
                list(retry(store, config, "forum"))
            if now == at(4, 15):  # a person finds post 1 on the platform
                (row,) = PublishLog(store).rows("forum", day(4), ("unconfirmed",))
                list(retry(store, config, mark_sent=(row["key"],)))
            if now == at(5, 20):  # drafts for days 6 and 7, edited, not approved
                for n in (6, 7):
                    (made,) = drafts.generate(config, forum, day(n), SimPoster)
                    drafts.edit(made.draft.id, 1, f"Edited part 1 of day {n}.")
            if now == at(6, 8):
                (held,) = drafts.for_day("forum", day(6))
                drafts.approve(config, held.id)

        now = at(1, 0)
        sweeps = 0
        while now <= at(8, 10):
            traveller.move_to(now)
            person(now)
            if not (at(3, 0) <= now < at(4, 8)):  # the bot is down (sleeping host) then
                job.sweep()
                sweeps += 1
            now += dt.timedelta(minutes=SWEEP_MINUTES)

    assert sweeps > 1700  # a sweep every five minutes, the hours the bot was down aside
    assert receiver.titles() == [
        "anniversary-bot: failed: forum, 2027-03-02",
        "anniversary-bot: recovered: forum, 2027-03-02",
        "anniversary-bot: missed: forum, 2027-03-03",
        "anniversary-bot: unconfirmed: forum, 2027-03-04",
        "anniversary-bot: recovered: forum, 2027-03-04",
        "anniversary-bot: held: forum, 2027-03-06",
        "anniversary-bot: recovered: forum, 2027-03-06",
        "anniversary-bot: held: forum, 2027-03-07",
    ]
    types = [m["type"] for m in receiver.messages]
    assert types == [
        "failure",
        "success",
        "failure",
        "failure",
        "success",
        "failure",
        "success",
        "failure",
    ]
    failed, recovered, missed, unconfirmed, _, held, _, _ = receiver.messages
    assert failed["message"].splitlines() == [
        "destination: forum",
        "day: 2027-03-02",
        "event: 1990-03-02-e",
        "what: a post failed and has no retry left today",
        "reason: sim answered 401: bad token (check the token)",
        "fix: fix what the reason says, then 'anniversary-bot retry --to forum' "
        "('anniversary-bot history --failed --to forum' lists the posts)",
    ]
    assert "now: 2 of 2 posts sent" in recovered["message"]
    assert "missed: the bot was not running at 09:00" in missed["message"]
    assert "retry --mark-sent forum/1990-03-04-e/2027-03-04/1" in unconfirmed["message"]
    assert "drafts approve" in held["message"] and "event: 1990-03-06-e" in held["message"]
    # what the week left: every post of the days that went out was sent exactly once
    log = PublishLog(store)
    for n in (1, 2, 4, 5, 6, 8):
        assert {r["state"] for r in log.rows("forum", day(n))} == {"sent"}, n
    assert all(count == 1 for count in sim.PLATFORM.received.values())
    assert {r["state"] for r in log.rows("forum", day(3))} == {"missed"}
    assert {r["state"] for r in log.rows("forum", day(7))} == {"missed"}
    # the held day 7 became missed: the same incident, still told once
    (row,) = [r for r in store.open_incidents("forum") if r["day"] == "2027-03-07"]
    assert row["event"] == "missed" and row["alert_to"] == "[]"


def test_a_held_alert_waits_for_held_hours_before_the_time(tmp_path, sim, monkeypatch):
    store = week_store(tmp_path / "s.db")
    forum = Destination("forum", "sim", "text", time="09:00", require_approval=True)
    with AlertReceiver() as receiver:
        monkeypatch.setenv("ALERT_URL", receiver.url)
        config = alert_config("ALERT_URL", forum, held_hours=3)
        targets = Watch.of(config).targets
        for now, expected in ((at(2, 5, 59), 0), (at(2, 6), 1), (at(2, 8), 1)):
            check_incidents(store, config, forum, now)
            deliver(store, targets, now)
            assert len(receiver.messages) == expected, now
    assert "has no draft yet" in receiver.messages[0]["message"]
    assert "drafts generate --to forum" in receiver.messages[0]["message"]


def test_an_alert_endpoint_that_cannot_be_reached_does_not_stop_posting(
    tmp_path, sim, monkeypatch, caplog
):
    sim.PLATFORM = Platform({day(2): "refuse"}, only="forum")
    store_path = tmp_path / "s.db"
    week_store(store_path)
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("ALERT_URL", f"json://127.0.0.1:{port}/alerts/{TOKEN}")
    forum = Destination("forum", "sim", "text", time="09:00")
    other = Destination("other", "sim", "text", time="09:00")
    config = alert_config("ALERT_URL", forum, other)
    job = DailyJob(store_path, config, watch=Watch.of(config))
    with time_machine.travel(at(2, 9, 1), tick=False):
        job.sweep()
    log = PublishLog(Store(store_path))
    # forum's alert could not be delivered; the sweep went on and posted to "other"
    assert {r["state"] for r in log.rows("forum", day(2))} == {"failed", "planned"}
    assert {r["state"] for r in log.rows("other", day(2))} == {"sent"}
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
    assert any("not delivered" in line and "posting goes on" in line for line in ours), ours
    assert not any(TOKEN in line for line in ours)
    (incident,) = Store(store_path).open_incidents("forum")
    assert incident["alert_to"] == "[0]" and incident["next_try_at"] == "2027-03-02T09:02:00+00:00"


def test_an_alert_not_delivered_is_delivered_later_once(tmp_path, sim, monkeypatch):
    sim.PLATFORM = Platform({day(2): "refuse"})
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00")
    with AlertReceiver(down=1) as receiver, time_machine.travel(at(2, 9), tick=False) as t:
        monkeypatch.setenv("ALERT_URL", receiver.url)
        config = alert_config("ALERT_URL", forum)
        job = DailyJob(store_path, config, watch=Watch.of(config))
        for minute in range(0, 60, SWEEP_MINUTES):
            t.move_to(at(2, 9, minute))
            job.sweep()
    assert receiver.titles() == ["anniversary-bot: failed: forum, 2027-03-02"]


def test_alert_events_choose_what_each_url_is_told(tmp_path, sim, monkeypatch):
    sim.PLATFORM = Platform({day(2): "refuse"})
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00")
    with AlertReceiver() as receiver, time_machine.travel(at(2, 10), tick=False):
        monkeypatch.setenv("ALERT_URL", receiver.url)
        settings = AlertSettings([AlertUrl({"$env": "ALERT_URL"}, (AlertEvent.MISSED,))])
        config = Config(None, None, None, None, {"forum": forum}, alerts=settings)
        DailyJob(store_path, config, watch=Watch.of(config)).sweep()
    assert receiver.messages == []
    assert Store(store_path).open_incidents("forum")[0]["event"] == "failed"


def test_an_incident_that_gets_worse_tells_only_the_urls_that_did_not_hear_of_it(
    tmp_path, sim, monkeypatch
):
    """Refused for good on day 2, missed when day 2 ended: the URL for failures hears once, the
    URL for missed days hears of the missed day."""
    sim.PLATFORM = Platform({day(2): "refuse"})
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00")
    with AlertReceiver() as failures, AlertReceiver() as misses:
        monkeypatch.setenv("FAILURES", failures.url)
        monkeypatch.setenv("MISSES", misses.url)
        settings = AlertSettings(
            [
                AlertUrl({"$env": "FAILURES"}, (AlertEvent.FAILED, AlertEvent.MISSED)),
                AlertUrl({"$env": "MISSES"}, (AlertEvent.MISSED,)),
            ]
        )
        config = Config(None, None, None, None, {"forum": forum}, alerts=settings)
        job = DailyJob(store_path, config, watch=Watch.of(config))
        for moment in (at(2, 9), at(2, 10), at(3, 9), at(3, 10)):
            with time_machine.travel(moment, tick=False):
                job.sweep()
    assert failures.titles() == ["anniversary-bot: failed: forum, 2027-03-02"]
    assert misses.titles() == ["anniversary-bot: missed: forum, 2027-03-02"]
    assert "last error: sim answered 401" in misses.messages[0]["message"]


def test_a_restart_after_a_crash_is_told_once(tmp_path, sim, monkeypatch):
    store_path = tmp_path / "s.db"
    store = week_store(store_path)
    with AlertReceiver() as receiver:
        monkeypatch.setenv("ALERT_URL", receiver.url)
        config = alert_config("ALERT_URL", Destination("forum", "sim", "text"))
        watch = Watch.of(config)
        watch.restarted(store, "pid 4242 (anniversary-bot run)", at(2, 3))
        assert deliver(store, watch.targets, at(2, 4)) == 0  # told once: nothing more to send
    assert receiver.titles() == ["anniversary-bot: restarted: 2027-03-02"]
    assert "pid 4242 (anniversary-bot run)" in receiver.messages[0]["message"]


# --- the command line ---------------------------------------------------------------------


def alerts_config(tmp_path, extra: str = "") -> str:
    return str(
        write(
            tmp_path / "bot.yaml",
            "alerts:\n  urls:\n    - url: {$env: ALERT_URL}\n"
            + extra
            + f"destinations:\n  box:\n    type: outbox\n    path: {tmp_path / 'out'}\n",
        )  # fmt: skip
    )


def test_alerts_test_sends_a_test_message(tmp_path, cli_run, monkeypatch):
    with AlertReceiver() as receiver:
        monkeypatch.setenv("ALERT_URL", receiver.url)
        code, out, err = cli_run("--config", alerts_config(tmp_path), "alerts", "test")
    assert code == 0, err
    assert out == "alerts.urls[0] ($env ALERT_URL): sent\n"
    (message,) = receiver.messages
    assert message["title"] == "anniversary-bot: test alert" and message["type"] == "info"
    assert "failed, missed, unconfirmed, held, restarted" in message["message"]


def test_alerts_test_without_alerts_says_what_to_add(tmp_path, cli_run):
    config = write(
        tmp_path / "bot.yaml", f"destinations:\n  box:\n    type: outbox\n    path: {tmp_path}\n"
    )
    code, _, err = cli_run("--config", str(config), "alerts", "test")
    assert code == 2
    assert err == f"Error: {config}: no alerts.urls: add one (see config.example.yaml)\n"


def test_an_alert_url_written_in_the_config_is_refused_without_being_quoted(tmp_path, cli_run):
    config = write(
        tmp_path / "bot.yaml",
        f"alerts:\n  urls:\n    - url: json://127.0.0.1/alerts/{TOKEN}\n"
        f"destinations:\n  box:\n    type: outbox\n    path: {tmp_path}\n",
    )
    code, out, err = cli_run("--config", str(config), "config", "show")
    assert code == 2
    assert err == (
        f"Error: {config}:3: alerts.urls[0].url: is a secret: write {{$env: NAME}} or "
        "{$file: path}, never the value itself\n"
    )


def test_an_unknown_alert_event_is_one_line(tmp_path, cli_run):
    config = alerts_config(tmp_path, "      events: [failed, exploded]\n")
    code, _, err = cli_run("--config", config, "config", "show")
    assert code == 2
    assert err.startswith(f"Error: {config}:4: alerts.urls[0].events[1]: Input should be")


def test_run_needs_the_alert_variable_other_commands_do_not(tmp_path, cli_run, monkeypatch):
    monkeypatch.delenv("ALERT_URL", raising=False)
    config = alerts_config(tmp_path)
    code, out, _ = cli_run("--config", config, "drafts", "list")
    assert code == 0
    code, out, err = cli_run("--config", config, "--db", str(tmp_path / "s.db"), "run", "--once")
    assert code == 2
    assert err == (
        f"Error: {config}: alerts.urls[0].url: environment variable ALERT_URL is not set: "
        "export it first\n"
    )
    assert not (tmp_path / "out").exists(), "nothing may be posted without its alerts"


@pytest.mark.processes
def test_the_secret_of_an_alert_url_is_never_printed(tmp_path):
    """A real process (its output masked as a user sees it), logging everything, to a URL that
    cannot be reached and then to one that can."""
    import os

    config = alerts_config(tmp_path)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    outputs = []
    for url in (f"json://127.0.0.1:{port}/alerts/{TOKEN}", None):
        with AlertReceiver() as receiver:
            env = {**os.environ, "ALERT_URL": url or receiver.url, "ANNIVERSARY_BOT_LOG": "DEBUG"}
            done = subprocess.run(
                [sys.executable, "-m", "bot", "--config", config, "alerts", "test"],
                env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        outputs.append(done)
    unreachable, reached = outputs
    assert unreachable.returncode == 1 and reached.returncode == 0, reached.stderr
    assert "alerts.urls[0] ($env ALERT_URL): FAILED:" in unreachable.stdout
    for done in outputs:
        assert TOKEN not in done.stdout + done.stderr


# --- the heartbeat ------------------------------------------------------------------------

UUID = "5f2c9a4e-1d3b-4c7a-9e8f-0a1b2c3d4e5f"


class PingReceiver:
    """A push monitor. healthchecks.io (https://healthchecks.io/docs/http_api/): HEAD, GET or
    POST ``/<uuid>`` is a success, ``/<uuid>/fail`` a failure, and the body of a POST is kept
    (at most 100 kB) to show beside it. Uptime Kuma (louislam/uptime-kuma,
    server/routers/api-router.js): ``GET /api/push/<token>`` with ``status`` (up or down),
    ``msg`` and ``ping`` in the query. Anything else is a 404."""

    def __init__(self, down: int = 0) -> None:
        self.down = down
        self.pings: list[Recorded] = []
        self.server = LocalServer(self._handle)

    def _handle(self, request: Recorded):
        from urllib.parse import parse_qs, urlsplit

        split = urlsplit(request.path)
        hc = split.path in (f"/ping/{UUID}", f"/ping/{UUID}/fail")
        kuma = split.path == f"/api/push/{UUID}" and request.method == "GET"
        if kuma:
            assert parse_qs(split.query)["status"][0] in ("up", "down"), request.path
        if not (hc and request.method in ("HEAD", "GET", "POST") or kuma):
            return 404, {}, {"error": "not found"}
        assert len(request.body) <= 100_000
        if self.down:
            self.down -= 1
            return 503, {}, {}
        self.pings.append(request)
        return 200, {"Content-Type": "text/plain"}, b"OK"

    @property
    def url(self) -> str:
        return f"{self.server.url}/ping/{UUID}"

    def seen(self) -> list[tuple[str, str]]:
        return [(p.method, p.path) for p in self.pings]

    def __enter__(self) -> PingReceiver:
        self.server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)


def test_run_once_pings_the_heartbeat_once_a_day(tmp_path, cli_run, monkeypatch):
    config = write(
        tmp_path / "bot.yaml",
        "heartbeat: {$env: HEARTBEAT_URL}\n"
        f"destinations:\n  box:\n    type: outbox\n    path: {tmp_path / 'out'}\n",
    )
    db = str(tmp_path / "s.db")
    with PingReceiver() as monitor, time_machine.travel(at(2, 12), tick=False):
        monkeypatch.setenv("HEARTBEAT_URL", monitor.url)
        for _ in range(2):  # the same day's job again: no second ping
            code, _, err = cli_run("--config", str(config), "--db", db, "run", "--once")
            assert code == 0, err
    assert monitor.seen() == [("GET", f"/ping/{UUID}")]


def sweep_day_two(job: DailyJob, minutes: range) -> None:
    with time_machine.travel(at(2, 9), tick=False) as traveller:
        for minute in minutes:
            traveller.move_to(at(2, 9, minute))
            job.sweep()


def test_a_failed_day_pings_fail_once_then_the_good_news(tmp_path, sim, monkeypatch):
    sim.PLATFORM = Platform({day(2): "refuse"})
    store_path = tmp_path / "s.db"
    store = week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00", heartbeat={"$env": "HB"})
    config = Config(None, None, None, None, {"forum": forum})
    with PingReceiver() as monitor:
        monkeypatch.setenv("HB", monitor.url)
        job = DailyJob(store_path, config, watch=Watch.of(config))
        sweep_day_two(job, range(0, 30, SWEEP_MINUTES))
        assert monitor.seen() == [("POST", f"/ping/{UUID}/fail")]
        body = monitor.pings[0].body.decode()
        assert body.startswith("2027-03-02: forum: 1990-03-02-e: 0/2 posts sent; post 1 failed")
        assert "401" in body and len(body) <= 1000
        sim.PLATFORM.fixed = True
        with time_machine.travel(at(2, 10), tick=False):
            list(retry(store, config, "forum"))
        sweep_day_two(job, range(35, 60, SWEEP_MINUTES))
    assert monitor.seen() == [("POST", f"/ping/{UUID}/fail"), ("GET", f"/ping/{UUID}")]


def test_an_uptime_kuma_push_url_gets_status_down(tmp_path, sim, monkeypatch):
    sim.PLATFORM = Platform({day(2): "refuse"})
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00")
    config = Config(None, None, None, None, {"forum": forum}, heartbeat={"$env": "HB"})
    with PingReceiver() as monitor:
        monkeypatch.setenv("HB", f"{monitor.server.url}/api/push/{UUID}?status=up&msg=OK&ping=")
        sweep_day_two(DailyJob(store_path, config, watch=Watch.of(config)), range(0, 10, 5))
    ((method, path),) = monitor.seen()
    assert method == "GET" and path.startswith(f"/api/push/{UUID}?ping=&status=down&msg=2027-03-02")


def test_a_heartbeat_that_cannot_be_sent_is_sent_after_the_next_run(
    tmp_path, sim, monkeypatch, caplog
):
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00")
    config = Config(None, None, None, None, {"forum": forum}, heartbeat={"$env": "HB"})
    with PingReceiver(down=3) as monitor:  # urllib3 tries a GET 3 times: down for one run
        monkeypatch.setenv("HB", monitor.url)
        job = DailyJob(store_path, config, watch=Watch.of(config))
        sweep_day_two(job, range(0, 5, 5))
        assert monitor.seen() == []
        assert {r["state"] for r in PublishLog(Store(store_path)).rows("forum", day(2))} == {"sent"}
        assert "heartbeat not sent (sent again after the next run)" in caplog.text
        sweep_day_two(job, range(5, 30, 5))
    assert monitor.seen() == [("GET", f"/ping/{UUID}")]


def test_a_destinations_own_heartbeat_wins_over_the_global_one(tmp_path, sim, monkeypatch):
    store_path = tmp_path / "s.db"
    week_store(store_path)
    forum = Destination("forum", "sim", "text", time="09:00", heartbeat={"$env": "OWN"})
    other = Destination("other", "sim", "text", time="09:00")
    config = Config(
        None, None, None, None, {"forum": forum, "other": other}, heartbeat={"$env": "ALL"}
    )
    with PingReceiver() as own, PingReceiver() as shared:
        monkeypatch.setenv("OWN", own.url)
        monkeypatch.setenv("ALL", shared.url)
        sweep_day_two(DailyJob(store_path, config, watch=Watch.of(config)), range(0, 10, 5))
    assert len(own.pings) == 1 and len(shared.pings) == 1
    assert own.pings[0].path == shared.pings[0].path == f"/ping/{UUID}"


@pytest.mark.processes
def test_the_daemon_started_after_a_crash_sends_one_alert(tmp_path):
    """A real daemon killed with SIGKILL (the kernel drops its lock, the lock file still names
    it), then started again: one "restarted" alert naming the dead process."""
    import os
    import signal
    import threading
    import time

    config = alerts_config(tmp_path)
    db, lock = tmp_path / "s.db", tmp_path / "s.db.lock"

    def wait_for(predicate) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.1)  # polling a real process, not moving the scheduler's time
        return False

    with AlertReceiver() as receiver:
        env = {**os.environ, "ALERT_URL": receiver.url, "ANNIVERSARY_BOT_SEED": "0"}

        def start() -> subprocess.Popen:
            command = [sys.executable, "-m", "bot", "--config", config, "--db", str(db), "run"]
            return subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        first = start()
        assert wait_for(lambda: lock.exists() and lock.read_text().startswith(f"{first.pid} "))
        first.kill()
        first.communicate(timeout=30)
        second = start()
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(second.stderr), daemon=True)
        reader.start()
        assert wait_for(lambda: receiver.messages), "no alert for the restart"
        # its signal handlers are set once it says when it posts: then SIGTERM stops it cleanly
        assert wait_for(lambda: any("posts daily at" in line for line in lines)), lines
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
        reader.join(timeout=30)
    assert second.returncode == 0, "".join(lines)
    (message,) = receiver.messages
    assert message["title"].startswith("anniversary-bot: restarted: ")
    assert f"the last daemon on this store (pid {first.pid} (" in message["message"]
