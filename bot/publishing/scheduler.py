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
import logging
import signal
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.triggers.base import BaseTrigger

from bot.clock import next_daily_run, scheduled_at, zone
from bot.config.channel import Channel
from bot.daemon_state import record_sweep
from bot.errors import BotError, EventRenderError
from bot.locks import FileLock, holder, lock_path, publishing_lock
from bot.posters.base import OutgoingPost, PostError
from bot.publishing.daily import day_plan, publish_day
from bot.publishing.log import (
    FAILED,
    MISSED,
    OPEN_STATES,
    PLANNED,
    SENDING,
    Clock,
    PublishLog,
    ThreadResult,
    make_poster,
    outgoing_posts,
    utc_now,
)
from bot.store import Store

if TYPE_CHECKING:
    from bot.config import Destination

log = logging.getLogger("bot.publishing.scheduler")
SWEEP_MINUTES = 5


class RunWatch(Protocol):
    """Told after each run of a destination's job, and when the daemon starts after a crash:
    alerts and the heartbeat (``bot.operations.watch``, which the ``run`` command gives). It
    never raises: whatever it fails to do, posting goes on."""

    def after_run(
        self, store: Store, destination: Destination, run: DestinationRun, now: dt.datetime
    ) -> None: ...

    def restarted(self, store: Store, left_by: str, now: dt.datetime) -> None: ...


class NoWatch:
    """No alerts and no heartbeat."""

    def after_run(
        self, store: Store, destination: Destination, run: DestinationRun, now: dt.datetime
    ) -> None:
        return None

    def restarted(self, store: Store, left_by: str, now: dt.datetime) -> None:
        return None


class DailyTrigger(BaseTrigger):
    def __init__(self, hhmm: str, tz: dt.tzinfo) -> None:
        self.hhmm = hhmm
        self.tz = tz

    def get_next_fire_time(self, previous_fire_time, now):
        return next_daily_run(self.hhmm, self.tz, now, previous_fire_time)

    def __str__(self) -> str:
        return f"daily at {self.hhmm} {self.tz}"

    def __repr__(self) -> str:
        return f"<DailyTrigger {self.hhmm} {self.tz}>"


