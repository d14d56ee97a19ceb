"""The daily job: every destination posts the day's threads at its local time, once.

APScheduler 3 runs one daily job per destination plus a sweep every few minutes. Both call
``DailyJob.run_destination``, which is idempotent (the publish log), so the sweep is what makes
the bot robust: it catches up after a restart or a sleeping machine (within ``catch_up_hours``;
beyond that the day is recorded as missed, never posted late on the wrong day), and it retries
failed posts on their schedule until the end of their local day.

The daily trigger is ours, not ``CronTrigger``: in APScheduler 3.11 a CronTrigger for a time
in the repeated hour of a fall-back day returns the same fire time again and again (fold=1),
which makes the scheduler's catch-up loop never end. ``DailyTrigger`` fires once per local day:
a time that does not exist (spring forward) fires at the same offset after the gap, a time
that happens twice fires at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from bot.clock import zone
from bot.errors import BotError
from bot.posters.base import OutgoingPost, PostError
from bot.publish import (
    MISSED,
    SENDING,
    Clock,
    PublishLog,
    ThreadResult,
    day_threads,
    make_poster,
    outgoing_posts,
    publish_day,
    utc_now,
)
from bot.store import Store

log = logging.getLogger("bot.scheduler")
OPEN_STATES = ("planned", "sending", "failed", "unconfirmed")
SWEEP_MINUTES = 5


def scheduled_at(day: dt.date, hhmm: str, tz: dt.tzinfo) -> dt.datetime:
    """The instant (UTC) of ``hhmm`` local time on ``day``, DST-safe (see module docstring)."""
    local_time = dt.time(*map(int, hhmm.split(":")))
    local = dt.datetime.combine(day, local_time, tzinfo=tz)  # fold=0: the first occurrence
    return local.astimezone(dt.UTC)


class DailyTrigger(BaseTrigger):
    def __init__(self, hhmm: str, tz: dt.tzinfo) -> None:
        self.hhmm = hhmm
        self.tz = tz

    def get_next_fire_time(self, previous_fire_time, now):
        after = (
            previous_fire_time
            if previous_fire_time is not None
            else now - dt.timedelta(microseconds=1)
        )
        day = after.astimezone(self.tz).date() - dt.timedelta(days=1)
        for offset in range(4):
            candidate = scheduled_at(day + dt.timedelta(days=offset), self.hhmm, self.tz)
            if candidate > after:
                return candidate
        raise AssertionError("unreachable: a day has a fire time")

    def __str__(self) -> str:
        return f"daily at {self.hhmm} {self.tz}"

    def __repr__(self) -> str:
        return f"<DailyTrigger {self.hhmm} {self.tz}>"


class DailyJob:
    """What the scheduler runs. Opens the store per run: jobs run in a worker thread, and a
    fresh connection per run is also what a restarted process would have."""

    def __init__(
        self, store_path: str | Path, config, clock: Clock = utc_now, poster_factory=make_poster
    ) -> None:
        self.store_path = store_path
        self.config = config
        self.clock = clock
        self.poster_factory = poster_factory
        self._local = threading.local()

    def timezone(self, destination) -> dt.tzinfo:
        return zone(destination.timezone or self.config.timezone)

    def local_day(self, destination, now: dt.datetime | None = None) -> dt.date:
        return (now or self.clock()).astimezone(self.timezone(destination)).date()

    def run_destination(
        self, name: str, now: dt.datetime | None = None, *, force: bool = False
    ) -> str:
        """Post today's threads for ``name`` if their time has come; say what happened."""
        destination = self.config.destination(name)
        now = now or self.clock()
        tz = self.timezone(destination)
        day = now.astimezone(tz).date()
        due = scheduled_at(day, destination.time, tz)
        if now < due and not force:
            return f"{name}: {day}: not due until {due.astimezone(tz):%H:%M %Z}"
        store = self.store()
        publish_log = PublishLog(store, self.clock)
        self._close_past_days(store, destination, day)
        begun = bool(publish_log.planned_event_ids(name, day))
        held, approved_late = _review(store, destination, day, due)
        if begun and not force and not held and not publish_log.rows(name, day, OPEN_STATES):
            return f"{name}: {day}: done"
        late = now - due
        too_late = late > dt.timedelta(hours=destination.catch_up_hours)
        if not begun and not force and not (held or approved_late) and too_late:
            return self._record_missed(store, destination, day, late)
        results = publish_day(
            store, self.config, destination, day, clock=self.clock,
            poster=self.poster_factory(destination), retry_now=force,
        )  # fmt: skip
        return _summary(name, day, results)

    def store(self) -> Store:
        # a connection per thread: APScheduler runs jobs in a worker thread
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.store_path)
        return store

    def _close_past_days(self, store: Store, destination, day: dt.date) -> None:
        """Settle the days before ``day`` (up to a week back) so none stays open forever.

        A day a sleeping machine or a stopped bot passed over entirely is recorded as missed,
        once the bot has posted to this destination before (a new install has missed nothing).
        A post still planned or failing when its day ended is recorded as missed: it is never
        sent late on the wrong day. A post left "sending" by a crash is reconciled first.
        """
        week_ago = (day - dt.timedelta(days=7)).isoformat()
        publish_log = PublishLog(store, self.clock)
        open_rows = store.db.query(
            "select * from publish_log where destination = ? and day >= ? and day < ? and "
            "state in ('planned', 'failed', 'sending') order by day, event_id, number",
            [destination.name, week_ago, day.isoformat()],
        )
        poster = None
        for row in list(open_rows):
            if row["state"] == SENDING:
                poster = poster or self.poster_factory(destination)
                if not poster.can_find:
                    publish_log.mark_unconfirmed(
                        row["key"], "interrupted while sending; its day is over"
                    )
                    continue
                try:
                    found = poster.find(_post_from_row(row, destination.format), None)
                except PostError as error:
                    publish_log.mark_unconfirmed(
                        row["key"], f"its day is over; lookup failed: {error}"
                    )
                    continue
                if found is not None:
                    publish_log.mark_sent(row["key"], found)
                    continue
            reason = "missed: its day ended before it could be sent"
            if row["last_error"]:
                reason += f" (last error: {row['last_error']})"
            publish_log.mark_missed(row["key"], reason)
        if poster is not None:
            poster.close()
        last = store.conn.execute(
            "select max(day) from publish_log where destination = ? and day < ?",
            [destination.name, day.isoformat()],
        ).fetchone()[0]
        if last is None:
            return
        gap_day = max(
            dt.date.fromisoformat(last) + dt.timedelta(days=1), day - dt.timedelta(days=7)
        )
        while gap_day < day:
            due = scheduled_at(gap_day, destination.time, self.timezone(destination))
            self._record_missed(store, destination, gap_day, self.clock() - due)
            gap_day += dt.timedelta(days=1)

    def _record_missed(self, store: Store, destination, day: dt.date, late: dt.timedelta) -> str:
        poster = self.poster_factory(destination)
        poster.close()
        threads = day_threads(store, self.config, destination, day, poster)
        if not threads:
            return f"{destination.name}: {day}: no events; nothing posted"
        publish_log = PublishLog(store, self.clock)
        hours = late.total_seconds() / 3600
        reason = (
            f"missed: the bot was not running at {destination.time} and {hours:.1f} h later is "
            f"past catch_up_hours ({destination.catch_up_hours:g})"
        )
        for thread in threads:
            posts = outgoing_posts(thread, destination.name)
            publish_log.plan(posts, destination.name)
            for post in posts:
                publish_log.mark_missed(post.key, reason)
        return f"{destination.name}: {day}: {len(threads)} thread(s) {reason}"

    def sweep(self) -> None:
        for name in self.config.destinations:
            self.run_logged(name)

    def run_logged(self, name: str) -> None:
        try:
            message = self.run_destination(name)
        except BotError as error:
            log.error("%s: %s", name, error)
            return
        except Exception:  # the daemon must outlive one bad run; the next sweep tries again
            log.exception("%s: the job failed", name)
            return
        if "not due" in message:
            log.debug("%s", message)
        else:
            log.info("%s", message)


