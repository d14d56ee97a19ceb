"""One redactor for every text that leaves the process: console output, log lines, and what
the publish log stores.

It knows every resolved secret value (each ``bot.config.Secret`` registers itself) in the forms
a platform may quote back: as is, URL-encoded, JSON-escaped, HTML-escaped. For a URL registered
as secret (a Discord or Slack webhook URL is its own password) it also knows the path, the
query, the token segment on its own and the credentials of its userinfo, including the
``Authorization: Basic`` header that requests derives from them. Independently of what was
registered, it masks the password of any ``scheme://user:password@`` URL, the value of an
``Authorization`` or ``Api-Key`` header, a ``Bearer`` token, secret-looking query parameters and
Slack tokens.

The known values are matched by one compiled regular expression (a trie of alternatives, so
that a text is scanned once however many secrets there are), rebuilt on the first use after a
secret is registered. ``mask`` is cheap enough to run on every write: a text with nothing to mask
costs one scan per pattern.
"""

from __future__ import annotations

import base64
import codecs
import io
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import quote, quote_plus, unquote, urlsplit

if TYPE_CHECKING:
    import logging

    from _typeshed import ReadableBuffer

MASK = "********"
# shorter values would mask ordinary words; no platform issues credentials this short
MIN_SECRET_LENGTH = 4
# a path segment is masked on its own (a platform may quote only the token of a webhook URL)
# when it looks like a token, so that a path such as /api/anniversary masks no common word
_TOKEN_SEGMENT = r"^(?=.*\d)(?=.*[A-Za-z])[\w.~%-]{16,}$|^[\w.~%-]{32,}$"

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
_pattern_stale = False


def register(value: str) -> None:
    """Remember a secret value: from now on ``mask`` hides it and its encodings. A URL also
    registers its secret parts (userinfo, path, query, token segment)."""
    forms: set[str] = set()
    # an environment variable may end in a newline the platform never sees
    for candidate in {value, value.strip()}:
        if len(candidate) >= MIN_SECRET_LENGTH:
            forms |= _encodings(candidate)
            if "://" in candidate:
                forms |= _url_secrets(candidate, whole_url_is_secret=True)
    _add(forms)


def register_url_credentials(url: str) -> None:
    """Remember the userinfo (``user:password@``) of a URL that is not itself a secret, such
    as a forum's address with basic-auth credentials in it."""
    if "://" in url and "@" in url:
        _add(_url_secrets(url, whole_url_is_secret=False))


def forget_all() -> None:
    """Forget every registered secret (tests start each case from none)."""
    global _pattern, _pattern_stale
    with _lock:
        _known.clear()
        _pattern, _pattern_stale = None, False


def known_count() -> int:
    """How many texts (secret values and their encodings) are masked."""
    return len(_known)


def mask(text: str) -> str:
    """``text`` with every known secret, and every credential-shaped part, replaced by MASK."""
    if not text:
        return text
    pattern = _known_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for applies, source, replacement in _GENERIC_SOURCES:
        if applies(text):
            text = _generic(source).sub(replacement, text)
    return text


def shorten(text: str, limit: int) -> str:
    """A platform's message on one line, at most ``limit`` characters, masked before it is cut
    (cut first, half a token would be left that no longer matches the token)."""
    return " ".join(mask(text).split())[:limit]


def safe_host(url: str) -> str:
    """``host[:port]`` of a URL, never its userinfo, path or query: for error messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{host}:{port}" if port else host or "(no host)"


# --- building the known-values pattern ---------------------------------------------------------


def _add(forms: set[str]) -> None:
    global _pattern_stale
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    with _lock:
        if forms - _known:
            _known.update(forms)
            _pattern_stale = True


def _known_pattern() -> re.Pattern[str] | None:
    global _pattern, _pattern_stale
    if _pattern_stale:
        with _lock:
            if _pattern_stale:
                _pattern = re.compile(_trie_regex(_known)) if _known else None
                _pattern_stale = False
    return _pattern


def _trie_regex(words: set[str]) -> str:
    """One regular expression matching any of ``words``, the longest where several match.
    Alternatives sharing a prefix share its branch, so each position of a text is tried
    against one branch per first character instead of against every word."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        # a run of single children is one literal (walked, not recursed: a secret read from
        # a file, such as a private key, may be thousands of characters long)
        run = []
        while "" not in node and len(node) == 1:
            char, node = next(iter(node.items()))
            run.append(char)
        literal = re.escape("".join(run))
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return literal
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here and longer ones go on: greedy, so the longer first
            body = f"(?:{body})?"
        return literal + body

    return build(trie)


