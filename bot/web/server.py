"""Serving the web page: Werkzeug's threaded WSGI server on the configured address (each
request opens its own store connection)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from bot.config import Config
from bot.web.settings import WebSettings


def web_server(
    config: Config,
    store_path: str | Path | None,
    host: str | None = None,
    port: int | None = None,
) -> tuple[BaseWSGIServer, str]:
    """The server, bound and ready to ``serve_forever``, and the page's address. The store is
    opened (created and seeded if new) before the first request."""
    from bot.app import open_store
    from bot.web.app import create_app

    settings = WebSettings.from_config(config.web)
    changes: dict[str, Any] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    settings = dataclasses.replace(settings, **changes)
    open_store(store_path).close()
    app = create_app(config, lambda: open_store(store_path), settings)
    server = make_server(settings.host, settings.port, app, threaded=True)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    return server, f"http://{shown}:{server.server_port}{settings.path_prefix}/"
