"""Publishing exactly once: the publish log and the loop that sends a thread through it.

For each (destination, event, day, post) there is one row in ``publish_log``. It moves
planned -> sending -> sent, or -> failed (with a next retry), and is written *before* the
request goes out. A row found in "sending" was interrupted mid-request: it is reconciled first,
by the adapter's ``find`` where the platform can tell, or marked "unconfirmed" for a person to
look at (``history --failed``, then ``retry``), never re-sent blindly. A thread that broke after
its lead resumes at the first missing reply, replying to the lead that exists.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.faults import checkpoint
from bot.posters.base import OutgoingPost, Poster, PostError, Published
from bot.render import Thread
from bot.store import Store

log = logging.getLogger("bot.publish")

SENT, SENDING, PLANNED, FAILED, UNCONFIRMED, MISSED = (
    "sent", "sending", "planned", "failed", "unconfirmed", "missed",
)  # fmt: skip
RETRY_DELAYS = (60, 120, 300, 600, 1800, 3600)  # seconds after the 1st, 2nd, ... failure

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def post_key(destination: str, event_id: str, day: dt.date, number: int) -> str:
    return f"{destination}/{event_id}/{day.isoformat()}/{number}"


@dataclass
class PostResult:
    key: str
    number: int
    state: str
    remote_id: str | None = None
    url: str | None = None
    error: str | None = None


@dataclass
class ThreadResult:
    destination: str
    event_id: str
    day: dt.date
    posts: list[PostResult] = field(default_factory=list)
    sent_now: int = 0

    @property
    def state(self) -> str:
        states = {p.state for p in self.posts}
        for state in (UNCONFIRMED, FAILED, SENDING, PLANNED):
            if state in states:
                return state
        return SENT if states == {SENT} else (MISSED if MISSED in states else "mixed")

    def summary(self) -> str:
        done = sum(1 for p in self.posts if p.state == SENT)
        text = f"{self.destination}: {self.event_id}: {done}/{len(self.posts)} posts sent"
        if self.sent_now == 0 and done == len(self.posts):
            text += " (already sent earlier)"
        elif self.sent_now:
            text += f" ({self.sent_now} now)"
        errors = [p for p in self.posts if p.state in (FAILED, UNCONFIRMED)]
        if errors:
            text += f"; post {errors[0].number} {errors[0].state}: {errors[0].error}"
        elif self.sent_now and self.posts and self.posts[0].url:
            text += f"; see {self.posts[0].url}"
        return text


class PublishLog:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="seconds")

    def rows(
        self,
        destination: str | None = None,
        day: dt.date | None = None,
        states: tuple[str, ...] | None = None,
        event_id: str | None = None,
    ) -> list[dict[str, Any]]:
        where, params = [], []
        for column, value in (("destination", destination), ("event_id", event_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if day is not None:
            where.append("day = ?")
            params.append(day.isoformat())
        if states:
            where.append(f"state in ({', '.join('?' * len(states))})")
            params += list(states)
        sql = "select * from publish_log"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by day, destination, created_at, event_id, number"
        return list(self.store.db.query(sql, params))

    def planned_event_ids(self, destination: str, day: dt.date) -> list[str]:
        rows = self.store.conn.execute(
            "select event_id from publish_log where destination = ? and day = ? "
            "group by event_id order by min(created_at), min(rowid)",
            [destination, day.isoformat()],
        )
        return [row[0] for row in rows]

    def plan(self, posts: list[OutgoingPost], destination: str) -> dict[str, dict[str, Any]]:
        """Write a "planned" row for every post not in the log yet; keep rows that are."""
        if not posts:
            return {}
        now = self._now()
        with self.store.db.atomic():
            for post in posts:
                self.store.conn.execute(
                    "insert into publish_log (key, destination, event_id, day, number, part, "
                    "state, title, body, attempts, created_at, updated_at) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) on conflict(key) do update set "
                    "title = excluded.title, body = excluded.body "
                    "where publish_log.state in ('planned', 'failed')",
                    [post.key, destination, post.event_id, post.day.isoformat(), post.number,
                     post.number, PLANNED, post.title, post.body, now, now],
                )  # fmt: skip
        keys = [post.key for post in posts]
        rows = self.store.db.query(
            f"select * from publish_log where key in ({', '.join('?' * len(keys))})", keys
        )
        return {row["key"]: row for row in rows}

    def _update(self, key: str, **values: Any) -> None:
        values["updated_at"] = self._now()
        assignments = ", ".join(f"{column} = ?" for column in values)
        with self.store.db.atomic():
            self.store.conn.execute(
                f"update publish_log set {assignments} where key = ?", [*values.values(), key]
            )

    def mark_sending(self, key: str) -> None:
        with self.store.db.atomic():
            self.store.conn.execute(
                "update publish_log set state = ?, attempts = attempts + 1, updated_at = ? "
                "where key = ?",
                [SENDING, self._now(), key],
            )

    def mark_sent(self, key: str, published: Published) -> None:
        self._update(
            key, state=SENT, remote_id=published.remote_id, url=published.url,
            sent_at=self._now(), last_error=None, next_retry_at=None,
        )  # fmt: skip

    def mark_failed(
        self, key: str, error: str, retry_after: float | None, attempts: int, retry: bool = True
    ) -> None:
        """``retry``: when the platform's answer may improve by itself (5xx, 429, network),
        the post gets a next retry; a refusal (401, 403, 422) waits for ``retry`` by a person."""
        next_retry = None
        if retry:
            delay = retry_after or RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
            moment = (self.clock() + dt.timedelta(seconds=delay)).astimezone(dt.UTC)
            next_retry = moment.isoformat(timespec="seconds")
        self._update(key, state=FAILED, last_error=error, next_retry_at=next_retry)

    def mark_unconfirmed(self, key: str, reason: str) -> None:
        self._update(key, state=UNCONFIRMED, last_error=reason)

    def mark_planned(self, key: str) -> None:
        self._update(key, state=PLANNED, next_retry_at=None)

    def mark_missed(self, key: str, reason: str) -> None:
        self._update(key, state=MISSED, last_error=reason)


def outgoing_posts(thread: Thread, destination: str, sensitive: bool = False) -> list[OutgoingPost]:
    thread_key = post_key(destination, thread.event_id, thread.day, 0).rsplit("/", 1)[0]
    return [
        OutgoingPost(
            key=post_key(destination, thread.event_id, thread.day, post.number),
            thread_key=thread_key,
            number=post.number,
            body=post.body,
            format=thread.format,
            event_id=thread.event_id,
            day=thread.day,
            title=post.title,
            mentions=tuple(post.mentions),
            sensitive=sensitive,
            images=tuple(post.images),
            continued=post.continued,
        )
        for post in thread.posts
    ]


def publish_thread(
    store: Store,
    poster: Poster,
    destination: str,
    thread: Thread,
    *,
    clock: Clock = utc_now,
    sensitive: bool = False,
    retry_now: bool = False,
    resend_unconfirmed: bool = False,
) -> ThreadResult:
    """Send every post of ``thread`` not yet sent, in order, each exactly once."""
    publish_log = PublishLog(store, clock)
    posts = outgoing_posts(thread, destination, sensitive)
    rows = publish_log.plan(posts, destination)
    result = ThreadResult(destination, thread.event_id, thread.day)
    lead: Published | None = None
    previous: Published | None = None
    stopped: str | None = None
    for post in posts:
        row = rows[post.key]
        state = row["state"]
        if stopped is not None:
            result.posts.append(PostResult(post.key, post.number, state, error=stopped))
            continue
        if state == SENDING:
            state = _reconcile(publish_log, poster, post, lead)
            row = publish_log.plan([post], destination)[post.key]
            if state == SENDING:
                stopped = f"waits for post {post.number} to be reconciled"
                result.posts.append(PostResult(post.key, post.number, SENDING, error=stopped))
                continue
        if state == SENT:
            published = Published(row["remote_id"], row["url"])
            lead = lead or published
            previous = published
            result.posts.append(
                PostResult(post.key, post.number, SENT, published.remote_id, published.url)
            )
            continue
        if state == UNCONFIRMED and not resend_unconfirmed:
            stopped = f"waits for post {post.number}, unconfirmed"
            result.posts.append(
                PostResult(post.key, post.number, UNCONFIRMED, error=row["last_error"])
            )
            continue
        if state == MISSED:
            stopped = "missed"
            result.posts.append(PostResult(post.key, post.number, MISSED, error=row["last_error"]))
            continue
        if (
            state == FAILED
            and not retry_now
            and (
                row["next_retry_at"] is None  # refused for good (401, 422): a person must look
                or dt.datetime.fromisoformat(row["next_retry_at"]) > clock()
            )
        ):
            stopped = f"waits for post {post.number} to be retried"
            result.posts.append(PostResult(post.key, post.number, FAILED, error=row["last_error"]))
            continue
        if previous is not None:
            checkpoint("between-parts", post.key)
        publish_log.mark_sending(post.key)
        checkpoint("before-request", post.key)
        try:
            published = poster.publish(post, lead, previous)
        except PostError as error:
            attempts = row["attempts"] + 1
            publish_log.mark_failed(
                post.key, str(error), error.retry_after, attempts, retry=error.retryable
            )
            log.info("%s: post %s failed: %s", destination, post.key, error)
            result.posts.append(PostResult(post.key, post.number, FAILED, error=str(error)))
            stopped = f"waits for post {post.number}, failed"
            continue
        except Exception as error:  # an adapter bug must not leave the row "sending"
            message = f"{type(error).__name__}: {error}"
            publish_log.mark_failed(post.key, message, None, row["attempts"] + 1)
            log.exception("%s: post %s failed unexpectedly", destination, post.key)
            result.posts.append(PostResult(post.key, post.number, FAILED, error=message))
            stopped = f"waits for post {post.number}, failed"
            continue
        checkpoint("after-response", post.key)
        publish_log.mark_sent(post.key, published)
        result.sent_now += 1
        lead = lead or published
        previous = published
        result.posts.append(
            PostResult(post.key, post.number, SENT, published.remote_id, published.url)
        )
    return result


def row_age(publish_log: PublishLog, key: str) -> float:
    """Seconds since the row was last written (when it went "sending")."""
    row = publish_log.store.conn.execute(
        "select updated_at from publish_log where key = ?", [key]
    ).fetchone()
    updated = dt.datetime.fromisoformat(row[0])
    return (publish_log.clock() - updated).total_seconds()


def _reconcile(
    publish_log: PublishLog, poster: Poster, post: OutgoingPost, lead: Published | None
) -> str:
    """A row left "sending" by a crash: was it published? Ask the platform, or a person."""
    if (
        not poster.can_find
        and poster.resend_window
        and row_age(publish_log, post.key) <= poster.resend_window
    ):
        log.info("%s: re-sending %s: the platform drops a repeat", poster.destination, post.key)
        publish_log.mark_planned(post.key)
        return PLANNED
    if not poster.can_find:
        publish_log.mark_unconfirmed(
            post.key,
            f"interrupted while sending and {poster.name} cannot look posts up: check the "
            "destination, then 'anniversary-bot retry' (re-send) or 'retry --mark-sent KEY'",
        )
        return UNCONFIRMED
    try:
        found = poster.find(post, lead)
    except PostError as error:
        if error.retryable:  # could not ask now: stay "sending", ask again on the next run
            log.info("%s: cannot reconcile %s yet: %s", poster.destination, post.key, error)
            return SENDING
        publish_log.mark_unconfirmed(
            post.key, f"interrupted while sending, and looking it up failed: {error}"
        )
        return UNCONFIRMED
    if found is not None:
        log.info(
            "%s: reconciled %s: it was published (%s)",
            poster.destination,
            post.key,
            found.remote_id,
        )
        publish_log.mark_sent(post.key, found)
        return SENT
    publish_log.mark_planned(post.key)
    return PLANNED


def make_poster(destination) -> Poster:
    from bot.posters import poster_class

    return poster_class(destination.type)(destination.name, destination.settings)


def day_threads(
    store: Store, config, destination, day: dt.date, poster=None, drafts: bool = True
) -> list[Thread]:
    """The threads ``destination`` posts on ``day``, fitted to its platform: the events
    already in its publish log for that day if any (a later import must not change a day
    half-posted), else the day's pick. ``poster``: the adapter instance or class.
    ``drafts``: apply the day's drafts (``bot.drafts.threads_to_publish``: approved drafts
    as they are, held threads in ``.held``); False: the threads as rendered now."""
    from bot.mentions import MentionDirectory
    from bot.posters import poster_class

    poster = poster or poster_class(destination.type)
    planned = PublishLog(store).planned_event_ids(destination.name, day)
    if planned:
        from bot.app import event_thread

        directory = MentionDirectory.from_store(store, config.lists)
        threads = [
            event_thread(
                store, config, destination, store.get_event(event_id), day, poster, directory
            )
            for event_id in planned
        ]
    else:
        from bot.app import fresh_threads

        threads = fresh_threads(store, config, destination, day, poster)
    if not drafts:
        return threads
    from bot.drafts import threads_to_publish  # drafts hook (issue 7)

    return threads_to_publish(store, destination, day, threads)


def publish_day(
    store: Store,
    config,
    destination,
    day: dt.date,
    *,
    clock: Clock = utc_now,
    poster: Poster | None = None,
    retry_now: bool = False,
    resend_unconfirmed: bool = False,
) -> list[ThreadResult]:
    poster = poster or make_poster(destination)
    try:
        poster.load_limits()
        threads = day_threads(store, config, destination, day, poster)
        # every thread of the day is planned before any is sent: a crash after the first
        # thread must not let a later pick change which threads the day has
        PublishLog(store, clock).plan(
            [post for thread in threads for post in outgoing_posts(thread, destination.name)],
            destination.name,
        )
        from bot.app import destination_pick

        pick = destination_pick(store, destination)
        results = []
        for thread in threads:
            event = store.get_event(thread.event_id)
            # a content warning where the event says so, or the pick's tags/keywords do
            sensitive = event.sensitive or (pick is not None and pick.is_sensitive(event))
            results.append(
                publish_thread(
                    store,
                    poster,
                    destination.name,
                    thread,
                    clock=clock,
                    sensitive=sensitive,
                    retry_now=retry_now,
                    resend_unconfirmed=resend_unconfirmed,
                )
            )
        return results + getattr(threads, "held", [])  # drafts hook: threads held back
    finally:
        poster.close()
