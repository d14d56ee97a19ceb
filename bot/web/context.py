"""What a request works with: the application's config and store, the session (its user, its
CSRF token), the role a route needs, and the change it records.

Security, for every route: a session in a signed cookie (Flask's, HttpOnly, SameSite=Lax,
Secure when ``secure_cookies``); no session -> the login page; a role below the route's ->
403; a form without the session's CSRF token -> 403; logins slowed by ``LoginThrottle``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import abort, flash, g, get_flashed_messages, redirect, request, session, url_for
from werkzeug.wrappers import Response

from bot.config import Config
from bot.errors import BotError
from bot.secrets_filter import mask
from bot.store import Store
from bot.web.auth import LoginThrottle, check_login
from bot.web.settings import LOCAL_USER, Role, WebSettings, WebUser

F = TypeVar("F", bound=Callable[..., Any])
CALENDAR_DAYS = 30


@dataclass(frozen=True)
class WebApp:
    """What the routes work on: the config (read once), a way to open the store (a connection
    per request: SQLite connections stay in their thread), the settings and the clocks."""

    config: Config
    open_store: Callable[[], Store]
    settings: WebSettings
    now: Callable[[], dt.datetime]
    throttle: LoginThrottle


def web() -> WebApp:
    from flask import current_app

    found: WebApp = current_app.extensions["anniversary_bot"]
    return found


def store() -> Store:
    """This request's store connection."""
    if "store" not in g:
        g.store = web().open_store()
    opened: Store = g.store
    return opened


def close_store(_error: BaseException | None) -> None:
    opened = g.pop("store", None)
    if opened is not None:
        opened.close()


def security_headers(response: Response) -> Response:
    # the pages run no script and load nothing from elsewhere; no framing (clickjacking)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def masked_page(response: Response) -> Response:
    """A page through the redactor, as every line the CLI prints: a secret a person typed into
    a reason or an event, or a library's message quoting one, never leaves the process."""
    if response.mimetype == "text/html" and not response.direct_passthrough:
        response.set_data(mask(response.get_data(as_text=True)))
    return response


# --- the session ------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, every form's hidden ``csrf_token`` field."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), str(expected).encode()):
            abort(403, "the form is out of date or came from another site: reload the page")


def current_user() -> WebUser | None:
    """Whoever this session logged in as (``LOCAL_USER`` with no users configured)."""
    app = web()
    if app.settings.open:
        return LOCAL_USER
    name = session.get("user")
    since = session.get("since")
    if not isinstance(name, str) or not isinstance(since, (int, float)):
        return None
    user = app.settings.users.get(name)
    if user is None or str(user.role) != session.get("role"):
        return None  # removed from the config, or given another role, since
    if app.now().timestamp() - since > app.settings.session_hours * 3600:
        return None
    return user


def log_in(user: WebUser) -> None:
    session.clear()  # a new session at login: nothing from before it carries over
    session.permanent = True
    session["user"] = user.name
    session["role"] = str(user.role)
    session["since"] = web().now().timestamp()
    csrf_token()


def requires(role: Role) -> Callable[[F], F]:
    """A route for ``role`` and above: no session -> the login page, a lower role -> 403."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
            if not user.role.allows(role):
                abort(403, f"{user.name} is a {user.role}: this needs an {role}")
            g.user = user
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def login_attempt(name: str, password: str) -> tuple[WebUser | None, float]:
    """The user, or None and the seconds to wait before the next try (0: try again now)."""
    app = web()
    keys = (f"user:{name.lower()}", f"address:{request.remote_addr}")
    wait = app.throttle.wait(*keys)
    if wait > 0:
        return None, wait
    user = check_login(app.settings, name, password)
    if user is None:
        app.throttle.failed(*keys)
        return None, app.throttle.wait(*keys)
    app.throttle.succeeded(*keys)
    return user, 0.0


# --- doing something --------------------------------------------------------------------------


@contextmanager
def change(
    action: str,
    target: str,
    detail: str = "",
    day: dt.date | None = None,
    destination: str | None = None,
) -> Iterator[None]:
    """Run a library call; record it (who, when, what) when it succeeded, flash its error
    (one line, as the CLI prints it) when it did not."""
    try:
        yield
    except BotError as error:
        flash(str(error), "error")
        return
    record(action, target, detail, day, destination)


def record(
    action: str,
    target: str,
    detail: str = "",
    day: dt.date | None = None,
    destination: str | None = None,
) -> None:
    """Keep the change in the store (who, when, what) and tell the person it is done."""
    user: WebUser = g.user
    at = web().now().astimezone(dt.UTC).isoformat(timespec="seconds")
    detail = mask(detail)  # what a person typed may hold a secret: the store never does
    store().record_change(at, user.name, str(user.role), action, target, detail, day, destination)
    flash(f"{action}: {target}" + (f": {detail}" if detail else ""), "done")


def today() -> dt.date:
    from bot.clock import zone

    app = web()
    return app.now().astimezone(zone(app.config.timezone)).date()


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        abort(404)


def page(template: str, **values: Any) -> str:
    """A page of ``templates/web/``, drawn with the HTML preview's environment (its styles and
    thread macros)."""
    from bot.preview.html import site_environment

    config = web().config
    flashed = cast(list[tuple[str, str]], get_flashed_messages(with_categories=True))
    env = site_environment(str(config.templates) if config.templates else None)
    return env.get_template(f"web/{template}").render(
        url_for=url_for,
        csrf_token=csrf_token(),
        user=g.get("user"),
        open=web().settings.open,
        messages=flashed,
        **values,
    )


def back(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)
