"""Alerts: a person hears about every post that did not go out, once per incident.

After each run of a destination's job (``bot.operations.watch``) the publish log and the drafts
are read for what needs a person: a post failed with no retry left today, a day (or a post of
it) missed, a post unconfirmed, a day held for approval within ``alerts.held_hours`` of its
time. Each is an *incident*, one per destination, day and thread, kept in the store
(``bot.store.alerts``): the sweep every five minutes finds it again and tells nobody again. A
thread's incident keeps its one alert when it gets worse (failed, then missed when its day
ends). When the problem is gone (the posts went out, a person marked one sent, the draft was
approved) the URLs that were told get a "recovered" message. The daemon starting after a crash
is an incident of its own, told once.

Delivery goes through Apprise (one URL each: e-mail, Matrix, Slack, ntfy, a webhook, ...). A URL
that cannot be reached is logged and tried again later (``retry_delay``); nothing here ever
raises into the daily job, and it runs after the publishing lock is released.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import zone
from bot.config import AlertEvent, Config, Destination, resolve_secret
from bot.drafts import SKIPPED, Drafts, waits_for_a_draft
from bot.errors import ConfigError
from bot.publishing.log import FAILED, MISSED, SENT, UNCONFIRMED, retry_delay
from bot.publishing.scheduler import scheduled_at
from bot.secrets_filter import Secret, mask, shorten
from bot.store import Store
from bot.store.rows import IncidentRow

log = logging.getLogger("bot.operations.alerts")

# the days looked at: the week the daily job still settles (scheduler._close_past_days)
WINDOW_DAYS = 7
WHAT = {
    AlertEvent.FAILED: "a post failed and has no retry left today",
    AlertEvent.MISSED: "its day ended before it was sent",
    AlertEvent.UNCONFIRMED: "a post may have gone out, and the platform cannot say: a person decides",
    AlertEvent.HELD: "held for approval, and its time is near",
    AlertEvent.RESTARTED: "the daemon started again after a crash",
}
# a missed day stays missed, and a restart is over once told: only these recover
RECOVERABLE = (AlertEvent.FAILED, AlertEvent.UNCONFIRMED, AlertEvent.HELD)


@dataclass(frozen=True)
class AlertTarget:
    """One URL of ``alerts.urls``, its secret resolved."""

    position: int  # in alerts.urls: what the store's incidents remember
    url: Secret
    events: tuple[AlertEvent, ...]

    @property
    def name(self) -> str:
        """How messages name the URL: by where it comes from, never by itself."""
        return f"alerts.urls[{self.position}] ({self.url.source or 'a secret'})"


def alert_targets(config: Config) -> list[AlertTarget]:
    """The config's alert URLs with their secrets read; a variable that is not set (or a file
    that cannot be read) is a ConfigError naming it."""
    base = config.path.parent if config.path else Path.cwd()
    where = f"{config.path or 'the config'}: alerts.urls"
    targets = []
    for position, entry in enumerate(config.alerts.urls):
        url = resolve_secret(entry.url, f"{where}[{position}].url", base)
        targets.append(AlertTarget(position, url, entry.events))
    return targets


@dataclass(frozen=True)
class Incident:
    """Something a person must hear about, as found now."""

    event: AlertEvent
    destination: str
    day: dt.date
    event_id: str  # "" for the day as a whole (no draft yet; a restart)
    reason: str
    fix: str
    post_key: str = ""
    key: str = ""

    def row(self) -> IncidentRow:
        key = self.key or incident_key(self.destination, self.event_id, self.day)
        return IncidentRow(
            key, self.event, self.destination, self.day.isoformat(), self.event_id,
            self.post_key, mask(self.reason), self.fix,
        )  # fmt: skip


def incident_key(destination: str, event_id: str, day: dt.date) -> str:
    """One incident per destination, day and thread, whatever happens to it."""
    return f"{destination}/{event_id or '(day)'}/{day.isoformat()}"


@dataclass
class IncidentCheck:
    """What one check found: incidents opened now, and those closed (recovered or not)."""

    opened: list[Incident] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # keys
    closed: list[str] = field(default_factory=list)  # keys closed without a "recovered"


def find_incidents(
    store: Store, config: Config, destination: Destination, now: dt.datetime
) -> list[Incident]:
    """Every incident of ``destination`` as the store stands at ``now``."""
    tz = zone(destination.timezone or config.timezone)
    today = now.astimezone(tz).date()
    name = destination.name
    found: dict[str, Incident] = {}
    since = today - dt.timedelta(days=WINDOW_DAYS)
    rows = store.open_posts(
        name, since, today + dt.timedelta(days=2), (FAILED, UNCONFIRMED, MISSED)
    )
    for row in rows:
        day = dt.date.fromisoformat(row["day"])
        key = incident_key(name, row["event_id"], day)
        if key in found:  # the first post of a thread that needs a person tells
            continue
        event = _post_incident(row, _day_end(day, tz))
        if event is not None:
            found[key] = Incident(
                event, name, day, row["event_id"], row["last_error"] or "",
                _fix(event, name, day, row["key"]), row["key"],
            )  # fmt: skip
    for day in (today, today + dt.timedelta(days=1)):
        due = scheduled_at(day, destination.time, tz)
        if not due - dt.timedelta(hours=config.alerts.held_hours) <= now < _day_end(day, tz):
            continue
        for incident in _held(store, destination, day):
            found.setdefault(incident_key(name, incident.event_id, day), incident)
    return list(found.values())


def _post_incident(row: dict[str, Any], day_end: dt.datetime) -> AlertEvent | None:
    if row["state"] == UNCONFIRMED:
        return AlertEvent.UNCONFIRMED
    if row["state"] == MISSED:
        return AlertEvent.MISSED
    retry_at = row["next_retry_at"]
    if retry_at is None or dt.datetime.fromisoformat(retry_at) >= day_end:
        return AlertEvent.FAILED  # refused (waits for a person), or next tried on another day
    return None  # retried later today: not yet a person's business


def _held(store: Store, destination: Destination, day: dt.date) -> list[Incident]:
    name = destination.name
    drafts = Drafts(store).for_day(name, day)
    held = []
    for draft in drafts:
        hold = draft.hold(destination.require_approval)
        if hold is None or hold.kind == SKIPPED or store.thread_begun(name, day, draft.event_id):
            continue
        fix = f"anniversary-bot drafts show {draft.id}, then anniversary-bot drafts approve {draft.id}"
        held.append(Incident(AlertEvent.HELD, name, day, draft.event_id, hold.reason, fix))
    if not drafts and waits_for_a_draft(store, destination, day):
        held.append(
            Incident(
                AlertEvent.HELD,
                name,
                day,
                "",
                f"{name} posts only approved drafts, and {day} has no draft yet",
                f"anniversary-bot drafts generate --to {name}, then anniversary-bot drafts "
                "approve ID",
            )  # fmt: skip
        )
    return held


def _fix(event: AlertEvent, destination: str, day: dt.date, post_key: str) -> str:
    if event == AlertEvent.UNCONFIRMED:
        return (
            f"check {destination}, then 'anniversary-bot retry --mark-sent {post_key}' (it is "
            f"there) or 'anniversary-bot retry --resend {post_key}' (it is not)"
        )
    if event == AlertEvent.FAILED:
        return (
            f"fix what the reason says, then 'anniversary-bot retry --to {destination}' "
            f"('anniversary-bot history --failed --to {destination}' lists the posts)"
        )
    return (
        f"it cannot go out on its day any more; 'anniversary-bot history --date {day} --to "
        f"{destination}' shows what happened, 'anniversary-bot status' whether the bot runs"
    )


def _day_end(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)


def check_incidents(
    store: Store, config: Config, destination: Destination, now: dt.datetime
) -> IncidentCheck:
    """Open the incidents found now (each told once), close those that are over: a recovered
    one is told to the URLs its alert reached."""
    stamp = _stamp(now)
    current = {
        incident.row().key: incident for incident in find_incidents(store, config, destination, now)
    }
    check = IncidentCheck()
    for incident in current.values():
        tell = _told(config, incident.event)
        before = store.incident(incident.row().key)
        if before is not None and before["open"]:
            # found again: nobody is told again; worse now (failed, then missed): only the
            # URLs that were not told of it before hear of it
            earlier = _told(config, AlertEvent(before["event"]))
            tell = [position for position in tell if position not in earlier]
        if store.open_incident(incident.row(), tell, stamp):
            log.warning("%s", _line(incident.row()))
            check.opened.append(incident)
    for row in store.open_incidents(destination.name):
        if row["key"] in current:
            continue
        settled = _settled(store, destination, row)
        if settled is None:  # still there: only its day left the window
            continue
        note, recovered = settled
        told = [
            p
            for p in _told(config, AlertEvent(row["event"]))
            if p not in json.loads(row["alert_to"])
        ]
        store.close_incident(row["key"], told if recovered else [], note, stamp)
        (check.recovered if recovered else check.closed).append(row["key"])
        if recovered:
            log.info("recovered: %s: %s", row["key"], note)
    return check


def _settled(
    store: Store, destination: Destination, row: dict[str, Any]
) -> tuple[str, bool] | None:
    """Why an incident no longer found is over, and whether it recovered; None when the
    thread still needs a person: a post failed or unconfirmed older than the window, a day
    still held that ended and waits for the daily job to record it missed."""
    event = AlertEvent(row["event"])
    if event not in RECOVERABLE:
        return "", False
    day = dt.date.fromisoformat(row["day"])
    rows = store.publish_log_rows(row["destination"], day, None, row["event_id"] or None)
    states = {r["state"] for r in rows}
    if MISSED in states:
        return "", False
    if states & {FAILED, UNCONFIRMED}:
        return None
    if not rows:
        if _still_held(store, destination, day, row["event_id"]):
            return None
        return "no longer held", True
    sent = sum(r["state"] == SENT for r in rows)
    note = f"{sent} of {len(rows)} posts sent"
    return (note if sent == len(rows) else f"{note}, the others are going out"), True


def _still_held(store: Store, destination: Destination, day: dt.date, event_id: str) -> bool:
    drafts = Drafts(store).for_day(destination.name, day)
    if not event_id:
        return not drafts and waits_for_a_draft(store, destination, day)
    for draft in drafts:
        hold = draft.hold(destination.require_approval)
        if draft.event_id == event_id and hold is not None and hold.kind != SKIPPED:
            return True
    return False


def _told(config: Config, event: AlertEvent) -> list[int]:
    return [n for n, entry in enumerate(config.alerts.urls) if event in entry.events]


def restarted(store: Store, config: Config, left_by: str, now: dt.datetime) -> None:
    """The daemon started, and the lock file names a process that died holding it."""
    incident = Incident(
        AlertEvent.RESTARTED, "", now.date(), "",
        f"the last daemon on this store ({left_by}) stopped without shutting down: it was "
        "killed or crashed, or its machine went down",
        "the service's log (journalctl -u anniversary-bot) says why it stopped; "
        "'anniversary-bot status' shows what it left",
        key=f"restarted/{_stamp(now)}",
    )  # fmt: skip
    store.open_incident(incident.row(), _told(config, incident.event), _stamp(now), open=False)
    log.warning("%s", _line(incident.row()))


# --- delivery -----------------------------------------------------------------------------------


def deliver(store: Store, targets: Sequence[AlertTarget], now: dt.datetime) -> int:
    """Send every alert and "recovered" message still due; returns how many went out. One that
    cannot be delivered is logged and tried again after ``retry_delay``."""
    stamp = _stamp(now)
    by_position = {target.position: target for target in targets}
    delivered = 0
    for row in store.incidents_to_tell(stamp):
        errors: list[str] = []
        left: dict[str, list[int]] = {}
        for column, message, kind in (
            ("alert_to", alert_message(row), "failure"),
            ("recovery_to", recovered_message(row), "success"),
        ):
            left[column] = []
            for position in json.loads(row[column]):
                target = by_position.get(position)
                if target is None:  # the config no longer has that URL
                    continue
                error = send(target, *message, kind)
                if error is None:
                    delivered += 1
                else:
                    errors.append(f"{target.name}: {error}")
                    left[column].append(position)
        error_text = mask("; ".join(errors)) if errors else None
        next_try = None
        if error_text:
            next_try = _stamp(now + dt.timedelta(seconds=retry_delay(row["tries"] + 1)))
            log.warning(
                "alert %s not delivered (tried again after %s; posting goes on): %s",
                row["key"], next_try, error_text,
            )  # fmt: skip
        store.record_delivery(
            row["key"], left["alert_to"], left["recovery_to"], next_try, error_text, stamp
        )
    return delivered


def send(target: AlertTarget, title: str, body: str, kind: str = "info") -> str | None:
    """Send one message through Apprise; None when it went out, else why not (masked)."""
    import apprise  # only when there is something to send: it loads ~100 services' modules

    notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
    if not notifier.add(str(target.url)):
        return "not a URL Apprise knows (see Apprise's list of services)"
    try:
        sent = notifier.notify(body=mask(body), title=mask(title), notify_type=kind)
    except Exception as error:  # noqa: BLE001 - a service's bug must not stop the daily job
        return mask(f"{type(error).__name__}: {error}")
    return None if sent else "the service did not accept it, or could not be reached"


def alert_message(row: dict[str, Any]) -> tuple[str, str]:
    """The title and body of an incident's alert."""
    event = AlertEvent(row["event"])
    title = f"anniversary-bot: {event}: " + (
        f"{row['destination']}, {row['day']}" if row["destination"] else row["day"]
    )
    lines = _where(row) + [
        f"what: {WHAT[event]}",
        f"reason: {row['reason']}",
        f"fix: {row['fix']}",
    ]
    return title, "\n".join(lines)