class DailyJob:
    """What the scheduler runs. Opens the store per run: jobs run in a worker thread, and a
    fresh connection per run is also what a restarted process would have."""

    def __init__(
        self,
        store_path: str | Path,
        config,
        clock: Clock = utc_now,
        poster_factory=make_poster,
        *,
        lock_wait: float = 600.0,
        on_wait=None,
        watch: RunWatch | None = None,
    ) -> None:
        self.store_path = store_path
        self.config = config
        self.clock = clock
        self.poster_factory = poster_factory
        self._local = threading.local()
        self.lock_wait = lock_wait
        self.on_wait = on_wait
        self.watch: RunWatch = watch or NoWatch()

    def timezone(self, destination) -> dt.tzinfo:
        return zone(destination.timezone or self.config.timezone)

    def local_day(self, destination, now: dt.datetime | None = None) -> dt.date:
        return (now or self.clock()).astimezone(self.timezone(destination)).date()

    def run_destination(
        self, name: str, now: dt.datetime | None = None, *, force: bool = False
    ) -> DestinationRun:
        """Post today's threads for ``name`` if their time has come; say what happened (and
        tell the watch: alerts, the heartbeat). Everything from reading the log to the last
        post holds the store's publishing lock: a manual ``post`` beside the daemon waits for
        it instead of sending beside it; the watch is told after it is released."""
        now = now or self.clock()
        run = self._run_destination(name, now, force)
        self.watch.after_run(self.store(), self.config.destination(name), run, now)
        return run

    def _run_destination(self, name: str, now: dt.datetime, force: bool) -> DestinationRun:
        destination = self.config.destination(name)
        tz = self.timezone(destination)
        day = now.astimezone(tz).date()
        due = scheduled_at(day, destination.time, tz)
        if now < due and not force:
            return DestinationRun(
                name, day, RunOutcome.NOT_DUE, note=f"not due until {due.astimezone(tz):%H:%M %Z}"
            )
        store = self.store()
        with publishing_lock(store.path).hold(self.lock_wait, self.on_wait):
            return self._run_locked(store, destination, day, due, now, force)

    def _run_locked(
        self, store: Store, destination, day: dt.date, due: dt.datetime, now: dt.datetime,
        force: bool,
    ) -> DestinationRun:  # fmt: skip
        name = destination.name
        publish_log = PublishLog(store, self.clock)
        self._close_past_days(store, destination, day)
        self._close_held_days(store, destination, day)
        begun = bool(publish_log.planned_event_ids(name, day))
        held, approved_late = _review(store, destination, day, due)
        if begun and not force and not held and not publish_log.rows(name, day, OPEN_STATES):
            return DestinationRun(name, day, RunOutcome.DONE)
        late = now - due
        too_late = late > dt.timedelta(hours=destination.catch_up_hours)
        if not begun and not force and too_late:
            if not (held or approved_late):
                return self._record_missed(store, destination, day, late)
            # threads that wait for a person (or were approved after the time) may still go
            # out today; the day's other threads could have gone out on time: missed
            self._miss_all_but_late_approvals(store, destination, day, due, late)
        channel = Channel(self.config, destination, self.poster_factory(destination))
        results = publish_day(store, channel, day, clock=self.clock, retry_now=force)
        if not results:
            return DestinationRun(name, day, RunOutcome.NOTHING)
        return DestinationRun(name, day, RunOutcome.PUBLISHED, results)

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
        week_ago = day - dt.timedelta(days=7)
        publish_log = PublishLog(store, self.clock)
        open_rows = store.open_posts(destination.name, week_ago, day, (PLANNED, FAILED, SENDING))
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
        last = store.last_logged_day(destination.name, day)
        if last is None:
            return
        gap_day = max(last + dt.timedelta(days=1), day - dt.timedelta(days=7))
        while gap_day < day:
            due = scheduled_at(gap_day, destination.time, self.timezone(destination))
            self._record_missed(store, destination, gap_day, self.clock() - due)
            gap_day += dt.timedelta(days=1)

    def _record_missed(
        self, store: Store, destination, day: dt.date, late: dt.timedelta
    ) -> DestinationRun:
        reason = _late_reason(destination, late)
        count = self._mark_day_missed(store, destination, day, reason)
        if not count:
            return DestinationRun(destination.name, day, RunOutcome.NOTHING)
        return DestinationRun(destination.name, day, RunOutcome.MISSED, note=reason)

    def _miss_all_but_late_approvals(
        self, store: Store, destination, day: dt.date, due: dt.datetime, late: dt.timedelta
    ) -> None:

        poster = self.poster_factory(destination)
        poster.close()
        plan = day_plan(store, Channel(self.config, destination, poster), day, failures=[])
        publish_log = PublishLog(store, self.clock)
        reason = _late_reason(destination, late)
        for thread in plan.threads:
            draft = plan.drafts.get(thread.event_id)
            if draft is not None and draft.approved_after(due):
                continue
            posts = outgoing_posts(thread, destination.name)
            publish_log.plan(posts, destination.name)
            for post in posts:
                publish_log.mark_missed(post.key, reason)

    def _mark_day_missed(self, store: Store, destination, day: dt.date, reason: str) -> int:
        """Record every thread the day would have had as missed, held ones too (a thread that
        waited for a person is missed when its day ends); returns how many."""
        poster = self.poster_factory(destination)
        poster.close()
        publish_log = PublishLog(store, self.clock)
        failures: list[EventRenderError] = []
        plan = day_plan(store, Channel(self.config, destination, poster), day, failures=failures)
        threads = plan.threads
        for error in failures:
            row = publish_log.record_render_failure(
                destination.name, error.event_id, day, str(error)
            )
            publish_log.mark_missed(row["key"], f"{reason} (and it {row['last_error']})")
        # a thread held for a person is missed because it was held, whether or not the bot ran
        held = [
            (h.thread, _ended_while_held(h.reason))
            for h in plan.held
            if h.kind != "skipped" and h.thread
        ]
        for thread, why in [*((t, reason) for t in threads), *held]:
            posts = outgoing_posts(thread, destination.name)
            publish_log.plan(posts, destination.name)
            for post in posts:
                publish_log.mark_missed(post.key, why)
        return len(failures) + len(threads) + len(held)

    def _close_held_days(self, store: Store, destination, day: dt.date) -> None:
        """A thread held for a person on a day now over is recorded as missed, with why."""
        from bot.drafts import Drafts

        publish_log = PublishLog(store, self.clock)
        since = day - dt.timedelta(days=7)
        for draft in Drafts(store).list(destination.name, since=since):
            if draft.day >= day:
                continue
            hold = draft.hold(destination.require_approval)
            if hold is None or hold.kind == "skipped":
                continue
            if publish_log.rows(destination.name, draft.day, event_id=draft.event_id):
                continue
            posts = outgoing_posts(draft.thread(), destination.name)
            publish_log.plan(posts, destination.name)
            for post in posts:
                publish_log.mark_missed(post.key, _ended_while_held(hold.reason))

    def sweep(self) -> None:
        for name in self.config.destinations:
            self.run_logged(name)
        try:  # what `status` shows a monitor; a sweep that cannot say so still swept
            record_sweep(self.store_path, self.clock())
        except OSError as error:
            log.warning("cannot record the sweep beside the store: %s", error.strerror)

    def run_logged(self, name: str) -> DestinationRun | None:
        try:
            outcome = self.run_destination(name)
        except BotError as error:
            log.error("%s: %s", name, error)
            return None
        except Exception:  # the daemon must outlive one bad run; the next sweep tries again
            log.exception("%s: the job failed", name)
            return None
        if outcome.outcome == RunOutcome.NOT_DUE:
            log.debug("%s", outcome.message)
        elif outcome.failed:
            log.warning("%s", outcome.message)
        else:
            log.info("%s", outcome.message)
        return outcome


