"""The publish log read for people: what a post would send (a dry run), what went out
(history), and what comes next (status).

The commands print what these functions return; the states are ``bot.publishing.log.PostState``.
Reading the log needs only its read side (``bot.publishing.log_reading``): ``status`` and
``history`` import no adapter, template or scheduler; a dry run imports the day's machinery
when it runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from bot.clock import next_daily_run, zone
from bot.daemon_state import DaemonState, daemon_state, last_sweep
from bot.drafts import attention, held_back
from bot.publishing.log_reading import PostState, PublishLogReader
from bot.wording import plural

if TYPE_CHECKING:
    from bot.drafts import HeldThread
    from bot.store import Store
    from bot.threads.render import Thread

# the rows a person should look at: not sent, and not going out by themselves as planned
NEEDS_A_LOOK = (PostState.FAILED, PostState.UNCONFIRMED, PostState.SENDING, PostState.HELD)
# what makes `status` exit 1 when its day is recent: a post that did not go out, or may not have
PROBLEMS = (PostState.FAILED, PostState.MISSED, PostState.UNCONFIRMED)
STATUS_DAYS = 7  # how far back `status` looks for them, by default

HISTORY_FIELDS = (
    "key", "destination", "event_id", "day", "number", "state", "attempts", "sent_at",
    "remote_id", "url", "last_error", "next_retry_at",
)  # fmt: skip


# --- post --dry-run ---------------------------------------------------------------------------


@dataclass
class DryRun:
    """What ``destination`` would send on ``day``, touching nothing."""

    destination: str
    day: dt.date
    threads: list[Thread]
    already_sent: dict[str, list[int]]  # event id -> the numbers of its posts sent before
    held: list[HeldThread]

    def summary(self) -> str:
        """One line: what ``post`` would send to the destination that day, and what not."""
        sent_before = sum(len(numbers) for numbers in self.already_sent.values())
        posts = sum(len(thread.posts) for thread in self.threads) - sent_before
        what = [f"would send {plural(posts, 'post')}"]
        if self.threads:
            what[0] += f" ({plural(len(self.threads), 'thread')})"
        if sent_before:
            what.append(f"{plural(sent_before, 'post')} already sent")
        if self.held:
            what.append(f"{plural(len(self.held), 'thread')} held back (above)")
        return f"{self.destination}: {self.day}: dry run: {', '.join(what)}; nothing sent"


def dry_run(store: Store, config: Any, destination: Any, day: dt.date) -> DryRun:
    from bot.config.channel import Channel
    from bot.publishing.daily import day_plan

    plan = day_plan(store, Channel.of(config, destination), day)
    threads = plan.threads
    log = PublishLogReader(store)
    already_sent = {}
    for thread in threads:
        rows = log.rows(destination.name, day, (PostState.SENT,), thread.event_id)
        if rows:
            already_sent[thread.event_id] = sorted({row["number"] for row in rows})
    return DryRun(destination.name, day, list(threads), already_sent, list(plan.held))


# --- history --------------------------------------------------------------------------------


@dataclass
class History:
    rows: list[dict[str, Any]]  # publish-log rows, oldest day first
    held: list[str] = field(default_factory=list)  # threads of days reached, held by a draft

    def to_json(self) -> list[dict[str, Any]]:
        return [{name: row[name] for name in HISTORY_FIELDS} for row in self.rows]


def history(
    store: Store,
    destination: str | None = None,
    day: dt.date | None = None,
    needs_a_look: bool = False,
    config: Any = None,
    today: dt.date | None = None,
) -> History:
    """The publish log's rows (of one destination, one day, only those that need a person),
    and, given ``config`` and ``today`` and unless ``needs_a_look``, the threads that drafts
    held back."""
    rows = list(history_rows(store, destination, day, needs_a_look))
    held = []
    if config is not None and today is not None and not needs_a_look:
        held = held_back(store, config, today, day, destination)
    return History(rows, held)


def history_rows(
    store: Store,
    destination: str | None = None,
    day: dt.date | None = None,
    needs_a_look: bool = False,
) -> Iterator[dict[str, Any]]:
    """The rows ``history`` shows (``HISTORY_FIELDS``), read one at a time as they are used:
    years of log are 100,000 rows and more."""
    states = NEEDS_A_LOOK if needs_a_look else None
    return PublishLogReader(store).iter_rows(destination, day, states, HISTORY_FIELDS)


def write_history_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """``rows`` as the JSON list ``history --json`` prints, written as they are read; how many."""
    from bot.app import write_json_list

    return write_json_list(rows, out)


def check_logged_destination(store: Store, config: Any, name: str) -> None:
    """``history --to NAME``, ``retry --to NAME``: a destination of the config, or one the publish log still has
    posts of (removed from the config since); else the config's one line for an unknown
    destination, as every command that names one says it."""
    if name not in config.destinations and PublishLogReader(store).last_day(name)[0] is None:
        config.destination(name)


HISTORY_COLUMNS = ("DAY", "DESTINATION", "EVENT", "POST", "STATE", "DETAILS")


def history_cells(row: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """One publish-log row as ``history`` prints it, in ``HISTORY_COLUMNS``."""
    head = (row["day"], row["destination"], row["event_id"], str(row["number"]), row["state"])
    if row["state"] == PostState.SENT:
        return (*head, f"{row['sent_at']}  {row['url'] or row['remote_id']}")
    details = f"attempts={row['attempts']}"
    if row["state"] == PostState.FAILED:
        retry_when = row["next_retry_at"]
        details += f"  next retry {retry_when}" if retry_when else "  waits for 'retry'"
    if row["last_error"]:
        details += f"  {row['last_error']}"
    return (*head, details)


# --- status ---------------------------------------------------------------------------------


@dataclass
class DestinationStatus:
    name: str
    next_run: dt.datetime
    last_day: str | None  # the last day the publish log has for it
    sent: int  # posts of that day sent
    planned: int  # posts of that day in the log
    needs_a_look: list[dict[str, Any]]  # rows of any day a person should look at
    type: str = ""
    # failed, missed or unconfirmed rows of the days `status` looks back on: the exit code's
    problems: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [f"{self.name}: next run {self.next_run:%Y-%m-%d %H:%M %Z}"]
        if self.last_day is None:
            lines.append("  nothing posted yet")
        else:
            lines.append(f"  last day {self.last_day}: {self.sent}/{self.planned} posts sent")
        for row in self.needs_a_look:
            lines.append(f"  {row['state']}: {row['key']}: {row['last_error'] or ''}".rstrip())
        for row in self.problems:
            if row["state"] == PostState.MISSED:  # the others are among needs_a_look
                lines.append(f"  missed: {row['key']}: {row['last_error'] or ''}".rstrip())
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "next_run": self.next_run.isoformat(),
            "last_day": self.last_day,
            "last_day_sent": self.sent,
            "last_day_posts": self.planned,
            "problems": [_problem(row) for row in self.problems],
            "needs_a_look": [_problem(row) for row in self.needs_a_look],
        }


def _problem(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in ("key", "day", "event_id", "number", "state",
                                         "last_error", "next_retry_at")}  # fmt: skip


@dataclass
class Status:
    destinations: list[DestinationStatus]
    drafts_waiting: list[str]  # drafts and days that wait for a person to approve
    daemon: DaemonState = field(default_factory=lambda: DaemonState(running=False))
    last_sweep: dt.datetime | None = None
    since: dt.date | None = None  # the first day whose problems count
    days: int = STATUS_DAYS

    @property
    def ok(self) -> bool:
        """Nothing failed, was missed or is unconfirmed in the days looked back on."""
        return not any(destination.problems for destination in self.destinations)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def daemon_lines(self) -> list[str]:
        if self.daemon.running:
            who = f"pid {self.daemon.pid}" if self.daemon.pid else "pid unknown"
            since = f" since {self.daemon.since:%Y-%m-%d %H:%M %Z}" if self.daemon.since else ""
            line = f"daemon: running ({who}){since}"
        else:
            line = "daemon: not running"
        swept = f"{self.last_sweep:%Y-%m-%d %H:%M %Z}" if self.last_sweep else "never"
        return [line, f"  last sweep: {swept}"]

    def summary(self) -> str:
        count = sum(len(destination.problems) for destination in self.destinations)
        if not count:
            return f"all good: nothing failed, missed or unconfirmed since {self.since}"
        return (
            f"{count} post{'s' if count > 1 else ''} failed, missed or unconfirmed since "
            f"{self.since}: see 'anniversary-bot history --failed'"
        )

    def to_json(self) -> dict[str, Any]:
        daemon = self.daemon
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "days": self.days,
            "problems_since": self.since.isoformat() if self.since else None,
            "daemon": {
                "running": daemon.running,
                "pid": daemon.pid,
                "since": daemon.since.isoformat() if daemon.since else None,
                "last_sweep": self.last_sweep.isoformat() if self.last_sweep else None,
            },
            "destinations": [destination.to_json() for destination in self.destinations],
            "drafts_waiting": self.drafts_waiting,
        }


def status(
    store: Store, config: Any, now: dt.datetime, today: dt.date, days: int = STATUS_DAYS
) -> Status:
    """Per destination its next run, its last day's result and its posts that need a look;
    the posts that failed, were missed or are unconfirmed in the last ``days`` days (today
    included); the daemon (running, since when, its last sweep); and the drafts that wait for
    a person from ``today`` on."""
    log = PublishLogReader(store)
    since = today - dt.timedelta(days=days - 1)
    found = []
    for name, destination in config.destinations.items():
        tz = zone(destination.timezone or config.timezone)
        when = next_daily_run(destination.time, tz, now).astimezone(tz)
        last_day, sent, planned = log.last_day(name)
        problems = log.rows(name, None, PROBLEMS, since=since)
        found.append(
            DestinationStatus(
                name,
                when,
                last_day,
                sent,
                planned,
                log.rows(name, None, NEEDS_A_LOOK),
                destination.type,
                problems,
            )  # fmt: skip
        )
    daemon, swept = DaemonState(running=False), None
    if str(store.path) != ":memory:":
        daemon, swept = daemon_state(store.path), last_sweep(store.path)
    return Status(found, attention(store, config, today), daemon, swept, since, days)
