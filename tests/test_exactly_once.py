"""Exactly once when answers never come, and nothing lost silently: a receiver that keeps a
post but answers late, drops the connection, answers 504 or answers a page that is not its own;
each followed by `retry`, `post`, `run --once` and a daemon sweep. Then the days that used to
vanish: a stale draft past catch-up, a day recorded missed, a day that cannot be rendered, a
day held for a person until it ended."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from bot.config.loading import load_config
from bot.drafts import Drafts
from bot.publishing.log import PublishLog
from bot.publishing.scheduler import DailyJob, RunOutcome
from bot.store import Store
from tests.conftest import write, write_config
from tests.servers import LocalServer, Recorded, WebhookReceiver

SECRET = "a-shared-secret-of-enough-length"
DAY = dt.date(2026, 7, 20)
AT = lambda hour, minute=0: dt.datetime(2026, 7, 20, hour, minute, tzinfo=dt.UTC)  # noqa: E731


class MisbehavingReceiver(WebhookReceiver):
    """A webhook receiver that keeps the first post it is sent, then answers it badly:

    - ``late``: answers after the client's read timeout (the post was kept);
    - ``drop``: closes the connection after reading the body, answering nothing;
    - ``504``: a gateway's 504 after the receiver kept the post;
    - ``garbage``: 200 with a proxy's HTML page instead of the receiver's answer.

    Later posts are answered normally; ``lookup_url`` answers as the receiver would."""

    def __init__(self, mode: str) -> None:
        super().__init__(SECRET)
        self.mode = mode
        self.misbehaved = False
        self.released = threading.Event()
        keep = self._handle
        server = self

        def handle(request: Recorded):
            answer = keep(request)
            if request.method == "POST" and not server.misbehaved:
                server.misbehaved = True
                return server._misbehave(answer)
            return answer

        self.server = LocalServer(handle)
        self.server.misbehave_drop = False

    def _misbehave(self, answer):
        if self.mode == "late":
            # the answer comes after the client gave up (its timeout is 0.2 s)
            self.released.wait(0.8)
            return answer
        if self.mode == "drop":
            return "drop"
        if self.mode == "504":
            return 504, {"Content-Type": "text/html"}, b"<html>504 Gateway Time-out</html>"
        return 200, {"Content-Type": "text/html"}, b"<html><body>Welcome!</body></html>"


def _config(tmp_path, receiver, lookup: bool):
    lines = (
        "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n    secret: {$env: HOOK_SECRET}\n"
        "    time: '07:00'\n    timezone: UTC\n    catch_up_hours: 6\n    timeout: 0.2\n"
    )
    if lookup:
        lines += f"    lookup_url: {receiver.lookup_url}\n"
    return write_config(tmp_path / "bot.yaml", lines)


@pytest.mark.parametrize("lookup", [True, False], ids=["lookup", "no-lookup"])
@pytest.mark.parametrize("mode", ["late", "drop", "504", "garbage"])
def test_an_answer_that_never_came_is_never_resent_blind(
    tmp_path, three_part_store, cli_run, monkeypatch, mode, lookup
):
    receiver = MisbehavingReceiver(mode)
    with receiver:
        monkeypatch.setenv("HOOK_URL", receiver.url)
        monkeypatch.setenv("HOOK_SECRET", SECRET)
        config_path = _config(tmp_path, receiver, lookup)
        base = ("--config", str(config_path), "--db", str(three_part_store))
        code, out, err = cli_run(*base, "post", "--date", "2026-07-20")
        receiver.released.set()
        assert code == 1, (out, err)
        assert "unexpected" not in err
        first_key = "hook/1969-07-20-apollo-11-lands-on-the-moon/2026-07-20/1"
        assert receiver.copies() == {first_key: 1}
        # everything a person or a timer would run next
        cli_run(*base, "retry")
        cli_run(*base, "post", "--date", "2026-07-20")
        cli_run(*base, "run", "--once")
        job = DailyJob(three_part_store, load_config(config_path), lambda: AT(9))
        job.run_destination("hook", AT(9))
        everything = receiver.copies()
    assert all(n == 1 for n in everything.values()), everything  # not one duplicate
    # `run --once` posts the real today's thread when the real today is a July 20: not this day's
    copies = {key: n for key, n in everything.items() if f"/{DAY.isoformat()}/" in key}
    rows = {r["number"]: r for r in PublishLog(Store(three_part_store)).rows("hook", DAY)}
    if lookup:  # looked up, found, and the thread went on: every post exactly once
        assert {n: r["state"] for n, r in rows.items()} == {1: "sent", 2: "sent", 3: "sent"}
        assert len(copies) == 3
    else:  # nobody can tell: a person decides; nothing after it is sent
        assert rows[1]["state"] == "unconfirmed", rows[1]
        assert "retry --mark-sent" in rows[1]["last_error"]
        assert copies == {first_key: 1}


def test_an_untouched_stale_draft_past_catch_up_is_recorded_missed(tmp_path, three_part_store):
    """The same day without a draft is recorded missed; a draft nobody touched must not change
    that (it used to hold the day, which was then posted hours late)."""
    outbox = tmp_path / "outbox"
    config_path = write_config(
        tmp_path / "bot.yaml",
        f"  out:\n    type: outbox\n    path: {outbox}\n    time: '07:00'\n    timezone: UTC\n"
        "    catch_up_hours: 2\n",
    )
    config = load_config(config_path)
    store = Store(three_part_store)
    Drafts(store).generate(config, config.destination("out"), DAY)
    with store.db.atomic():
        store.conn.execute("update events set lead = 'Changed after the draft was made.'")
    assert [d.state for d in Drafts(store).list()] == ["stale"]  # a curator listed the drafts

    run = DailyJob(three_part_store, config).run_destination("out", AT(12))

    assert run.outcome == RunOutcome.MISSED and run.failed, run.message
    assert not outbox.exists()
    states = {r["state"] for r in PublishLog(store).rows("out", DAY)}
    assert states == {"missed"}


def test_post_after_a_recorded_miss_says_why_and_fails(tmp_path, three_part_store, cli_run):
    outbox = tmp_path / "outbox"
    config_path = write_config(
        tmp_path / "bot.yaml",
        f"  out:\n    type: outbox\n    path: {outbox}\n    time: '07:00'\n    timezone: UTC\n",
    )
    DailyJob(three_part_store, load_config(config_path)).run_destination("out", AT(20))
    code, out, err = cli_run(
        "--config", str(config_path), "--db", str(three_part_store), "post", "--date", "2026-07-20"
    )
    assert code == 1
    assert "0/3 posts sent; post 1 missed: missed: the bot was not running at 07:00" in out
    assert "not fully sent" in err
    assert not outbox.exists()


MENTIONING_EVENT = """\
members:
  - id: jane
    name: Jane Doe
    handles: {discourse: jane}
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
    parts:
      - blocks:
          - type: text
            text: Part one.
          - type: mentions
            members: [jane]
