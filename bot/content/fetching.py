"""Fetching from the web for curators, never at post time: one place for the User-Agent,
timeouts, retries, the size cap and the cache.

Every failure is a ``FetchError``: one line naming what was asked and what went wrong. A
response is cached (compressed, in the user cache directory) and a fetch of the same URL within
``cache_hours`` reads the cache instead. The clock is a parameter so tests never sleep.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot import clock
from bot.errors import BotError

if TYPE_CHECKING:
    import requests

    from bot.http import PlatformHTTP

DEFAULT_FEED_URL = "https://api.wikimedia.org"
DEFAULT_SUMMARY_URL = "https://{lang}.wikipedia.org/api/rest_v1"
MB = 1_000_000


class FetchError(BotError):
    """A fetch that failed: nothing was stored."""


@dataclass(frozen=True)
class FetchSettings:
    """The top-level ``content:`` keys of the config (see config.example.yaml)."""

    feed_url: str = DEFAULT_FEED_URL
    language: str = "en"
    summary_url: str = DEFAULT_SUMMARY_URL
    contact: str | None = None
    cache_hours: float = 24.0
    connect_timeout: float = 10.0
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 1.0
    max_bytes: int = 2 * MB  # a page (background)
    feed_max_bytes: int = 32 * MB  # one day of the feed (a real "all" day is 1-3 MB)
    max_excerpt_chars: int = 6000

    @classmethod
    def from_config(cls, config: Any, language: str | None = None) -> FetchSettings:
        """``language``: a destination's (``fetch onthisday --to DEST``), whose Wikipedia the
        feed is read from; else ``content.language``, else the config's ``language:``."""
        values = dict(getattr(config, "content", None) or {})
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        chosen = language or known.get("language") or getattr(config, "language", None)
        if chosen:
            # Wikipedia is per language, not per region: pt-BR reads pt.wikipedia.org
            known["language"] = chosen.replace("_", "-").split("-")[0].lower()
        return cls(**known)

    @property
    def user_agent(self) -> str:
        from bot.http import USER_AGENT

        # Wikimedia asks for a User-Agent that says who to contact
        return f"{USER_AGENT[:-1]}; {self.contact})" if self.contact else USER_AGENT


@dataclass
class Fetched:
    url: str
    body: bytes
    content_type: str
    fetched_at: dt.datetime
    from_cache: bool = False

    def json(self, what: str) -> Any:
        if "json" not in self.content_type and not self.body.lstrip().startswith((b"{", b"[")):
            kind = self.content_type.split(";")[0] or "no content type"
            raise FetchError(
                f"{what} answered with {kind}, not JSON: is the URL right? ({self.url})"
            )
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise FetchError(
                f"{what} answered with malformed JSON ({error}) ({self.url})"
            ) from None

    def text(self) -> str:
        charset = "utf-8"
        for piece in self.content_type.split(";")[1:]:
            key, _, value = piece.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def utc_now() -> dt.datetime:
    return clock.now()