def _review(store: Store, destination, day: dt.date, due: dt.datetime) -> tuple[bool, bool]:
    """What the day's drafts (bot/drafts.py) say: (held: a draft waits for a person: stale,
    edited, or unapproved where the destination requires approval; approved late: one was
    approved after the day's time). Such a day is neither done nor missed: what was held goes
    out once approved, that same day."""
    held, approved_late = store.conn.execute(
        "select coalesce(max(state = 'stale' or (state = 'draft' and (? or overrides != '{}'))), 0),"
        " coalesce(max(state = 'approved' and approved_at > ?), 0) "
        "from drafts where destination = ? and day = ?",
        [int(destination.require_approval), due.isoformat(), destination.name, day.isoformat()],
    ).fetchone()
    return bool(held), bool(approved_late)


def _post_from_row(row: dict[str, Any], fmt: str) -> OutgoingPost:
    return OutgoingPost(
        key=row["key"], thread_key=row["key"].rsplit("/", 1)[0], number=row["number"],
        body=row["body"] or "", format=fmt, event_id=row["event_id"],
        day=dt.date.fromisoformat(row["day"]), title=row["title"],
    )  # fmt: skip


def _summary(name: str, day: dt.date, results: list[ThreadResult]) -> str:
    if not results:
        return f"{name}: {day}: no events; nothing posted"
    return "; ".join(f"{day}: {r.summary()}" for r in results)