"""


def test_a_day_that_cannot_be_rendered_is_recorded_failed_with_its_event_and_file(
    tmp_path, cli_run
):
    from bot.app import import_paths

    db = tmp_path / "store.db"
    events_file = write(tmp_path / "events" / "apollo.yaml", MENTIONING_EVENT)
    store = Store(db)
    import_paths(store, [events_file])
    # the member the event names goes (as a store edited by an older version could have it)
    with store.db.atomic():
        store.conn.execute("delete from members where id = 'jane'")
    outbox = tmp_path / "outbox"
    config_path = write_config(
        tmp_path / "bot.yaml",
        f"  out:\n    type: outbox\n    path: {outbox}\n    time: '07:00'\n    timezone: UTC\n",
    )
    base = ("--config", str(config_path), "--db", str(db))

    code, out, err = cli_run(*base, "post", "--date", "2026-07-20")

    assert code == 1
    event_id = "1969-07-20-apollo-11-lands-on-the-moon"
    assert f"event {event_id} (from {events_file})" in out and "unknown member" in out
    code, out, _ = cli_run(*base, "history", "--failed")
    assert [event_id, "1", "failed"] in [line.split()[2:5] for line in out.splitlines()]
    assert str(events_file) in out
    code, out, _ = cli_run(*base, "status")
    assert f"failed: out/{event_id}/2026-07-20/1" in out and str(events_file) in out
    # the curator puts the member back: the next run posts the day
    store.save_members([{"id": "jane", "name": "Jane Doe", "handles": {"discourse": "jane"}}])
    code, out, err = cli_run(*base, "retry")
    assert code == 0, (out, err)
    assert "1/1 posts sent (1 now)" in out


def test_a_day_held_for_approval_is_recorded_missed_when_it_ends(tmp_path, three_part_store):
    outbox = tmp_path / "outbox"
    config_path = write_config(
        tmp_path / "bot.yaml",
        f"  out:\n    type: outbox\n    path: {outbox}\n    time: '07:00'\n    timezone: UTC\n"
        "    require_approval: true\n",
    )
    config = load_config(config_path)
    store = Store(three_part_store)
    Drafts(store).generate(config, config.destination("out"), DAY)
    job = DailyJob(three_part_store, config)
    assert "waits for approval" in job.run_destination("out", AT(8)).message
    # nobody approved it; the next day's first run closes the day with the reason
    job.run_destination("out", AT(8) + dt.timedelta(days=1))
    rows = PublishLog(store).rows("out", DAY)
    assert len(rows) == 3 and {r["state"] for r in rows} == {"missed"}
    assert "its day ended while held: waits for approval (draft 1)" in rows[0]["last_error"]
    assert not (outbox / "2026-07-20").exists()


@pytest.mark.processes
def test_a_second_process_gives_up_on_the_publishing_lock_saying_who_holds_it(
    tmp_path, three_part_store
):
    """The wait is bounded: a process that cannot get the lock in time says who holds it and
    sends nothing (the lock's clock is a parameter here, not slept through)."""
    import subprocess
    import sys

    from bot.locks import PublishingLock, StoreBusy

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from bot.locks import PublishingLock; "
         f"lock = PublishingLock({str(three_part_store)!r}).hold(0); print('held', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "held\n"
        clock = iter(range(0, 10_000, 100))
        waiting = PublishingLock(
            three_part_store, monotonic=lambda: next(clock), pause=lambda seconds: None
        )
        told = []
        with pytest.raises(StoreBusy, match=rf"pid {holder.pid} .*is still publishing"):
            waiting.hold(wait=300, on_wait=told.append)
        assert told and told[0].startswith(f"pid {holder.pid}")
    finally:
        holder.communicate("")
    assert PublishingLock(three_part_store).hold(wait=0) is not None
