"""Publishing exactly once: the publish log and the loop that sends a thread through it.

For each (destination, event, day, post) there is one row in ``publish_log``. It moves
planned -> sending -> sent, or -> failed (with a next retry), and is written *before* the
request goes out.

Exactly once across processes rests on two things:

- **One sender per post.** A post is *claimed* before it is sent: one conditional update, in an
  immediate transaction, from the state the sender read (planned or failed) to "sending". Only
  one process can win it; a process that loses does not send (the statement is
  ``Store.claim_post``; the states are this module's). Every command that publishes
  (``post``, ``retry``, ``run --once``, the daemon) also holds the store's publishing lock
  (``bot.locks``) while it sends a destination's day, so a second process waits for the first
  and then finds the posts sent.
- **An unknown outcome is never re-sent blind.** A row found in "sending" by the lock's holder
  was left by a crash, or by a request whose answer never came (a read timeout, a connection
  dropped after sending, a gateway's 5xx, an unreadable 2xx: ``Outcome.UNKNOWN``). It is
  reconciled before anything is sent again: by the adapter's ``find`` where the platform can
  tell, by re-sending under the platform's idempotency key within its window (Mastodon,
  Matrix), else it is marked "unconfirmed" for a person (``history --failed``, then
  ``retry --mark-sent KEY`` or ``retry --resend KEY``).

A thread that broke after its lead resumes at the first missing reply, replying to the lead
that exists.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Collection
from typing import Any

from bot.faults import checkpoint
from bot.posters.base import Outcome, OutgoingPost, Poster, PostError, Published
from bot.publishing.log_reading import (
    FAILED,
    HELD,
    MISSED,
    OPEN_STATES,
    PLANNED,
    SENDING,
    SENT,
    UNCONFIRMED,
    Clock,
    PostResult,
    PostState,
    PublishLogReader,
    ThreadResult,
    utc_now,
)
from bot.secrets_filter import PROGRESS_LOGGER, mask
from bot.store import Store
from bot.store.rows import PlannedRow
from bot.threads.render import Thread

log = logging.getLogger("bot.publishing.log")
# a line per post as it goes out (shown by ``post``)
progress = logging.getLogger(PROGRESS_LOGGER)


RETRY_DELAYS = (60, 120, 300, 600, 1800, 3600)  # seconds after the 1st, 2nd, ... failure
# an unknown outcome is looked up no sooner than this: a platform may still be storing a post
# whose answer timed out, and a look-up at once would not find it yet
LOOKUP_DELAY = 60
HELD_WHY = "held by the forum's moderators for review"

__all__ = [
    "FAILED", "HELD", "MISSED", "OPEN_STATES", "PLANNED", "SENDING", "SENT", "UNCONFIRMED",
    "Clock", "PostResult", "PostState", "PublishLog", "ThreadResult", "make_poster",
    "outgoing_posts", "publish_thread", "utc_now",
]  # fmt: skip


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after the ``attempts``-th failed one."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def post_key(destination: str, event_id: str, day: dt.date, number: int) -> str:
    return f"{destination}/{event_id}/{day.isoformat()}/{number}"


def claimer() -> str:
    """Who claims a post: enough for a person to find the process."""
    return f"pid {os.getpid()} on {socket.gethostname()}"


class PublishLog(PublishLogReader):
    """The publish log, read and written: the sending side's state changes."""

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="seconds")

    def plan(self, posts: list[OutgoingPost], destination: str) -> dict[str, dict[str, Any]]:
        """Write a "planned" row for every post not in the log yet; keep rows that are."""
        if not posts:
            return {}
        rows = [
            PlannedRow(post.key, post.event_id, post.day, post.number, post.title, post.body)
            for post in posts
        ]
        return self.store.plan_posts(destination, rows, PLANNED, self._now())

    def _update(self, key: str, **values: Any) -> None:
        values["updated_at"] = self._now()
        if values.get("last_error"):
            values["last_error"] = mask(values["last_error"])  # what is stored never holds a secret
        self.store.update_publish_log(key, values)

    def claim(self, key: str, expected: Collection[str] = (PLANNED, FAILED)) -> bool:
        """Take the post for sending: True for exactly one process, only while its state is
        still one of ``expected`` (what the caller read)."""
        return self.store.claim_post(key, expected, SENDING, claimer(), self._now())

    def mark_sending(self, key: str) -> None:
        """Unconditionally "sending" (the crash tests set a row up this way)."""
        self.store.force_post_state(key, SENDING, self._now())

    def mark_sent(self, key: str, published: Published) -> None:
        self._update(
            key, state=SENT, remote_id=published.remote_id, url=published.url,
            sent_at=self._now(), last_error=None, next_retry_at=None, claimed_by=None,
        )  # fmt: skip

    def mark_failed(
        self, key: str, error: str, retry_after: float | None, attempts: int, retry: bool = True
    ) -> None:
        """``retry``: when the platform's answer may improve by itself (5xx, 429, network),
        the post gets a next retry; a refusal (401, 403, 422) waits for ``retry`` by a person."""
        next_retry = None
        if retry:
            delay = retry_after or retry_delay(attempts)
            next_retry = self._later(delay)
        self._update(key, state=FAILED, last_error=error, next_retry_at=next_retry, claimed_by=None)

    def mark_unknown(self, key: str, error: str, attempts: int) -> None:
        """Sent, and no readable answer came: it stays "sending" (not claimed by anyone) and is
        looked up, no sooner than ``next_retry_at``, before anything is sent again."""
        delay = max(LOOKUP_DELAY, retry_delay(attempts))
        self._update(
            key, state=SENDING, last_error=f"{error}; it may have been posted: it is looked "
            "up before anything is sent again", next_retry_at=self._later(delay), claimed_by=None,
        )  # fmt: skip

    def mark_held(self, key: str, published: Published, reason: str) -> None:
        """Accepted and held for the platform's moderators: not sent, not failed."""
        self._update(
            key, state=HELD, remote_id=published.remote_id, url=published.url, last_error=reason,
            next_retry_at=None, claimed_by=None,
        )  # fmt: skip

    def mark_unconfirmed(self, key: str, reason: str) -> None:
        self._update(key, state=UNCONFIRMED, last_error=reason, claimed_by=None)

    def mark_planned(self, key: str) -> None:
        self._update(key, state=PLANNED, next_retry_at=None, claimed_by=None)

    def mark_missed(self, key: str, reason: str) -> None:
        self._update(key, state=MISSED, last_error=reason, claimed_by=None)

    def record_render_failure(
        self, destination: str, event_id: str, day: dt.date, reason: str
    ) -> dict[str, Any]:
        """An event of the day cannot be rendered: its first unsent post is recorded as
        failed with the reason (retried by the sweeps: the fix is usually in the store), so the
        day shows in ``history --failed`` and ``status`` instead of vanishing."""
        rows = [r for r in self.rows(destination, day, event_id=event_id) if r["state"] != SENT]
        if rows:
            key = rows[0]["key"]
        else:
            key = post_key(destination, event_id, day, 1)
            self.store.add_publish_log_row(key, destination, event_id, day, PLANNED, self._now())
        row = self.row(key) or {}
        if row.get("state") in (PLANNED, FAILED, None):
            attempts = (row.get("attempts") or 0) + 1
            self._update(key, attempts=attempts)
            self.mark_failed(key, f"cannot be rendered: {reason}", None, attempts)
        return self.row(key) or {}

    def _later(self, seconds: float) -> str:
        moment = (self.clock() + dt.timedelta(seconds=seconds)).astimezone(dt.UTC)
        return moment.isoformat(timespec="seconds")

    def due(self, row: dict[str, Any]) -> bool:
        """Whether a row waiting for a retry or a look-up may be acted on now."""
        when = row["next_retry_at"]
        return when is not None and dt.datetime.fromisoformat(when) <= self.clock()


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


