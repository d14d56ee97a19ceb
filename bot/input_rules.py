"""The rules every way in applies to what becomes an event: event files (``bot.events.schema``), the
JSON-lines data set (``bot.events.loader``, which skips the general validator for speed) and the
on-this-day feed. Kept free of pydantic so the fast paths can use them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# the longest text one field may hold (the reference thread's excerpt is 74,000 characters)
MAX_TEXT_CHARS = 200_000
MAX_URL_CHARS = 2048
# what SQLite stores in an INTEGER column
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# the years the date code supports (bot.model.dates: at most four digits, negative for BC)
MIN_YEAR, MAX_YEAR = -9999, 9999

# printable ASCII without space: the common case, checked without looking at each character
# (a host must follow the "//": bot.urls.safe_url cannot print a link without one)
PLAIN_URL = re.compile(r"https?://(?![/?#])[!-~]+\Z")
_SCHEME = re.compile(r"https?://[^/?#]")


def _invisible(char: str) -> bool:
    # whitespace, controls, format characters (zero-width, bidi): they end or disguise a link
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp",
                                                            "Cs", "Co", "Cn")  # fmt: skip


def url_problem(url: Any) -> str | None:
    """Why ``url`` is refused as a URL in event data; None when it is fine.

    Only http(s), at most ``MAX_URL_CHARS``, no whitespace, control or invisible characters.
    Markup characters (``( ) [ ] < > | "``) and the host are not judged here: the renderer
    (``bot.urls.safe_url``) percent-encodes them wherever a URL is printed, and the shared
    data set has links with ``"`` in the fragment and a few with a mangled host.
    """
    if type(url) is not str:
        return f"expected an http(s) URL, got {url!r}"
    if len(url) > MAX_URL_CHARS:
        return f"a URL of {len(url):,} characters, over the limit of {MAX_URL_CHARS:,}"
    if PLAIN_URL.match(url):
        return None
    if not _SCHEME.match(url):
        return f"expected an http(s) URL, got {url[:100]!r}"
    bad = next((c for c in url if _invisible(c)), None)
    if bad is not None:
        return (
            f"a URL may not contain {bad!r} (U+{ord(bad):04X}): percent-encode it or remove "
            f"it, got {url[:100]!r}"
        )
    return None


def text_problem(value: Any, required: bool = True) -> str | None:
    """Why ``value`` is refused as the text of a field; None when it is fine."""
    if type(value) is not str:
        return f"expected text, got {value!r}"[:200]
    if required and not value.strip():
        return "must not be empty"
    if len(value) > MAX_TEXT_CHARS:
        return f"{len(value):,} characters, over the limit of {MAX_TEXT_CHARS:,}"
    return None
