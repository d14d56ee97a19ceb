"""The pages and their forms. Each action is the library call the CLI command makes:

| page action | the CLI's |
|---|---|
| approve, skip, edit a post, regenerate | ``drafts approve/skip/edit/regenerate`` (``bot.drafts.Drafts``) |
| mark a post sent, retry a destination | ``retry --mark-sent KEY``, ``retry --to DEST`` (``bot.operations.retry``) |
| opt a member out, remove a member, take one off a list, add one | ``mentions ...`` (``MentionAdmin``) |
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, abort, flash, g, request
from werkzeug.wrappers import Response

from bot.web.context import (
    CALENDAR_DAYS,
    back,
    change,
    current_user,
    log_in,
    login_attempt,
    page,
    parse_day,
    record,
    requires,
    store,
    today,
    web,
)
from bot.web.settings import Role

pages = Blueprint("pages", __name__)
# a path of this site to return to after the login: "/", no second slash, printable characters
# and no backslash (a browser reads "/\\host" as "//host", another site)
LOCAL_PATH = re.compile(r"/(?!/)[!-\[\]-~]*")


# --- logging in ---------------------------------------------------------------------------------


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int, dict[str, str]]:
    target = request.values.get("next", "")
    if not LOCAL_PATH.fullmatch(target):
        target = ""  # only a page of this site: never a redirect elsewhere
    if web().settings.open or (request.method == "GET" and current_user() is not None):
        return back("pages.calendar")
    if request.method == "GET":
        return page("login.j2", target=target, name="")
    name = request.form.get("name", "")[:64]
    user, wait = login_attempt(name, request.form.get("password", ""))
    if user is None:
        if wait > 0:
            message = f"too many failed logins: try again in {int(wait + 0.999)} s"
            flash(message, "error")
            html = page("login.j2", target=target, name=name)
            return html, 429, {"Retry-After": str(int(wait + 0.999))}
        flash("wrong name or password", "error")
        return page("login.j2", target=target, name=name), 401, {}
    log_in(user)
    if target:  # a path of this application: behind the proxy, under its prefix
        from flask import redirect

        return redirect(request.script_root + target, 303)
    return back("pages.calendar")


@pages.route("/logout", methods=["POST"])
def logout() -> Response:
    from flask import session

    session.clear()
    return back("pages.login")


# --- the calendar and a day ---------------------------------------------------------------------


@pages.route("/")
@requires(Role.CURATOR)
def calendar() -> str:
    from bot.errors import BotError
    from bot.model.dates import year_days
    from bot.operations.review import DAY_STATE_LABELS, calendar_days
    from bot.preview.html import month_grids

    first, count = today(), CALENDAR_DAYS
    year = request.args.get("year", "")
    if year:
        try:
            first, count = year_days(int(year) if year.isdigit() else -1, "year")
        except BotError as error:
            flash(str(error), "error")
            first, count = today(), CALENDAR_DAYS
    days = calendar_days(store(), web().config, first, count, today())
    by_day = {d.day: d for d in days}
    return page(
        "calendar.j2",
        months=month_grids([d.view for d in days]),
        states=by_day,
        labels=DAY_STATE_LABELS,
        first=first,
        last=days[-1].day,
        year=today().year,
        weekdays=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    )


@pages.route("/day/<day_text>")
@requires(Role.CURATOR)
def day(day_text: str) -> str:
    from bot.operations.review import DAY_STATE_LABELS, one_day
    from bot.preview.html import STATE_LABELS

    day = parse_day(day_text)
    found = one_day(store(), web().config, day, today())
    return page(
        "day.j2",
        day=found,
        view=found.view,
        labels=STATE_LABELS,
        day_labels=DAY_STATE_LABELS,
        audit=store().audit_rows(day),
        previous=day - dt.timedelta(days=1),
        following=day + dt.timedelta(days=1),
        operator=g.user.role.allows(Role.OPERATOR),
    )


def _draft_id(day: dt.date, destination: str, event_id: str) -> int:
    from bot.operations.review import thread_draft

    return thread_draft(store(), web().config, destination, day, event_id).id


@pages.route("/day/<day_text>/<destination>/<event_id>/approve", methods=["POST"])
@requires(Role.CURATOR)
def approve(day_text: str, destination: str, event_id: str) -> Response:
    from bot.drafts import Drafts

    day = parse_day(day_text)
    with change("approved", event_id, "", day, destination):
        draft_id = _draft_id(day, destination, event_id)
        _draft, note = Drafts(store()).approve(web().config, draft_id)
        if note:
            flash(note, "note")
    return back("pages.day", day_text=day_text)


@pages.route("/day/<day_text>/<destination>/<event_id>/skip", methods=["POST"])
@requires(Role.CURATOR)
def skip(day_text: str, destination: str, event_id: str) -> Response:
    from bot.drafts import Drafts

    day = parse_day(day_text)
    reason = " ".join(request.form.get("reason", "").split())[:500]
    with change("skipped", event_id, reason, day, destination):
        Drafts(store()).skip(_draft_id(day, destination, event_id), reason)
    return back("pages.day", day_text=day_text)


@pages.route("/day/<day_text>/<destination>/<event_id>/regenerate", methods=["POST"])
@requires(Role.CURATOR)
def regenerate(day_text: str, destination: str, event_id: str) -> Response:
    from bot.drafts import Drafts

    day = parse_day(day_text)
    with change("regenerated", event_id, "rendered anew from the event", day, destination):
        Drafts(store()).regenerate(web().config, _draft_id(day, destination, event_id))
    return back("pages.day", day_text=day_text)


@pages.route("/day/<day_text>/<destination>/<event_id>/edit", methods=["GET", "POST"])
@requires(Role.CURATOR)
def edit(day_text: str, destination: str, event_id: str) -> Response | str:
    from bot.drafts import Drafts
    from bot.errors import BotError
    from bot.operations.draft_review import edit_target

    day = parse_day(day_text)
    try:
        number = int(request.values.get("post", "1"))
    except ValueError:
        abort(400, "post: a number")
    drafts = Drafts(store())
    if request.method == "POST":
        text = request.form.get("text", "").replace("\r\n", "\n")
        with change("edited", event_id, f"post {number}", day, destination):
            _draft, note = drafts.edit(_draft_id(day, destination, event_id), number, text)
            flash(f"post {number} {note}", "note")
        return back("pages.edit", day_text=day_text, destination=destination,
                    event_id=event_id, post=number)  # fmt: skip
    try:
        draft = drafts.get(_draft_id(day, destination, event_id))
        target = edit_target(draft, number, False)
        diff = drafts.diff(web().config, draft.id)
    except BotError as error:
        flash(str(error), "error")
        return back("pages.day", day_text=day_text)
    return page("edit.j2", day=day, destination=destination, event_id=event_id, draft=draft,
                number=number, text=target.text, diff=diff.splitlines(),
                posts=len(draft.thread().posts))  # fmt: skip


# --- an operator's ------------------------------------------------------------------------------


@pages.route("/day/<day_text>/mark-sent", methods=["POST"])
@requires(Role.OPERATOR)
def mark_sent(day_text: str) -> Response:
    from bot.operations.retry import retry

    day = parse_day(day_text)
    key = request.form.get("key", "")
    with change("marked sent", key, "confirmed by hand", day):
        for _step in retry(store(), web().config, mark_sent=(key,)):
            pass
    return back("pages.day", day_text=day_text)


@pages.route("/day/<day_text>/<destination>/retry", methods=["POST"])
@requires(Role.OPERATOR)
def retry_destination(day_text: str, destination: str) -> Response:
    from bot.operations.retry import retry

    day = parse_day(day_text)
    with change("retried", destination, "", day, destination):
        web().config.destination(destination)
        for step in retry(store(), web().config, destination):
            flash(step.summary(), "error" if step.failed else "note")
    return back("pages.day", day_text=day_text)


# --- mentions -----------------------------------------------------------------------------------


@pages.route("/mentions")
@requires(Role.CURATOR)
def mentions() -> str:
    from bot.events.mentions import PLATFORMS, MentionDirectory

    config_lists = web().config.lists
    directory = MentionDirectory.from_store(store(), config_lists)
    in_config = {x["name"] for x in config_lists}
    names = {m["id"]: m["name"] for m in store().members()}
    lists = [
        {**x, "in_config": x["name"] in in_config, "size": len(directory.expand([x["name"]], []))}
        for x in [
            *config_lists,
            *(x for x in store().mention_lists() if x["name"] not in in_config),
        ]
    ]
    return page("mentions.j2", members=store().members(), lists=lists, names=names,
                platforms=PLATFORMS)  # fmt: skip


def _member_form() -> dict[str, Any]:
    """A member's fields as the form sends them; an empty handle removes that handle (as
    ``--handle PLATFORM=`` does)."""
    from bot.events.mentions import PLATFORMS

    tags = request.form.get("tags", "")
    return {
        "name": request.form.get("name", "").strip(),
        "handles": {p: request.form.get(f"handle_{p}", "").strip() for p in PLATFORMS},
        "tags": [t.strip() for t in tags.split(",") if t.strip()],
    }


@pages.route("/mentions/members", methods=["POST"])
@requires(Role.CURATOR)
def add_member() -> Response:
    from bot.events.mentions import MentionAdmin

    data = {"id": request.form.get("id", "").strip(), **_member_form()}
    data["handles"] = {p: h for p, h in data["handles"].items() if h}
    with change("added member", data["id"], data["name"]):
        MentionAdmin(store()).add_member(data, force=request.form.get("force") == "yes")
    return back("pages.mentions")


@pages.route("/mentions/members/<member>", methods=["GET", "POST"])
@requires(Role.CURATOR)
def edit_member(member: str) -> Response | str:
    from bot.errors import BotError
    from bot.events.mentions import PLATFORMS, MentionAdmin

    admin = MentionAdmin(store())
    if request.method == "POST":
        changes = _member_form()
        if not changes["name"]:
            del changes["name"]
        with change("edited member", member):
            admin.edit_member(member, changes, force=request.form.get("force") == "yes")
        return back("pages.edit_member", member=member)
    try:
        found = next(m for m in store().members() if m["id"] == admin.resolve(member).id)
    except BotError:
        abort(404)
    return page("member.j2", member=found, platforms=PLATFORMS)


@pages.route("/mentions/members/<member>/optout", methods=["POST"])
@requires(Role.CURATOR)
def opt_out(member: str) -> Response:
    from bot.events.mentions import MentionAdmin

    with change("opted out", member):
        MentionAdmin(store()).opt_out(member, today().isoformat())
    return back("pages.mentions")


@pages.route("/mentions/members/<member>/remove", methods=["POST"])
@requires(Role.CURATOR)
def remove_member(member: str) -> Response:
    from bot.events.mentions import MentionAdmin

    force = request.form.get("force") == "yes"
    with change("removed member", member, "and out of its lists and events" if force else ""):
        MentionAdmin(store()).remove_member(member, force=force)
    return back("pages.mentions")


@pages.route("/mentions/lists/<name>/remove", methods=["POST"])
@requires(Role.CURATOR)
def list_remove(name: str) -> Response:
    from bot.events.mentions import MentionAdmin

    member = request.form.get("member", "")
    with change("took off list", name, member):
        MentionAdmin(store()).remove_from_list(name, [member])
    return back("pages.mentions")


@pages.route("/mentions/lists/<name>/add", methods=["POST"])
@requires(Role.CURATOR)
def list_add(name: str) -> Response:
    from bot.events.mentions import MentionAdmin

    member = request.form.get("member", "").strip()
    with change("added to list", name, member):
        MentionAdmin(store()).add_to_list(name, [member])
    return back("pages.mentions")


@pages.route("/changes")
@requires(Role.CURATOR)
def changes() -> str:
    return page("changes.j2", audit=store().audit_rows())


# --- events -------------------------------------------------------------------------------------

EVENTS_SHOWN = 100


@pages.route("/events")
@requires(Role.CURATOR)
def events() -> str:
    from bot.content.promote import candidates
    from bot.model.dates import parse_date

    search = request.args.get("q", "").strip()[:200] or None
    date_text = request.args.get("date", "").strip()[:12]
    show = "candidates" if request.args.get("show") == "candidates" else "curated"
    month = day = None
    if date_text:
        try:
            parsed = parse_date(date_text)
        except ValueError as error:
            flash(f"date: {error}", "error")
        else:
            month, day = parsed.month, parsed.day
    if show == "candidates":
        found = candidates(store(), month, day, search, EVENTS_SHOWN)
    else:
        found = [
            e
            for e in store().find_events(month, day, None, search, EVENTS_SHOWN * 5)
            if e.origin == "curated"
        ][:EVENTS_SHOWN]
    return page("events.j2", events=found, q=search or "", date=date_text, show=show,
                limit=EVENTS_SHOWN)  # fmt: skip


@pages.route("/events/<event_id>", methods=["GET", "POST"])
@requires(Role.CURATOR)
def event(event_id: str) -> str | tuple[str, int]:
    from bot.errors import BotError
    from bot.operations.event_admin import save_edited_event
    from bot.operations.listings import event_document

    if request.method == "POST":
        text = request.form.get("text", "").replace("\r\n", "\n")
        try:
            saved = save_edited_event(store(), event_id, text)
        except BotError as error:  # shown beside the text as it was typed: nothing stored
            return page("event.j2", event_id=event_id, text=text, error=str(error)), 400
        record("edited event", saved.id)
    try:
        text = event_document(store(), event_id)
    except BotError:
        abort(404)
    return page("event.j2", event_id=event_id, text=text, error=None)


@pages.route("/events/<event_id>/promote", methods=["POST"])
@requires(Role.CURATOR)
def promote(event_id: str) -> Response:
    from bot.content.promote import promote as promote_events

    with change("promoted", event_id):
        promote_events(store(), [event_id])
    return back("pages.event", event_id=event_id)