def outcome(error: BaseException) -> Outcome:
    """UNKNOWN if any error in the chain says so: an adapter that turns the HTTP layer's error
    into its own message keeps the doubt."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "outcome", None) == Outcome.UNKNOWN:
            return Outcome.UNKNOWN
        seen = seen.__cause__ or seen.__context__
    return Outcome.NOT_SENT


def publish_thread(
    store: Store,
    poster: Poster,
    destination: str,
    thread: Thread,
    *,
    clock: Clock = utc_now,
    sensitive: bool = False,
    retry_now: bool = False,
    reconcile_unconfirmed: bool = False,
    resend: Collection[str] = (),
) -> ThreadResult:
    """Send every post of ``thread`` not yet sent, in order, each exactly once.

    The caller holds the store's publishing lock (``publish_day`` does). ``retry_now``: failed
    posts and unknown outcomes are acted on now rather than at their next retry.
    ``reconcile_unconfirmed``: unconfirmed posts are looked up where the adapter can.
    ``resend``: keys of unconfirmed posts a person checked and wants sent again."""
    publish_log = PublishLog(store, clock)
    posts = outgoing_posts(thread, destination, sensitive)
    rows = publish_log.plan(posts, destination)
    result = ThreadResult(destination, thread.event_id, thread.day)
    lead: Published | None = None
    previous: Published | None = None
    stopped: str | None = None

    def stop(post: OutgoingPost, state: str, error: str | None, why: str) -> None:
        nonlocal stopped
        stopped = why
        result.posts.append(PostResult(post.key, post.number, state, error=error))

    for post in posts:
        row = rows[post.key]
        state = row["state"]
        if stopped is not None:
            result.posts.append(PostResult(post.key, post.number, state, error=stopped))
            continue
        if state == SENDING:
            # the caller holds the publishing lock: nobody is sending it now; a crash or an
            # answer that never came left it
            if row["next_retry_at"] and not retry_now and not publish_log.due(row):
                stop(post, SENDING, row["last_error"], f"waits for post {post.number}'s look-up")
                continue
            state = _reconcile(publish_log, poster, post, lead)
            row = publish_log.row(post.key) or row
            if state == SENDING:
                stop(post, SENDING, row["last_error"], f"waits for post {post.number}'s look-up")
                continue
        if state == UNCONFIRMED:
            if post.key in resend:
                log.info("%s: re-sending %s: a person checked it", destination, post.key)
                publish_log.mark_planned(post.key)
                state = PLANNED
            elif reconcile_unconfirmed and poster.can_find:
                state = _look_up(publish_log, poster, post, lead, "unconfirmed")
                row = publish_log.row(post.key) or row
            if state in (UNCONFIRMED, SENDING):
                stop(post, state, row["last_error"], f"waits for post {post.number}, unconfirmed")
                continue
        if state == HELD:
            state = _look_up_held(publish_log, poster, post, lead)
            row = publish_log.row(post.key) or row
            if state == HELD:
                stop(post, HELD, row["last_error"], f"waits for post {post.number}, {HELD_WHY}")
                continue
        if state == SENT:
            published = Published(row["remote_id"], row["url"])
            lead = lead or published
            previous = published
            result.posts.append(
                PostResult(post.key, post.number, SENT, published.remote_id, published.url)
            )
            continue
        if state == MISSED:
            stop(post, MISSED, row["last_error"], "missed")
            continue
        if state == FAILED and not retry_now and not publish_log.due(row):
            # refused for good (401, 422: next_retry_at is None) or not yet time to retry
            stop(post, FAILED, row["last_error"], f"waits for post {post.number} to be retried")
            continue
        if previous is not None:
            checkpoint("between-parts", post.key)
        if not publish_log.claim(post.key, (state,)):
            # another process got there first (it does not hold our lock: a store reached by
            # two paths, or an older version): never send beside it
            now_row = publish_log.row(post.key) or row
            if now_row["state"] == SENT:
                published = Published(now_row["remote_id"], now_row["url"])
                lead, previous = lead or published, published
                result.posts.append(
                    PostResult(post.key, post.number, SENT, published.remote_id, published.url)
                )
                continue
            why = f"another process is sending post {post.number}: left to it"
            stop(post, now_row["state"], why, why)
            continue
        checkpoint("before-request", post.key)
        progress.info(
            "%s: %s: sending post %d of %d", destination, thread.event_id, post.number, len(posts)
        )
        try:
            published = poster.publish(post, lead, previous)
        except Exception as error:  # noqa: BLE001 - an adapter bug must not leave it "sending"
            message = str(error) if isinstance(error, PostError) else _bug(error)
            if not isinstance(error, PostError):
                log.exception("%s: post %s failed unexpectedly", destination, post.key)
            attempts = row["attempts"] + 1
            if outcome(error) == Outcome.UNKNOWN or not isinstance(error, PostError):
                state = _unknown(publish_log, poster, post, message, attempts)
                row = publish_log.row(post.key) or row
                log.info("%s: post %s: %s", destination, post.key, row["last_error"])
                stop(post, state, row["last_error"], f"waits for post {post.number}'s outcome")
                continue
            publish_log.mark_failed(
                post.key, message, error.retry_after, attempts, retry=error.retryable
            )
            log.info("%s: post %s failed: %s", destination, post.key, message)
            stop(post, FAILED, mask(message), f"waits for post {post.number}, failed")
            continue
        checkpoint("after-response", post.key)
        if published.held:
            reason = (
                f"{HELD_WHY}: it goes out when they approve it; it is looked up on each run, "
                "and the thread's later posts wait for it"
            )
            publish_log.mark_held(post.key, published, reason)
            log.info("%s: post %s is %s", destination, post.key, HELD_WHY)
            stop(post, HELD, reason, f"waits for post {post.number}, {HELD_WHY}")
            continue
        publish_log.mark_sent(post.key, published)
        result.sent_now += 1
        lead = lead or published
        previous = published
        result.posts.append(
            PostResult(post.key, post.number, SENT, published.remote_id, published.url)
        )
    return result


def _bug(error: BaseException) -> str:
    return f"{type(error).__name__}: {error} (an adapter bug: please report it)"


def _unknown(
    publish_log: PublishLog, poster: Poster, post: OutgoingPost, message: str, attempts: int
) -> str:
    """No readable answer: look it up later where the platform can tell or drops a repeat;
    else a person decides at once (nothing later could know more)."""
    if poster.can_find or poster.resend_window:
        publish_log.mark_unknown(post.key, message, attempts)
        return SENDING
    publish_log.mark_unconfirmed(post.key, _unconfirmed_reason(message, poster, post))
    return UNCONFIRMED


def _unconfirmed_reason(what: str, poster: Poster, post: OutgoingPost) -> str:
    return (
        f"{what}; it may have been posted and {poster.name} cannot look posts up: check "
        f"{poster.destination}, then 'anniversary-bot retry --mark-sent {post.key}' (it is there) "
        f"or 'anniversary-bot retry --resend {post.key}' (it is not)"
    )


def row_age(publish_log: PublishLog, key: str) -> float:
    """Seconds since the post's request first went out (when it was claimed)."""
    updated = dt.datetime.fromisoformat(publish_log.store.post_went_out_at(key))
    return (publish_log.clock() - updated).total_seconds()