def _encodings(value: str) -> set[str]:
    """``value`` as a platform may quote it back: raw, URL-encoded (upper or lower case hex),
    form-encoded, JSON-escaped (with or without ``\\/``), HTML-escaped."""
    forms = {value, quote(value, safe=""), quote(value, safe="/"), quote_plus(value)}
    forms |= {_lower_hex(form) for form in forms}
    escaped = json.dumps(value)[1:-1]
    forms |= {escaped, json.dumps(value, ensure_ascii=False)[1:-1], escaped.replace("/", "\\/")}
    forms.add(_html_escape(value))
    return forms


def _html_escape(text: str) -> str:
    # html.escape, without importing the html package (its entity table) at start-up
    for char, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("'", "&#x27;"),
    ):
        text = text.replace(char, entity)
    return text


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), text)


def _url_secrets(url: str, *, whole_url_is_secret: bool) -> set[str]:
    try:
        parts = urlsplit(url.strip())
        username, password = parts.username, parts.password
    except ValueError:
        return set()
    forms: set[str] = set()
    if password:
        for user, secret in (
            (username or "", password),
            (unquote(username or ""), unquote(password)),
        ):
            forms |= _encodings(secret) | _encodings(f"{user}:{secret}")
            for encoding in ("latin-1", "utf-8"):
                try:
                    pair = f"{user}:{secret}".encode(encoding)
                except UnicodeEncodeError:
                    continue
                forms.add(base64.b64encode(pair).decode("ascii"))  # Authorization: Basic ...
    elif username and whole_url_is_secret:
        forms |= _encodings(username)  # https://TOKEN@host
    if whole_url_is_secret:
        path = parts.path.rstrip("/")
        if len(path.strip("/")) >= 8:
            forms |= _encodings(path)
        if parts.query:
            forms |= _encodings(parts.query)
            for _, _, value in (pair.partition("=") for pair in parts.query.split("&")):
                if re.match(_TOKEN_SEGMENT, value):
                    forms |= _encodings(value) | _encodings(unquote(value))
        if path and parts.query:
            forms |= _encodings(f"{path}?{parts.query}")
        for segment in path.split("/"):
            if re.match(_TOKEN_SEGMENT, segment):
                forms |= _encodings(segment) | _encodings(unquote(segment))
        without_scheme = url.split("://", 1)[1]
        forms |= _encodings(without_scheme.rstrip("/"))
    return forms


# --- credential-shaped text, whether registered or not -----------------------------------------

_VALUE = r"[^\s\"',;&<>)}\]\\]"
_HEADER_HINTS = ("uthoriz", "UTHORIZ", "pi-", "pi_", "PI_", "uth-", "UTH_")
_GENERIC_SOURCES: list[tuple[Callable[[str], bool], str, str]] = [
    # scheme://user:password@host, also JSON-escaped (https:\/\/user:password@host)
    (
        lambda text: "@" in text,
        r"(:(?:\\?/){2}[^\s/\\?#@:\"'<>]*:)[^\s/\\?#@\"'<>]+(?=@)",
        rf"\g<1>{MASK}",
    ),
    # an Authorization or Api-Key header as a platform may quote it: the header's value (the
    # header names are spelled out in their usual cases: a case-insensitive scan is slow)
    (
        lambda text: any(name in text for name in _HEADER_HINTS),
        (
            # the pattern starts at the name's second letter: a scan for a literal is fast
            r"((?:uthorization|UTHORIZATION|pi[-_][Kk]ey|PI_KEY|uth-[Tt]oken|UTH_TOKEN)"
            r"[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:[Bb]asic|BASIC|[Bb]earer|BEARER|[Tt]oken|TOKEN|[Bb]ot|BOT)\s+)?)"
            # a credential has a digit and some length ("Authorization: none" stays)
            rf"(?={_VALUE}*\d){_VALUE}{{8,}}"
        ),
        rf"\g<1>{MASK}",
    ),
    # a Bearer token quoted outside a header ("invalid Bearer abc123...")
    (
        lambda text: "Bearer" in text or "bearer" in text,
        rf"(?i)(\bbearer\s+)(?=[\w.~+/-]*\d){_VALUE}{{12,}}",
        rf"\g<1>{MASK}",
    ),
    # secret-looking query parameters
    (
        lambda text: "=" in text,
        (
            r"(?i)([?&](?:access_token|api_key|apikey|token|secret|password)=)"
            r"[^&\s#\"'<>]+"
        ),
        rf"\g<1>{MASK}",
    ),
    # Slack tokens (xoxb-, xoxp-, xapp- ...)
    (
        lambda text: "xox" in text or "xapp-" in text,
        r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]{6,}",
        MASK,
    ),
]