def recovered_message(row: dict[str, Any]) -> tuple[str, str]:
    event = AlertEvent(row["event"])
    title = f"anniversary-bot: recovered: {row['destination']}, {row['day']}"
    lines = _where(row) + [f"was: {event}: {row['reason']}", f"now: {row['recovery_note']}"]
    return title, "\n".join(lines)


def _where(row: dict[str, Any]) -> list[str]:
    lines = [f"destination: {row['destination']}"] if row["destination"] else []
    lines.append(f"day: {row['day']}")
    if row["event_id"]:
        lines.append(f"event: {row['event_id']}")
    return lines


def _line(row: IncidentRow) -> str:
    where = ", ".join(x for x in (row.destination, row.day, row.event_id) if x)
    return shorten(f"alert: {row.event}: {where}: {row.reason}", 500)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


# --- alerts test --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestDelivery:
    """What ``alerts test`` got from one URL."""

    target: str
    error: str | None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def line(self) -> str:
        return f"{self.target}: " + (f"FAILED: {self.error}" if self.error else "sent")


def send_test(config: Config, now: dt.datetime) -> list[TestDelivery]:
    """A test message to every alert URL."""
    targets = alert_targets(config)
    if not targets:
        raise ConfigError(
            f"{config.path or 'the embedded default config'}: no alerts.urls: add one (see "
            "config.example.yaml)"
        )
    results = []
    for target in targets:
        body = (
            f"A test alert from anniversary-bot on {socket.gethostname()} "
            f"({config.path}), {_stamp(now)}. This URL is told about: "
            f"{', '.join(target.events)}."
        )
        results.append(TestDelivery(target.name, send(target, "anniversary-bot: test alert", body)))
    return results
