"""HTTP done once: one session per adapter, timeouts, a User-Agent, and retries with backoff
for connection errors, 429 and 5xx that honour Retry-After, with a cap.

The retry policy is urllib3's ``Retry`` (what requests itself is built on) rather than a
hand-written loop. A Retry-After longer than ``max_retry_after`` is not slept through: the
post is recorded as failed with that wait as its next retry, and the process goes on.

A request that changes something (POST, PUT, ...) is never sent again by this layer once it may
have reached the server: a read timeout, a connection dropped after sending and a 5xx (a gateway
may answer 504 after the platform kept the post) are not retried here, unless the platform drops
repeats (``resend_safe``: an idempotency key or transaction id). Such an answer is reported as
``Outcome.UNKNOWN`` so that the publish log looks the post up, or asks a person, before any
resend. Connection errors before anything was sent, and 429, are retried.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from bot import __version__
from bot.errors import Outcome, PostError
from bot.secrets_filter import PROGRESS_LOGGER, safe_host, shorten

USER_AGENT = f"anniversary-bot/{__version__} (+https://pypi.org/project/anniversary-bot/)"
log = logging.getLogger("bot.http")
# a line per retry, so that a person watching ``post`` sees why it waits
progress = logging.getLogger(PROGRESS_LOGGER)


class RetryAfterTooLong(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CappedRetry(Retry):
    """urllib3's Retry, refusing to sleep longer than ``max_retry_after`` seconds, and never
    repeating a request that changes something after a 5xx unless ``resend_safe``."""

    max_retry_after: float = 120.0
    resend_safe: bool = False
    platform: str = ""  # named in the progress line of each retry

    def new(self, **kw: Any) -> CappedRetry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        retry.resend_safe = self.resend_safe
        retry.platform = self.platform
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        retry_after = self.get_retry_after(response) if response is not None else None
        if retry_after is None or retry_after <= self.max_retry_after:  # else: not retried
            wait = retry_after if retry_after is not None else self.get_backoff_time()
            last = self.history[-1] if self.history else None
            if response is not None:
                why = f"answered {response.status}"
            elif last is not None and last.error is not None:
                why = f"connection failed ({type(last.error).__name__})"
            else:
                why = "no answer"
            progress.info("%s: %s: retry %d in %.1f s", self.platform, why, len(self.history), wait)
        super().sleep(response)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code >= 500 and method.upper() not in SAFE_METHODS and not self.resend_safe:
            return False  # the server may have acted on it before its gateway gave up
        return super().is_retry(method, status_code, has_retry_after)

    def sleep_for_retry(self, response: BaseHTTPResponse) -> bool:
        retry_after = self.get_retry_after(response)
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
        retry.resend_safe = retry_reads
        retry.platform = platform
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(headers or {})
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        host = safe_host(url)  # never the path (a webhook's path is its secret) nor user:password
        # a request that changes something and may have reached the server: its outcome is
        # unknown when no readable answer came back
        unsafe = method.upper() not in SAFE_METHODS
        maybe = Outcome.UNKNOWN if unsafe else Outcome.NOT_SENT
        no_answer = f"{self.platform}: {host} did not answer within {self.timeout[1]:g} s"
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
            raise PostError(no_answer, outcome=maybe) from None
        except requests.exceptions.ConnectionError as error:
            reason = getattr(error.args[0] if error.args else None, "reason", None)
            if isinstance(reason, ReadTimeoutError):
                # with a retry policy, urllib3 wraps a read timeout as a connection error
                raise PostError(no_answer, outcome=maybe) from None
            if isinstance(reason, ConnectTimeoutError | NameResolutionError):
                # refused, unreachable or no such host: nothing was sent
                raise PostError(
                    f"{self.platform}: cannot connect to {host}: is the network up and the URL "
                    "right?"
                ) from None
            raise PostError(
                f"{self.platform}: the connection to {host} broke"
                + (" before an answer came: the post may have been received" if unsafe else ""),
                outcome=maybe,
            ) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
        ) as error:
            raise PostError(
                f"{self.platform}: cannot send to {host}: {type(error).__name__}", retryable=False
            ) from None
        except requests.exceptions.RequestException as error:
            raise PostError(
                f"{self.platform}: request to {host} failed: {type(error).__name__}", outcome=maybe
            ) from None
        if response.status_code >= 400:
            server_error = response.status_code >= 500
            raise PostError(
                f"{self.platform} ({host}) answered {response.status_code}{_reason(response)}",
                retryable=response.status_code in (408, 425, 429) or server_error,
                status=response.status_code,
                retry_after=_retry_after(response),
                response=response,
                outcome=maybe if server_error else Outcome.NOT_SENT,
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
    # masked before it is cut: a cut through a token leaves half of it, which no longer matches
    message = shorten(message, 200)
    hints = {401: " (check the token or API key)", 403: " (the account lacks permission)"}
    return (f": {message}" if message else "") + hints.get(response.status_code, "")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