@cache
def _generic(source: str) -> re.Pattern[str]:
    """A credential-shaped pattern, compiled the first time a text may hold it: not at every
    start-up, and not at all in a process whose output never may (most hold no ``xox``)."""
    return re.compile(source)


# --- log lines ---------------------------------------------------------------------------------


# libraries whose INFO lines are their internals (the scheduler's job bookkeeping, urllib3's
# connections): at WARNING unless the log is at DEBUG
THIRD_PARTY_LOGGERS = ("apscheduler", "urllib3")
# the bot's line per post and per HTTP retry: shown by a command a person watches (``post``),
# at DEBUG elsewhere (the daemon logs one line per job)
PROGRESS_LOGGER = "bot.progress"


def configure_logging(level: int | None = None, progress: bool = False) -> None:
    """Log lines to stderr (masked there like all console output), and masked by the filter
    too, which also serves any handler added later. ``level``: INFO when not given.
    ``progress``: the progress lines go to stderr as they are, without time or level."""
    import logging

    if level is None:
        level = logging.INFO
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter())
    handler.addFilter(secret_filter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    detail = logging.DEBUG if level <= logging.DEBUG else logging.WARNING
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(detail)
    # urllib3 warns of each retry after a connection error: the progress line says it instead
    retries = logging.getLogger("urllib3.connectionpool")
    retries.filters[:] = [] if level <= logging.DEBUG else [_not_a_retry]
    shown = logging.getLogger(PROGRESS_LOGGER)
    shown.handlers[:] = []
    shown.propagate = True
    shown.setLevel(detail)
    if progress:
        plain = logging.StreamHandler()
        plain.setFormatter(logging.Formatter("%(message)s"))
        plain.addFilter(secret_filter())
        shown.handlers[:] = [plain]
        shown.propagate = False
        shown.setLevel(logging.INFO)


def _not_a_retry(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Retrying (")


def log_formatter() -> logging.Formatter:
    """Text lines, or with ``ANNIVERSARY_BOT_LOG_FORMAT=json`` one JSON object a line (time in
    UTC, level, logger, message, and the traceback of an exception) for a log collector."""
    import logging
    import os

    if os.environ.get("ANNIVERSARY_BOT_LOG_FORMAT", "").strip().lower() != "json":
        return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            import datetime as dt

            line = {
                "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname,
                "logger": record.name,
                "message": mask(record.getMessage()),
            }
            if record.exc_info:
                line["exception"] = mask(self.formatException(record.exc_info))
            return json.dumps(line, ensure_ascii=False)

    return JsonFormatter()


def secret_filter() -> logging.Filter:
    """A ``logging.Filter`` that masks a record's message (libraries log URL paths, and a
    webhook's path is its secret). Built on demand: most commands never import logging."""
    import logging

    class SecretFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
            return True

    return SecretFilter()


# --- the console -------------------------------------------------------------------------------


class MaskingStream(io.TextIOWrapper):
    """A text stream that masks what it writes before passing it on to ``target``.

    It is a ``TextIOWrapper`` (its ``write`` is the C one: a long output such as ``export``,
    made of millions of small writes, costs what it costs on the plain console) over a 64 KiB
    buffer over ``_MaskingWriter``, which masks what the buffer passes on. A secret cut across
    two writes is masked whole: when the buffer passes on a full 64 KiB, the last few KiB are
    held back until the next write or flush. Its ``buffer`` takes bytes through the same mask.
    """

    CHUNK = 64 * 1024

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._writer = _MaskingWriter(target, self.CHUNK)
        super().__init__(
            io.BufferedWriter(self._writer, self.CHUNK),
            encoding="utf-8",
            errors="surrogatepass",  # any str passes; the target encodes as it always did
            newline="\n",  # no translation here: the target translates, once
            line_buffering=bool(getattr(target, "line_buffering", False)),
        )

    def flush(self) -> None:
        super().flush()
        self._writer.flush()


class _MaskingWriter(io.RawIOBase):
    """The bytes end of ``MaskingStream``: decodes, masks, and writes text to the target."""

    def __init__(self, target: TextIO, chunk: int) -> None:
        super().__init__()
        self.target = target
        self.chunk = chunk
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        self._held = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def name(self) -> str:
        return getattr(self.target, "name", "<masked>")

    def write(self, data: ReadableBuffer) -> int:
        written = bytes(data)
        text = self._decoder.decode(written)
        with self._lock:
            masked = mask(self._held + text)
            self._held = ""
            if len(written) >= self.chunk:
                # a full buffer, not a flush: the text may go on in the next one
                keep = _hold_back_length()
                masked, self._held = masked[:-keep], masked[-keep:]
            self._emit(masked)
        return len(written)

    def flush(self) -> None:
        if self.closed:
            return
        with self._lock:
            held, self._held = self._held, ""
            self._emit(mask(held))
        if not getattr(self.target, "closed", False):  # click's test runner closes its streams
            self.target.flush()

    def close(self) -> None:
        # closing the wrapper (at exit) must not close the console underneath
        if not self.closed:
            with suppress(OSError, ValueError):
                self.flush()
        super().close()

    def _emit(self, text: str) -> None:
        if not text:
            return
        try:
            self.target.write(text)
        except UnicodeEncodeError:
            # a console that cannot show every character (what click does for such a console)
            encoding = getattr(self.target, "encoding", None) or "ascii"
            self.target.write(text.encode(encoding, "replace").decode(encoding))


def _hold_back_length() -> int:
    """More than the longest text that can be masked: what is held back at a cut."""
    return max((len(form) for form in _known), default=0) + 4096


def install_masking_streams() -> bool:
    """Wrap ``sys.stdout`` and ``sys.stderr`` so that all console output is masked. Returns
    False when they already are."""
    if isinstance(sys.stdout, MaskingStream) and isinstance(sys.stderr, MaskingStream):
        return False
    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout = MaskingStream(sys.stdout)
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)
    return True


@contextmanager
def masking_streams() -> Iterator[None]:
    """Console output masked for the duration (for callers, such as click's test runner, that
    swap the streams themselves); the streams are restored after."""
    saved = sys.stdout, sys.stderr
    installed = install_masking_streams()
    try:
        yield
    finally:
        if installed:
            for stream in (sys.stdout, sys.stderr):
                with suppress(OSError, ValueError):
                    stream.flush()
            sys.stdout, sys.stderr = saved


class Secret(str):
    """A resolved secret: its repr and its place in ``config show`` are masked, and every text
    the bot prints, logs or stores is masked of it (it registers itself with the redactor).
    ``source`` says where it came from (``$env NAME``, ``$file PATH``), for error messages
    that must name the value without showing it."""

    source: str | None

    def __new__(cls, value: str, source: str | None = None) -> Secret:
        register(value)
        secret = super().__new__(cls, value)
        secret.source = source
        return secret

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def described(self) -> str:
        """How an error message names this value: by where it came from, never by itself."""
        return f"the value of {self.source}" if self.source else "the secret value"


@dataclass(frozen=True)
class SecretRef:
    """A secret the config names (``{$env: NAME}`` or ``{$file: path}``), not read yet.

    A destination's secrets are read only when it is about to talk to its platform (to post,
    to check its credentials, to read its live limits): reviewing, previewing and managing
    members work with them unset, and an unset one fails only the command that needs it, with
    one line naming the variable. ``where`` is the config key it is the value of (file, line,
    ``destinations.NAME.KEY``). ``bot.config.read_secret`` reads it."""

    kind: str  # "$env" or "$file"
    name: str
    where: str
    base: Path  # the config file's folder: a relative $file path is read from there

    def __str__(self) -> str:
        # never the value (it has not been read): what an adapter built for previews would hold
        return f"(not read: {self.described()})"

    def described(self) -> str:
        return f"{self.kind} {self.name}"