class Fetcher:
    """GETs with a clear User-Agent, timeouts, retries (connection errors, 429, 5xx), a size
    cap (the body is streamed and the read stops past it) and a cache."""

    def __init__(
        self,
        settings: FetchSettings,
        cache_dir: Path | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        refresh: bool = False,
    ) -> None:
        from bot.paths import user_cache_dir

        self.settings = settings
        self.cache_dir = cache_dir if cache_dir is not None else user_cache_dir() / "fetch"
        self.clock = clock
        self.refresh = refresh
        self._http: PlatformHTTP | None = None

    @property
    def http(self) -> PlatformHTTP:
        if self._http is None:
            from bot.http import PlatformHTTP

            self._http = PlatformHTTP(
                "fetch",
                connect_timeout=self.settings.connect_timeout,
                read_timeout=self.settings.timeout,
                retries=self.settings.retries,
                backoff=self.settings.backoff,
                max_retry_after=60.0,
                headers={"User-Agent": self.settings.user_agent},
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the cache ---------------------------------------------------------------------

    def _cache_path(self, url: str) -> Path:
        return self.cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".z")

    def _read_cache(self, url: str) -> Fetched | None:
        if self.refresh or self.settings.cache_hours <= 0:
            return None
        path = self._cache_path(url)
        try:
            entry = json.loads(zlib.decompress(path.read_bytes()))
            fetched_at = dt.datetime.fromisoformat(entry["fetched_at"])
        except (OSError, ValueError, KeyError, zlib.error):
            return None
        if entry.get("url") != url:
            return None
        age = self.clock() - fetched_at
        if age < dt.timedelta(0) or age > dt.timedelta(hours=self.settings.cache_hours):
            return None
        body = entry["body"].encode("utf-8", "surrogateescape")
        return Fetched(url, body, entry["content_type"], fetched_at, from_cache=True)

    def _write_cache(self, fetched: Fetched) -> None:
        if self.settings.cache_hours <= 0:
            return
        entry = {
            "url": fetched.url,
            "fetched_at": fetched.fetched_at.isoformat(),
            "content_type": fetched.content_type,
            "body": fetched.body.decode("utf-8", "surrogateescape"),
        }
        path = self._cache_path(fetched.url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(zlib.compress(json.dumps(entry).encode(), 1))
            temporary.replace(path)
        except OSError:
            pass  # a cache that cannot be written only costs a fetch next time

    def prune_cache(self) -> int:
        """Remove entries older than ``cache_hours``; the number removed."""
        removed = 0
        limit = dt.timedelta(hours=self.settings.cache_hours)
        for path in self.cache_dir.glob("*.z") if self.cache_dir.is_dir() else ():
            try:
                entry = json.loads(zlib.decompress(path.read_bytes()))
                old = self.clock() - dt.datetime.fromisoformat(entry["fetched_at"]) > limit
            except (OSError, ValueError, KeyError, zlib.error):
                old = True
            if old:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    # --- fetching ----------------------------------------------------------------------

    def _request(self, url: str, what: str, host: str, accept: str) -> requests.Response:
        import requests
        from urllib3.exceptions import ReadTimeoutError

        from bot.http import RetryAfterTooLong

        http = self.http
        timeout = f"{host} did not answer within {self.settings.timeout:g} s (content.timeout)"
        try:
            response = http.session.request(
                "GET", url, timeout=http.timeout, stream=True, headers={"Accept": accept}
            )
        except RetryAfterTooLong as error:
            raise FetchError(
                f"{what}: {host} is rate limiting: it asks to wait {error.seconds:.0f} s; "
                "try again later"
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise FetchError(f"{what}: connecting to {host} timed out") from None
        except requests.exceptions.ReadTimeout:
            raise FetchError(f"{what}: {timeout}") from None
        except requests.exceptions.ConnectionError as error:
            reason = getattr(error.args[0], "reason", None) if error.args else None
            if isinstance(reason, ReadTimeoutError):  # a read timeout after the retries
                raise FetchError(f"{what}: {timeout}") from None
            raise FetchError(
                f"{what}: cannot connect to {host}: is the network up and the URL right?"
            ) from None
        except requests.exceptions.RequestException as error:
            raise FetchError(f"{what}: the request to {host} failed: {_reason(error)}") from None
        if response.status_code >= 400:
            try:
                reason = _error_reason(response)
            finally:
                response.close()
            raise FetchError(f"{what}: {host} answered {response.status_code}{reason}")
        return response

    def get(
        self, url: str, what: str, max_bytes: int | None = None, accept: str = "*/*"
    ) -> Fetched:
        """GET ``url`` (or read it from the cache); ``what`` names it in errors ("the
        on-this-day feed for 11-12")."""
        cached = self._read_cache(url)
        if cached is not None:
            return cached
        cap = max_bytes or self.settings.max_bytes
        host = urlsplit(url).netloc or url
        response = self._request(url, what, host, accept)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise FetchError(
                    f"{what}: {host} sends {_size(int(declared))}, over the {_size(cap)} cap: "
                    "not fetched"
                )
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > cap:
                        raise FetchError(
                            f"{what}: {host} sent more than the {_size(cap)} cap: stopped reading, "
                            "nothing stored"
                        )
                    chunks.append(chunk)
            except FetchError:
                raise
            except Exception as error:  # requests wraps socket timeouts and resets differently
                raise FetchError(f"{what}: reading from {host} failed: {_reason(error)}") from None
        finally:
            response.close()
        fetched = Fetched(
            response.url or url,
            b"".join(chunks),
            # one value even where a server sends the header twice ("a, a")
            response.headers.get("Content-Type", "").split(",")[0].strip(),
            self.clock(),
        )
        fetched.url = url  # the cache is keyed by what was asked
        self._write_cache(fetched)
        return fetched


def _error_reason(response: requests.Response) -> str:
    """The server's own words for an error, from at most 64 kB of its answer."""
    try:
        raw = response.raw.read(64 * 1024, decode_content=True) or b""
        data = json.loads(raw)
    except Exception:
        data = None
    message = ""
    if isinstance(data, dict):
        for key in ("detail", "message", "error", "title"):
            if isinstance(data.get(key), str) and data[key].strip():
                message = data[key]
                break
    message = " ".join((message or response.reason or "").split())[:200]
    return f": {message}" if message else ""


def _reason(error: Exception) -> str:
    text = str(error)
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return "the server stopped answering (timed out)"
    return type(error).__name__


def _size(size: int) -> str:
    if size >= 10 * MB:
        return f"{size / MB:.0f} MB"
    if size >= MB:
        return f"{size / MB:.0f} MB" if size % MB == 0 else f"{size / MB:.1f} MB"
    return f"{size / 1000:.0f} kB"
