"""The heartbeat: after each day's job the destination's URL (its own ``heartbeat:``, else the
global one) is pinged, so that an external monitor notices a dead host by the pings that stop.

The push convention of healthchecks.io and Uptime Kuma: a GET of the URL when the day went
well; when it did not, a POST of a short text to the URL with ``/fail`` appended
(healthchecks.io, https://healthchecks.io/docs/http_api/), or for an Uptime Kuma push URL
(``/api/push/TOKEN``) a GET with ``status=down`` and ``msg`` (its server/routers/api-router.js
reads ``status``, ``msg`` and ``ping`` from the query). One ping per destination and day for
each result: the sweeps every five minutes do not ping again, but a day that failed and then
went out pings again, with the good news.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.config import Config, Destination, resolve_secret
from bot.errors import PostError
from bot.http import PlatformHTTP
from bot.publishing.scheduler import DestinationRun, RunOutcome
from bot.secrets_filter import Secret, shorten
from bot.store import Store

log = logging.getLogger("bot.operations.heartbeat")
MAX_BODY = 1000  # characters: what a monitor shows beside the failed ping
OK, FAIL = "ok", "fail"


def heartbeat_urls(config: Config) -> dict[str, Secret]:
    """Each destination's heartbeat URL with its secret read (its own, else the global one);
    a variable that is not set is a ConfigError naming it."""
    base = config.path.parent if config.path else Path.cwd()
    where = f"{config.path or 'the config'}"
    urls = {}
    shared = None
    if config.heartbeat is not None:
        shared = resolve_secret(config.heartbeat, f"{where}: heartbeat", base)
    for name, destination in config.destinations.items():
        if destination.heartbeat is not None:
            urls[name] = resolve_secret(
                destination.heartbeat, f"{where}: destinations.{name}.heartbeat", base
            )
        elif shared is not None:
            urls[name] = shared
    return urls


def beat(
    store: Store, url: str, destination: Destination, run: DestinationRun, now: dt.datetime
) -> bool:
    """Ping ``url`` for the day's job ``run`` unless this result was pinged already; True when
    a ping went out. A ping that fails is logged and sent again after the next run."""
    if run.outcome == RunOutcome.NOT_DUE:
        return False
    state = FAIL if run.failed else OK
    day = run.day.isoformat()
    if store.last_heartbeat(destination.name, day) == state:
        return False
    body = shorten(run.message, MAX_BODY)
    method, target, data = ok_request(url) if state == OK else fail_request(url, body)
    headers = {"Content-Type": "text/plain; charset=utf-8"} if data else {}
    http = PlatformHTTP("heartbeat", connect_timeout=5, read_timeout=10, retries=2)
    try:
        http.request(method, target, data=data, headers=headers)
    except PostError as error:
        log.warning(
            "%s: heartbeat not sent (sent again after the next run): %s", destination.name, error
        )
        return False
    finally:
        http.close()
    store.record_heartbeat(
        destination.name, day, state, now.astimezone(dt.UTC).isoformat(timespec="seconds")
    )
    return True


def ok_request(url: str) -> tuple[str, str, bytes | None]:
    """The request that reports a good day: a GET of the URL as given."""
    return "GET", url, None


def fail_request(url: str, body: str) -> tuple[str, str, bytes | None]:
    """The request that reports a failed day: Uptime Kuma's ``status=down``, else ``/fail``."""
    parts = urlsplit(url)
    if "/api/push/" in parts.path:
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in ("status", "msg")
        ]
        query += [("status", "down"), ("msg", body[:200])]
        return "GET", urlunsplit(parts._replace(query=urlencode(query))), None
    path = parts.path.rstrip("/") + "/fail"
    return "POST", urlunsplit(parts._replace(path=path)), body.encode("utf-8")
