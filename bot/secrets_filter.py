"""Keep secret values out of every log line, whatever library writes it (urllib3 logs URL
paths at debug level, and a Discord webhook URL is itself a secret)."""

from __future__ import annotations

import logging

MASK = "********"
_known: set[str] = set()


def register(value: str) -> None:
    if not value or len(value) < 4:
        return
    _known.add(value)
    if value.startswith(("http://", "https://")):
        # libraries log a URL's path without its host: a webhook's path is its secret
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        for piece in (parts.path, parts.query):
            if len(piece) >= 8:
                _known.add(piece)


def mask(text: str) -> str:
    for secret in sorted(_known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            message = record.getMessage()
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