def _reconcile(
    publish_log: PublishLog, poster: Poster, post: OutgoingPost, lead: Published | None
) -> str:
    """A row left "sending" (a crash, or no answer): was it published? Ask the platform, re-send
    under its idempotency key, or ask a person."""
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
            post.key, _unconfirmed_reason("interrupted while sending", poster, post)
        )
        return UNCONFIRMED
    return _look_up(publish_log, poster, post, lead, "interrupted while sending")


def _look_up_held(
    publish_log: PublishLog, poster: Poster, post: OutgoingPost, lead: Published | None
) -> str:
    """A post held for the platform's moderators: sent once it can be found (approved), else
    still held. Never sent again: the platform has it."""
    if not poster.can_find:
        return HELD
    try:
        found = poster.find_held(post, lead)
    except PostError as error:
        log.info("%s: cannot look up held post %s: %s", poster.destination, post.key, error)
        return HELD
    if found is None:
        return HELD
    log.info("%s: held post %s was approved (%s)", poster.destination, post.key, found.remote_id)
    publish_log.mark_sent(post.key, found)
    return SENT


def _look_up(
    publish_log: PublishLog, poster: Poster, post: OutgoingPost, lead: Published | None, why: str
) -> str:
    try:
        found = poster.find(post, lead)
    except PostError as error:
        if error.retryable:  # could not ask now: ask again on the next run
            log.info("%s: cannot look up %s yet: %s", poster.destination, post.key, error)
            row = publish_log.row(post.key) or {}
            if row.get("state") == SENDING:
                publish_log.mark_unknown(post.key, f"look-up failed: {error}", row["attempts"])
            return str(row.get("state") or SENDING)
        publish_log.mark_unconfirmed(post.key, f"{why}, and looking it up failed: {error}")
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


def make_poster(destination, *, secrets: bool = True) -> Poster:
    """The destination's adapter. ``secrets=False``: for its rules and capabilities only
    (drafts, previews), its secrets not read, so that it works with them unset; it is never
    asked to send."""
    from bot.posters import poster_class

    settings = destination.with_secrets() if secrets else destination.settings
    return poster_class(destination.type)(destination.name, settings)
