"""HTTP done once: one session per adapter, timeouts, a User-Agent, and retries with backoff
for connection errors, 429 and 5xx that honour Retry-After, with a cap.

The retry policy is urllib3's ``Retry`` (what requests itself is built on) rather than a
hand-written loop. A Retry-After longer than ``max_retry_after`` is not slept through: the
post is recorded as failed with that wait as its next retry, and the process goes on.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from bot import __version__
from bot.posters.base import PostError

USER_AGENT = f"anniversary-bot/{__version__} (+https://pypi.org/project/anniversary-bot/)"
log = logging.getLogger("bot.http")


class RetryAfterTooLong(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class CappedRetry(Retry):
    """urllib3's Retry, refusing to sleep longer than ``max_retry_after`` seconds."""

    max_retry_after: float = 120.0

    def new(self, **kw: Any) -> CappedRetry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def sleep_for_retry(self, response=None) -> bool:
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is not None and retry_after > self.max_retry_after:
            raise RetryAfterTooLong(retry_after)
        return super().sleep_for_retry(response)


class PlatformHTTP:
    def __init__(
        self,
        platform: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 120.0,
        retry_reads: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.platform = platform
        self.timeout = (connect_timeout, read_timeout)
        retry = CappedRetry(
            total=retries,
            connect=retries,
            # a read that timed out may have been accepted: only platforms that de-duplicate
            # (an idempotency key, a transaction id) may send it again
            read=retries if retry_reads else 0,
            status=retries,
            other=0,
            backoff_factor=backoff,
            backoff_max=60,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=None,  # POST too: the 5xx/429 answers mean "not accepted"
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = max_retry_after
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(headers or {})
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        host = urlsplit(url).netloc or url  # never the path: a webhook's path is its secret
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except RetryAfterTooLong as error:
            raise PostError(
                f"{self.platform} ({host}) is rate limiting: it asks to wait {error.seconds:.0f} s",
                retryable=True,
                retry_after=error.seconds,
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise PostError(f"{self.platform}: connecting to {host} timed out") from None
        except requests.exceptions.ReadTimeout:
            raise PostError(
                f"{self.platform}: {host} did not answer within {self.timeout[1]:g} s"
            ) from None
        except requests.exceptions.ConnectionError as error:
            # with a retry policy, urllib3 wraps a read timeout as a connection error
            reason = getattr(error.args[0] if error.args else None, "reason", None)
            if isinstance(reason, ReadTimeoutError):
                raise PostError(
                    f"{self.platform}: {host} did not answer within {self.timeout[1]:g} s"
                ) from None
            raise PostError(
                f"{self.platform}: cannot connect to {host}: is the network up and the URL right?"
            ) from None
        except requests.exceptions.RequestException as error:
            raise PostError(
                f"{self.platform}: request to {host} failed: {type(error).__name__}"
            ) from None
        if response.status_code >= 400:
            raise PostError(
                f"{self.platform} ({host}) answered {response.status_code}{_reason(response)}",
                retryable=response.status_code in (408, 425, 429) or response.status_code >= 500,
                status=response.status_code,
                retry_after=_retry_after(response),
                response=response,
            )
        return response

    def close(self) -> None:
        self.session.close()


def _reason(response: requests.Response) -> str:
    """The platform's own message, on one line, short."""
    message = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "errors", "message", "error_description", "detail"):
            if data.get(key):
                value = data[key]
                message = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
                break
    if not message:
        message = response.reason or ""
    message = " ".join(message.split())[:200]
    hints = {401: " (check the token or API key)", 403: " (the account lacks permission)"}
    return (f": {message}" if message else "") + hints.get(response.status_code, "")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