class InstanceLock:
    """One ``run`` per store: an exclusive lock the kernel drops when the process dies."""

    def __init__(self, store_path: str | Path) -> None:
        self.path = Path(f"{store_path}.lock")
        self.handle = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open: the lock lives with it
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise BotError(
                f"another 'anniversary-bot run' (pid {holder}) is using {self.path.with_suffix('')}: "
                "stop it first, or give this one another --db"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def build_scheduler(
    job: DailyJob,
    config,
    *,
    sweep_minutes: float = SWEEP_MINUTES,
    scheduler_cls=None,
    **kwargs: Any,
):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler_cls = scheduler_cls or BlockingScheduler
    # one worker: the daily job and the sweep never publish the same post at once
    worker = ThreadPoolExecutor(max_workers=1)
    scheduler = scheduler_cls(
        timezone=dt.UTC,
        executors={"default": worker},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        **kwargs,
    )
    for destination in config.destinations.values():
        scheduler.add_job(
            job.run_logged,
            DailyTrigger(destination.time, job.timezone(destination)),
            args=[destination.name],
            id=f"daily:{destination.name}",
            name=f"daily post to {destination.name}",
            # APScheduler 3's default grace of 1 s drops a job that starts a little late
            misfire_grace_time=max(60, int(destination.catch_up_hours * 3600)),
        )
    scheduler.add_job(
        job.sweep,
        IntervalTrigger(minutes=sweep_minutes, timezone=dt.UTC),
        id="sweep",
        name="catch up and retry",
        next_run_time=job.clock(),  # at start: catch up what a restart or outage left
    )
    scheduler.worker = worker
    return scheduler


def run_forever(store_path: str | Path, config, clock: Clock = utc_now) -> None:
    lock = InstanceLock(store_path)
    lock.acquire()
    job = DailyJob(store_path, config, clock)
    scheduler = build_scheduler(job, config)

    def stop(signum, frame) -> None:
        log.info(
            "received %s: finishing the post in flight, then stopping", signal.Signals(signum).name
        )
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for destination in config.destinations.values():
        log.info(
            "%s: posts daily at %s %s (%s)", destination.name, destination.time,
            destination.timezone or config.timezone or "UTC", destination.type,
        )  # fmt: skip
    try:
        scheduler.start()
    finally:
        # shutdown(wait=False) returns at once; the worker finishes its post before exit
        scheduler.worker.shutdown(wait=True)
        lock.release()
        log.info("stopped")


def next_runs(config, now: dt.datetime) -> dict[str, dt.datetime]:
    runs = {}
    for destination in config.destinations.values():
        tz = zone(destination.timezone or config.timezone)
        runs[destination.name] = (
            DailyTrigger(destination.time, tz).get_next_fire_time(None, now).astimezone(tz)
        )
    return runs


__all__ = [
    "DailyJob",
    "DailyTrigger",
    "InstanceLock",
    "MISSED",
    "build_scheduler",
    "next_runs",
    "run_forever",
    "scheduled_at",
]
