"""Drafts: a day's fitted threads, stored for a person to read, edit, approve or skip.

A draft is one thread (one event) for one destination on one day, exactly as the destination
would receive it (``bot.publishing.daily.day_threads``), with a hash of the event it was rendered from.
A person may replace a post's text (an *override*, kept beside the rendered post and shown as
edited), approve the draft, or skip it with a reason.

States: ``draft`` (made, not approved), ``approved``, ``skipped``, ``stale`` (the event changed
after the draft was made or approved). An edited or approved draft is never silently thrown
away: when its event changes it becomes stale, and it is not published until a person approves
it again (``drafts approve``) or renders it anew (``drafts regenerate``).

What is published (``threads_to_publish``, called by ``day_threads``):

- an approved draft: byte for byte its posts, edits included, on every destination;
- a skipped draft, a stale draft that was approved or edited, an edited draft not approved:
  nothing, and the day's result says why;
- a destination with ``require_approval: true``: only approved drafts; every other thread of
  the day waits, and the result says so ("waits for approval");
- otherwise, threads without a draft (or with an untouched one) go out as rendered now.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.config.channel import Channel
from bot.errors import InputError
from bot.i18n import DEFAULT_LANGUAGE
from bot.model import Member
from bot.publishing.log_reading import ThreadResult, utc_now

if TYPE_CHECKING:  # status and history read drafts without the templates' machinery
    from bot.store import Store
    from bot.threads.render import Thread

log = logging.getLogger("bot.drafts")

DRAFT, APPROVED, SKIPPED, STALE = "draft", "approved", "skipped", "stale"
STATES = (DRAFT, APPROVED, SKIPPED, STALE)
TITLE = "title"  # the override key of the lead post's title


# --- what a draft holds -----------------------------------------------------------------------


def event_hash(event) -> str:
    """A hash of everything an event is made of (not when it was imported)."""
    fields = event.to_row()
    if event.topic_title is None:
        # the row as it was before events could have their own topic title: drafts made then
        # stay current
        fields = fields[:-1]
    row = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(row.encode("utf-8")).hexdigest()[:16]


def thread_data(thread: Thread) -> dict[str, Any]:
    """A thread as JSON, everything an adapter reads kept (mentions with their handles); its
    language where it is not English (a draft of English stays what it always was)."""
    data = {
        "event_id": thread.event_id,
        "date": thread.date.iso(),
        "day": thread.day.isoformat(),
        "format": thread.format,
        "warnings": list(thread.warnings),
        "posts": [
            {
                "number": post.number,
                "part": post.part,
                "continued": post.continued,
                "title": post.title,
                "body": post.body,
                "mentions": [
                    {
                        "id": m.id,
                        "name": m.name,
                        "handles": dict(m.handles),
                        "tags": list(m.tags),
                        "opted_out": m.opted_out,
                    }
                    for m in post.mentions
                ],
                "images": [dict(image) for image in post.images],
                "source_url": post.source_url,
            }
            for post in thread.posts
        ],
    }
    if thread.language != DEFAULT_LANGUAGE:
        data["language"] = thread.language
    return data


def thread_from_data(data: dict[str, Any]) -> Thread:
    from bot.model.dates import parse_date
    from bot.threads.render import Post, Thread

    posts = [
        Post(
            number=p["number"],
            body=p["body"],
            title=p["title"],
            mentions=[
                Member(m["id"], m["name"], dict(m["handles"]), tuple(m["tags"]), m["opted_out"])
                for m in p["mentions"]
            ],
            part=p["part"],
            continued=p["continued"],
            images=[dict(image) for image in p["images"]],
            source_url=p["source_url"],
        )
        for p in data["posts"]
    ]
    return Thread(
        data["event_id"],
        parse_date(data["date"]),
        dt.date.fromisoformat(data["day"]),
        data["format"],
        posts,
        list(data["warnings"]),
        language=data.get("language", DEFAULT_LANGUAGE),
    )


@dataclass(frozen=True)
class Hold:
    """Why a thread is held back: ``kind`` is approval, stale, edited or skipped."""

    kind: str
    reason: str


@dataclass
class Draft:
    id: int
    destination: str
    day: dt.date
    event_id: str
    position: int
    state: str
    previous_state: str | None
    event_hash: str
    data: dict[str, Any]
    overrides: dict[str, str]
    reason: str | None
    created_at: str
    updated_at: str
    approved_at: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Draft:
        return cls(
            id=row["id"],
            destination=row["destination"],
            day=dt.date.fromisoformat(row["day"]),
            event_id=row["event_id"],
            position=row["position"] or 0,
            state=row["state"],
            previous_state=row["previous_state"],
            event_hash=row["event_hash"],
            data=json.loads(row["thread"]),
            overrides=json.loads(row["overrides"] or "{}"),
            reason=row["reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            approved_at=row["approved_at"],
        )

    @property
    def edited(self) -> bool:
        return bool(self.overrides)

    @property
    def edited_posts(self) -> list[int]:
        return sorted(int(key) for key in self.overrides if key != TITLE)

    @property
    def title(self) -> str:
        posts = self.data["posts"]
        title = posts[0]["title"] if posts else None
        return self.overrides.get(TITLE, title) or self.event_id

    @property
    def label(self) -> str:
        """The state as a person reads it: "approved, edited (post 2)"."""
        text = self.state
        if self.edited:
            what = [f"post {n}" for n in self.edited_posts] + (
                ["title"] if TITLE in self.overrides else []
            )
            text += f", edited ({', '.join(what)})"
        return text

    @property
    def blocks_publishing(self) -> bool:
        """A stale draft a person worked on (approved or edited): it waits for them."""
        return self.state == STALE and (self.previous_state == APPROVED or self.edited)

    def approved_after(self, moment: dt.datetime) -> bool:
        """Approved, and after ``moment`` (a day's time): its thread may still go out that day."""
        return self.state == APPROVED and (self.approved_at or "") > moment.astimezone(
            dt.UTC
        ).isoformat(timespec="seconds")

    def hold(self, require_approval: bool) -> Hold | None:
        """Why this draft's thread is not published as it stands, or None (approved: it goes
        out as it is; untouched: the event goes out as rendered now). The one home of this
        rule: the publisher, the scheduler, ``status``, ``history`` and ``drafts list`` ask it."""
        ref = f"draft {self.id}"
        if self.state == APPROVED:
            return None
        if self.state == SKIPPED:
            return Hold(SKIPPED, f"skipped ({ref}): {self.reason}")
        if self.blocks_publishing:
            return Hold(
                STALE,
                f"{ref} is stale: {self.reason}; it waits for approval: "
                f"'anniversary-bot drafts show {self.id} --diff', then 'drafts approve {self.id}' "
                f"or 'drafts regenerate {self.id}'",
            )
        if require_approval:
            stale = f", stale: {self.reason}" if self.state == STALE else ""
            return Hold(
                "approval",
                f"waits for approval ({ref}{stale}): 'anniversary-bot drafts approve {self.id}'",
            )
        if self.edited:
            return Hold(
                "edited",
                f"{ref} has edits that are not approved: 'anniversary-bot drafts approve {self.id}'",
            )
        return None

    def rendered_thread(self) -> Thread:
        """The thread as it was rendered, without a person's edits."""
        return thread_from_data(self.data)

    def thread(self) -> Thread:
        """The thread as it would be sent: the rendered posts with a person's edits."""
        thread = self.rendered_thread()
        posts = []
        for post in thread.posts:
            body = self.overrides.get(str(post.number), post.body)
            title = post.title
            if post.number == 1 and TITLE in self.overrides:
                title = self.overrides[TITLE]
            posts.append(replace(post, body=body, title=title))
        return replace(thread, posts=posts)


@contextmanager
def adapter(destination):
    """The destination's adapter, for its capabilities (some depend on its settings, such as
    a Discord forum channel's); nothing is sent, so its secrets are not read."""
    from bot.publishing.log import make_poster

    poster = make_poster(destination, secrets=False)
    try:
        yield poster
    finally:
        poster.close()


def over_limit(thread: Thread, destination) -> list[str]:
    """Posts longer than the destination takes (only a person's edit can make one)."""
    with adapter(destination) as poster:
        caps = poster.capabilities
    problems = []
    if caps.max_length:
        for post in thread.posts:
            length = poster.length(post.body)
            if length > caps.max_length:
                problems.append(
                    f"post {post.number} is {length:,} characters, over {destination.name}'s "
                    f"limit of {caps.max_length:,}"
                )
    return problems


# --- the drafts table ---------------------------------------------------------------------------


@dataclass
class Generated:
    """What ``generate`` did with one (destination, day, event)."""

    action: str  # new, updated, kept, stale, removed, posted, none
    destination: str
    day: dt.date
    draft: Draft | None = None
    note: str = ""

    def cells(self) -> tuple[str, str, str, str, str]:
        """Day, destination, draft id, event, what was done (``drafts generate``'s columns)."""
        if self.draft is None:
            return str(self.day), self.destination, "-", "-", self.note
        d = self.draft
        done = f"{self.action}: {d.label}" + (f" ({self.note})" if self.note else "")
        return str(self.day), self.destination, str(d.id), d.event_id, done


class Drafts:
    def __init__(self, store: Store, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="seconds")

    def _query(self, **filters: Any) -> builtins.list[Draft]:
        """The drafts ``Store.draft_rows`` finds with ``filters``, as stored (not checked)."""
        return [Draft.from_row(row) for row in self.store.draft_rows(**filters)]

    def get(self, draft_id: int) -> Draft:
        found = self._query(draft_id=draft_id)
        if not found:
            raise InputError(f"no draft {draft_id}: see 'anniversary-bot drafts list'")
        return self.check([found[0]])[0]

    def for_day(self, destination: str, day: dt.date) -> list[Draft]:
        return self.check(self._query(destination=destination, day=day))

    def list(
        self,
        destination: str | None = None,
        since: dt.date | None = None,
        states: tuple[str, ...] | None = None,
    ) -> builtins.list[Draft]:
        drafts = self.check(self._query(destination=destination, since=since))
        return [d for d in drafts if states is None or d.state in states]

    def _update(self, draft_id: int, **values: Any) -> None:
        values["updated_at"] = self._now()
        for key in ("thread", "overrides"):
            if key in values and not isinstance(values[key], str):
                values[key] = json.dumps(values[key], ensure_ascii=False)
        self.store.update_draft(draft_id, values)

    def check(self, drafts: builtins.list[Draft]) -> builtins.list[Draft]:
        """Mark stale every draft whose event changed (or went) since it was made or approved."""
        hashes: dict[str, str | None] = {}
        checked = []
        for draft in drafts:
            if draft.state in (DRAFT, APPROVED) and not self._begun(draft):
                if draft.event_id not in hashes:
                    hashes[draft.event_id] = self._current_hash(draft.event_id)
                current = hashes[draft.event_id]
                if current != draft.event_hash:
                    what = "was approved" if draft.state == APPROVED else "was made"
                    reason = (
                        f"the event changed after this draft {what}"
                        if current
                        else "the event is no longer in the store"
                    )
                    self._update(draft.id, state=STALE, previous_state=draft.state, reason=reason)
                    log.info("%s: draft %s is stale: %s", draft.destination, draft.id, reason)
                    draft = replace(draft, state=STALE, previous_state=draft.state, reason=reason)
            checked.append(draft)
        return checked

    def _begun(self, draft: Draft) -> bool:
        """Its thread began to go out: the draft is history, and a later change of the event
        must not hold the rest of a thread half-posted."""
        return self.store.thread_begun(draft.destination, draft.day, draft.event_id)

    def _current_hash(self, event_id: str) -> str | None:
        try:
            return event_hash(self.store.get_event(event_id))
        except InputError:
            return None

    # --- generating ---------------------------------------------------------------------------

    def generate(self, config, destination, day: dt.date, poster=None) -> builtins.list[Generated]:
        """Render ``destination``'s threads for ``day`` and store them as drafts. A draft a
        person approved, edited or skipped is kept (stale if its event changed); an untouched
        one is rendered anew."""
        from bot.publishing.log import PublishLog
        from bot.threads.day import fresh_day_threads

        name = destination.name
        if PublishLog(self.store).planned_event_ids(name, day):
            return [Generated("posted", name, day, note="already posting or posted: no drafts")]
        if poster is None:
            with adapter(destination) as poster:
                fresh = fresh_day_threads(self.store, Channel(config, destination, poster), day)
        else:
            fresh = fresh_day_threads(self.store, Channel(config, destination, poster), day)
        existing = {d.event_id: d for d in self.for_day(name, day)}
        now = self._now()
        done: builtins.list[Generated] = []
        for position, thread in enumerate(fresh):
            current = event_hash(self.store.get_event(thread.event_id))
            data = thread_data(thread)
            draft = existing.pop(thread.event_id, None)
            if draft is None:
                draft_id = self.store.add_draft(
                    name, day, thread.event_id, position, DRAFT, current,
                    json.dumps(data, ensure_ascii=False), now,
                )  # fmt: skip
                done.append(Generated("new", name, day, self.get(draft_id)))
            elif (draft.state == DRAFT and not draft.edited) or (
                draft.state == STALE and not draft.blocks_publishing
            ):
                # nobody worked on it: render it anew (no one's work is lost)
                changed = data != draft.data or draft.state == STALE
                self._update(
                    draft.id, thread=data, event_hash=current, position=position, state=DRAFT,
                    previous_state=None, reason=None,
                )  # fmt: skip
                done.append(
                    Generated("updated" if changed else "kept", name, day, self.get(draft.id))
                )
            else:
                if draft.position != position:
                    self._update(draft.id, position=position)
                note = ""
                if draft.state == STALE:
                    note = f"{draft.reason}: 'anniversary-bot drafts show {draft.id} --diff'"
                done.append(Generated("kept", name, day, draft, note))
        for draft in existing.values():  # events no longer among the day's pick
            untouched = draft.state == DRAFT and not draft.edited
            if untouched or (draft.state == STALE and not draft.blocks_publishing):
                self.store.delete_draft(draft.id)
                done.append(Generated("removed", name, day, draft, "no longer the day's pick"))
            elif draft.state in (APPROVED, DRAFT):  # approved or edited: a person decides
                reason = f"the event is no longer among {name}'s threads for this day"
                self._update(draft.id, state=STALE, previous_state=draft.state, reason=reason)
                done.append(Generated("stale", name, day, self.get(draft.id), reason))
            else:
                done.append(Generated("kept", name, day, draft, draft.reason or ""))
        if not fresh and not existing:
            done.append(Generated("none", name, day, note="nothing to post"))
        return done

    def regenerate(self, config, draft_id: int) -> Draft:
        """Render a draft anew from its event as it is now: a person's edits are dropped."""
        from bot.threads.day import fresh_day_threads

        draft = self.get(draft_id)
        destination = config.destination(draft.destination)
        with adapter(destination) as poster:
            channel = Channel(config, destination, poster)
            threads = fresh_day_threads(self.store, channel, draft.day)
        fresh = {t.event_id: t for t in threads}
        if draft.event_id in fresh:
            thread = fresh[draft.event_id]
        else:  # no longer the day's pick: render that event for the day all the same
            thread = self._render(config, destination, draft.event_id, draft.day)
        current = event_hash(self.store.get_event(draft.event_id))
        self._update(
            draft.id, thread=thread_data(thread), overrides={}, event_hash=current, state=DRAFT,
            previous_state=None, reason=None, approved_at=None,
        )  # fmt: skip
        return self.get(draft.id)

    def _render(self, config, destination, event_id: str, day: dt.date) -> Thread:
        from bot.app import event_thread

        with adapter(destination) as poster:
            event = self.store.get_event(event_id)
            return event_thread(self.store, Channel(config, destination, poster), event, day)

    # --- a person's decisions -------------------------------------------------------------------

    def edit(self, draft_id: int, number: int, text: str) -> tuple[Draft, str]:
        """Replace post ``number``'s text (0: the title). Returns the draft and what changed."""
        draft = self.get(draft_id)
        posts = draft.data["posts"]
        if number == 0:
            key, original = TITLE, posts[0]["title"] if posts else None
            if original is None:
                raise InputError(f"draft {draft_id}: this destination's threads have no title")
            text = " ".join(text.split())
            if not text:
                raise InputError(f"draft {draft_id}: an empty title: nothing changed")
        else:
            if not 1 <= number <= len(posts):
                raise InputError(
                    f"draft {draft_id} has posts 1 to {len(posts)}, not {number}: see "
                    f"'anniversary-bot drafts show {draft_id}'"
                )
            key, original = str(number), posts[number - 1]["body"]
            text = text.rstrip()  # an editor's final newline is not part of the post
            if not text.strip():
                raise InputError(
                    f"draft {draft_id}: post {number} would be empty: nothing changed (to hold "
                    f"the thread back: 'anniversary-bot drafts skip {draft_id} --reason ...')"
                )
        overrides = dict(draft.overrides)
        if text == original:
            overrides.pop(key, None)
        else:
            overrides[key] = text
        if overrides == draft.overrides:
            return draft, "unchanged"
        values: dict[str, Any] = {"overrides": overrides}
        note = "edited" if key in overrides else "edit undone: back to the rendered text"
        if draft.state == APPROVED:
            values.update(state=DRAFT, approved_at=None)
            note += "; approval withdrawn: approve it again"
        self._update(draft.id, **values)
        return self.get(draft.id), note

    def approve(self, config, draft_id: int) -> tuple[Draft, str]:
        draft = self.get(draft_id)
        destination = config.destination(draft.destination)
        problems = over_limit(draft.thread(), destination)
        if problems:
            raise InputError(
                f"draft {draft_id}: {problems[0]}: shorten it first "
                f"('anniversary-bot drafts edit {draft_id} --post N')"
            )
        note = ""
        if draft.state == STALE:
            note = (
                f"it was stale ({draft.reason}): it goes out as it stands; "
                f"'anniversary-bot drafts regenerate {draft_id}' renders it from the event as it "
                "is now"
            )
        current = self._current_hash(draft.event_id)
        if current is None:
            raise InputError(f"draft {draft_id}: its event is no longer in the store")
        self._update(
            draft.id, state=APPROVED, previous_state=None, reason=None, event_hash=current,
            approved_at=self._now(),
        )  # fmt: skip
        return self.get(draft.id), note

    def skip(self, draft_id: int, reason: str) -> Draft:
        reason = " ".join(reason.split())
        if not reason:
            raise InputError("--reason: say why the thread is held back")
        draft = self.get(draft_id)
        self._update(draft.id, state=SKIPPED, previous_state=draft.state, reason=reason)
        return self.get(draft.id)

    def diff(self, config, draft_id: int) -> str:
        """What changed between the draft (with edits) and the event rendered now."""
        import difflib

        draft = self.get(draft_id)
        destination = config.destination(draft.destination)
        now = self._render(config, destination, draft.event_id, draft.day)

        def lines(thread: Thread) -> builtins.list[str]:
            out = []
            for post in thread.posts:
                out.append(f"---- post {post.number} ----\n")
                if post.title:
                    out.append(f"Title: {post.title}\n")
                out += [line + "\n" for line in post.body.split("\n")]
            return out

        return "".join(
            difflib.unified_diff(
                lines(draft.thread()), lines(now), f"draft {draft_id}", "rendered now", n=2
            )
        )


# --- the publishing hook ------------------------------------------------------------------------


@dataclass
class HeldThread(ThreadResult):
    """A thread of the day that is not published, and why (a draft waits for a person)."""

    reason: str = ""
    kind: str = "approval"  # approval, stale, edited, skipped
    draft_id: int | None = None
    thread: Thread | None = field(default=None, repr=False)  # what would go out

    @property
    def state(self) -> str:
        return SKIPPED if self.kind == SKIPPED else "held"

    def summary(self) -> str:
        return f"{self.destination}: {self.event_id}: not posted: {self.reason}"


@dataclass
class DayPlan:
    """What a destination publishes on a day once the drafts are applied: ``threads`` to send,
    the ``held`` ones beside them (each with why), the ``fresh`` rendering they were chosen
    from, and the day's ``drafts`` by event id."""

    threads: builtins.list[Thread]
    held: builtins.list[HeldThread] = field(default_factory=builtins.list)
    fresh: builtins.list[Thread] = field(default_factory=builtins.list)
    drafts: dict[str, Draft] = field(default_factory=dict)


def threads_to_publish(store: Store, destination, day: dt.date, fresh: list[Thread]) -> DayPlan:
    """What ``destination`` publishes on ``day`` given the threads rendered now (``fresh``):
    approved drafts as they are, fresh threads where no draft or approval is needed; the rest is
    held, each with the reason a person reads in the day's result and the log."""
    drafts = Drafts(store).for_day(destination.name, day)
    if not drafts and not destination.require_approval:
        return DayPlan(list(fresh), fresh=fresh)
    name = destination.name
    fresh_by_event = {t.event_id: t for t in fresh}
    out: list[Thread] = []
    held: list[HeldThread] = []

    def hold(event_id: str, kind: str, reason: str, draft: Draft | None, thread) -> None:
        held.append(
            HeldThread(name, event_id, day, reason=reason, kind=kind,
                       draft_id=draft.id if draft else None, thread=thread)
        )  # fmt: skip
        log.info("%s: %s: %s: not posted: %s", name, day, event_id, reason)

    for draft in drafts:
        if draft.state == APPROVED:
            out.append(draft.thread())
            continue
        why = draft.hold(destination.require_approval)
        if why is not None:
            hold(draft.event_id, why.kind, why.reason, draft, draft.thread())
        elif draft.event_id in fresh_by_event:  # untouched: as rendered now
            out.append(fresh_by_event[draft.event_id])
    drafted = {d.event_id for d in drafts}
    for thread in fresh:
        if thread.event_id in drafted:
            continue
        if destination.require_approval:
            hold(
                thread.event_id, "approval",
                "waits for approval (no draft yet): 'anniversary-bot drafts generate', then "
                "'drafts approve ID'",
                None, thread,
            )  # fmt: skip
        else:
            out.append(thread)
    return DayPlan(out, held, fresh, {d.event_id: d for d in drafts})


def waits_for_a_draft(store: Store, destination, day: dt.date) -> bool:
    """A destination that posts only approved drafts has events on ``day`` and nothing in the
    publish log for it: without a draft (the caller knows there is none), it is held."""
    from bot.publishing.log import PublishLog
    from bot.threads.select import anniversary_events

    return (
        destination.require_approval
        and not PublishLog(store).planned_event_ids(destination.name, day)
        and bool(anniversary_events(store, day, destination.leap_day))
    )


def attention(store: Store, config, today: dt.date, days: int = 7) -> list[str]:
    """Lines for ``status``: drafts that wait for a person from ``today`` on, and the next
    ``days`` days of destinations that require approval with nothing approved yet."""
    lines = []
    drafts = Drafts(store).list(since=today)
    for draft in drafts:
        dest = config.destinations.get(draft.destination)
        if dest is None:
            continue
        where = f"{draft.day} {draft.destination} draft {draft.id} ({draft.event_id})"
        hold = draft.hold(dest.require_approval)
        if hold is None or hold.kind == SKIPPED:
            continue
        if draft.state == STALE:
            lines.append(f"{where}: stale: {draft.reason}; waits for approval")
        else:
            lines.append(f"{where}: {draft.label}: waits for approval")
    drafted = {(d.destination, d.day) for d in drafts}
    for dest in config.destinations.values():
        if not dest.require_approval:
            continue
        missing = [
            day
            for day in (today + dt.timedelta(days=n) for n in range(days))
            if (dest.name, day) not in drafted and waits_for_a_draft(store, dest, day)
        ]
        if missing:
            span = str(missing[0])
            if len(missing) > 1:
                span = f"{len(missing)} days, {missing[0]} to {missing[-1]}"
            lines.append(
                f"{dest.name}: {span}: no draft yet, and {dest.name} posts only approved "
                "drafts: 'anniversary-bot drafts generate'"
            )
    return lines


def held_back(
    store: Store, config, today: dt.date, day: dt.date | None = None, destination: str | None = None
) -> list[str]:
    """Lines for ``history``: threads of days already reached that were not posted because
    their draft waits for a person (or was skipped)."""
    lines = []
    for draft in Drafts(store).list(destination):
        dest = config.destinations.get(draft.destination)
        if dest is None or draft.day > today or (day is not None and draft.day != day):
            continue
        hold = draft.hold(dest.require_approval)
        if hold is None:
            continue
        if hold.kind == SKIPPED:
            why = f"skipped: {draft.reason}"
        elif draft.state == STALE:
            why = f"stale: {draft.reason}; waits for approval"
        else:
            why = "waits for approval"
        lines.append(
            f"{draft.day}  {draft.destination}  {draft.event_id}  held (draft {draft.id}): {why}"
        )
    return lines
