"""The rules every way in applies to what becomes an event: event files (``bot.events.schema``), the
JSON-lines data set (``bot.events.loader``, which skips the general validator for speed) and the
on-this-day feed. Kept free of pydantic so the fast paths can use them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# the years the date code supports (its home is bot.model.dates; named here with the other
# limits every way in applies)
from bot.model.dates import MAX_YEAR as MAX_YEAR
from bot.model.dates import MIN_YEAR as MIN_YEAR

# the longest text one field may hold (the reference thread's excerpt is 74,000 characters)
MAX_TEXT_CHARS = 200_000
MAX_URL_CHARS = 2048
# what SQLite stores in an INTEGER column
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

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


# --- problems in words ------------------------------------------------------------------------

# what each pattern the schemas use allows, said in words (a message never shows a regex)
PATTERN_WORDS = {
    r"^[a-z0-9][a-z0-9-]*$": "use lower-case letters, digits and dashes, starting with a "
    "letter or digit",
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$": "use letters, digits, dots, dashes and underscores, "
    "starting with a letter or digit",
    r"^https?://\S+$": "expected an http(s) URL",
    r"^[a-z][a-z-]{1,20}$": "expected a language code such as en or pt-br",
}


def problem_in_words(error: dict[str, Any], field_word: str = "field") -> str:
    """A validation problem (one of pydantic's ``errors()``) as a sentence that says what is
    allowed: never the pattern, never pydantic's wording of a count."""
    kind = error["type"]
    context = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return f"required {field_word} is missing"
    if kind == "extra_forbidden":
        return f"unknown {field_word}"
    if kind == "string_pattern_mismatch":
        allowed = PATTERN_WORDS.get(str(context.get("pattern")), "not in the form expected")
        if allowed.startswith("expected"):
            return f"{allowed}, got {given!r}"
        return f"{given!r} is not allowed: {allowed}"
    if kind == "too_short" and isinstance(given, dict | list):
        least = context.get("min_length", 1)
        items = f"{least} item{'s' if least != 1 else ''}"
        return f"needs at least {items}, got {len(given) or 'none'}"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if given is not None and not isinstance(given, dict | list):
        shown = repr(given)
        shown = shown if len(shown) <= 100 else f"{shown[:80]}... ({len(shown):,} characters)"
        return f"{message}, got {shown}"
    return message


# --- lists of names ---------------------------------------------------------------------------

NAME_SEPARATOR = ","  # tags and list names, everywhere: "space,cold-war" (README, "Mention lists")
_NAME_SEPARATORS = re.compile(r"[,;\s]+")


def split_names(text: str) -> list[str]:
    """Tag or list names separated by commas (``space, cold-war``), each once, in order. The
    spaces and ``;`` of members CSVs written for earlier versions separate too: a name holds
    none of them."""
    return list(dict.fromkeys(name for name in _NAME_SEPARATORS.split(text) if name))


def join_names(names: list[str]) -> str:
    return NAME_SEPARATOR.join(names)