class RunOutcome(StrEnum):
    NOT_DUE = "not-due"
    DONE = "done"  # everything of the day went out earlier
    NOTHING = "nothing"  # no events for the day
    MISSED = "missed"  # recorded missed: too late to post
    PUBLISHED = "published"  # threads were sent, or tried (see the results)


@dataclass
class DestinationRun:
    """What one run of a destination's daily job did."""

    destination: str
    day: dt.date
    outcome: RunOutcome
    results: list[ThreadResult] = field(default_factory=list)
    note: str = ""

    @property
    def failed(self) -> bool:
        """Nothing, or not everything, went out because something went wrong."""
        return self.outcome == RunOutcome.MISSED or any(
            getattr(r, "failed", False) for r in self.results
        )

    @property
    def message(self) -> str:
        head = f"{self.destination}: {self.day}"
        if self.outcome == RunOutcome.NOT_DUE:
            return f"{head}: {self.note}"
        if self.outcome == RunOutcome.DONE:
            return f"{head}: done"
        if self.outcome == RunOutcome.NOTHING:
            return f"{head}: no events; nothing posted"
        if self.outcome == RunOutcome.MISSED:
            return f"{head}: {self.note}"
        return "; ".join(f"{self.day}: {r.summary()}" for r in self.results)

    def __str__(self) -> str:
        return self.message


def _ended_while_held(why: str) -> str:
    return f"its day ended while held: {why}"


def _late_reason(destination, late: dt.timedelta) -> str:
    hours = late.total_seconds() / 3600
    return (
        f"missed: the bot was not running at {destination.time} and {hours:.1f} h later is "
        f"past catch_up_hours ({destination.catch_up_hours:g})"
    )


def _review(store: Store, destination, day: dt.date, due: dt.datetime) -> tuple[bool, bool]:
    """What the day's drafts say (the rule is ``Draft.hold``, bot/drafts.py): (held: a draft
    waits for a person; approved late: one was approved after the day's time). Such a day is
    neither done nor missed until its day ends: what was held goes out once approved."""
    from bot.drafts import Drafts

    held = approved_late = False
    for draft in Drafts(store).for_day(destination.name, day):
        hold = draft.hold(destination.require_approval)
        if hold is not None and hold.kind != "skipped":
            held = True
        if draft.approved_after(due):
            approved_late = True
    return held, approved_late


def _post_from_row(row: dict[str, Any], fmt: str) -> OutgoingPost:
    return OutgoingPost(
        key=row["key"], thread_key=row["key"].rsplit("/", 1)[0], number=row["number"],
        body=row["body"] or "", format=fmt, event_id=row["event_id"],
        day=dt.date.fromisoformat(row["day"]), title=row["title"],
    )  # fmt: skip


class InstanceLock(FileLock):
    """One ``run`` per store: an exclusive lock the kernel drops when the process dies."""

    def __init__(self, store_path: str | Path) -> None:
        super().__init__(lock_path(store_path))

    def acquire(self, wait: float = 0.0, on_wait=None) -> bool:
        if super().acquire(wait, on_wait):
            return True
        who = (holder(self.path) or "pid unknown").split(" (")[0]
        raise BotError(
            f"another 'anniversary-bot run' ({who}) is using {self.path.with_suffix('')}: "
            "stop it first, or give this one another --db"
        )


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


def run_forever(
    store_path: str | Path, config, clock: Clock = utc_now, watch: RunWatch | None = None
) -> None:
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    lock = InstanceLock(store_path)
    left_by = holder(lock.path)  # a holder named, yet the lock is free: it died holding it
    lock.acquire()
    job = DailyJob(store_path, config, clock, watch=watch)
    if left_by:
        job.watch.restarted(job.store(), left_by, clock())
    scheduler = build_scheduler(job, config)
    # the handler only says so: it interrupts the main thread wherever it is, maybe inside the
    # thread pool while it holds the pool's lock (handing a job to the worker), and shutting
    # the scheduler down there would wait for that lock forever; a thread of its own does it
    told_to_stop, started = threading.Event(), threading.Event()
    scheduler.add_listener(lambda event: started.set(), EVENT_SCHEDULER_STARTED)

    def stop(signum, frame) -> None:
        if told_to_stop.is_set():
            return
        log.info(
            "received %s: finishing the post in flight, then stopping", signal.Signals(signum).name
        )
        told_to_stop.set()

    def shut_down_when_told() -> None:
        told_to_stop.wait()
        started.wait()  # told before it started: it stops as soon as it has
        scheduler.shutdown(wait=False)

    threading.Thread(target=shut_down_when_told, name="stop", daemon=True).start()
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


__all__ = [
    "DailyJob",
    "DailyTrigger",
    "InstanceLock",
    "MISSED",
    "build_scheduler",
    "run_forever",
    "scheduled_at",
]
