"""The web application (Flask): its settings, its cookie, the headers of every answer, and
the path prefix behind a reverse proxy. The routes are ``bot.web.routes``; what a request
works with, ``bot.web.context``.

With no users configured the page runs on a loopback address only, everyone an operator, and
answers only requests addressed to this machine by name (no DNS rebinding).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from bot import clock
from bot.config import Config, read_secret
from bot.store import Store
from bot.web.auth import LoginThrottle
from bot.web.context import WebApp, check_csrf, close_store, masked_page, security_headers
from bot.web.settings import WebSettings

LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1"]


def create_app(
    config: Config,
    open_store: Callable[[], Store],
    settings: WebSettings | None = None,
    now: Callable[[], dt.datetime] = clock.now,
    monotonic: Callable[[], float] = time.monotonic,
) -> Flask:
    """The web application. ``now`` and ``monotonic`` are the clocks (tests move them)."""
    from bot.errors import ConfigError

    settings = settings or WebSettings.from_config(config.web)
    if settings.open and not settings.loopback:
        raise ConfigError(
            f"web.host {settings.host}: the page is reachable from other machines there, so it "
            "needs a login: add web.users (see config.example.yaml), or serve on 127.0.0.1"
        )
    app = Flask(__name__)
    key = str(read_secret(settings.secret_key)) if settings.secret_key else None
    app.secret_key = key or secrets.token_urlsafe(32)
    app.config.update(
        SESSION_COOKIE_NAME="anniversary_bot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
        APPLICATION_ROOT=settings.path_prefix or "/",
        MAX_CONTENT_LENGTH=1_000_000,  # a form is a post's text at most
        TRUSTED_HOSTS=LOCAL_HOSTS if settings.open else None,
    )
    app.extensions["anniversary_bot"] = WebApp(
        config, open_store, settings, now, LoginThrottle(monotonic)
    )
    if settings.path_prefix:
        app.wsgi_app = PathPrefix(app.wsgi_app, settings.path_prefix)  # type: ignore[method-assign]
    if settings.behind_proxy:
        # the client's address (the login throttle counts per address), scheme and host as the
        # proxy saw them; without this every login would come from the proxy's address
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1
        )
    app.before_request(check_csrf)
    app.teardown_appcontext(close_store)
    app.after_request(security_headers)
    app.after_request(masked_page)
    from bot.web import routes

    app.register_blueprint(routes.pages)
    return app


class PathPrefix:
    """Serve under ``prefix`` behind a reverse proxy that passes the full path on
    (``location /bot/ { proxy_pass http://127.0.0.1:8080; }``): links and the cookie carry it."""

    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["PATH_INFO"] = path[len(self.prefix) :] or "/"
        environ["SCRIPT_NAME"] = self.prefix
        return self.app(environ, start_response)
