"""URLs from event data are data, not markup: one sanitiser for every format and platform.

A URL in an event is printed by templates (a bare URL in text, the target of a Markdown link,
an ``href`` in HTML) and by adapters (Discourse's image lines, the "Read more" link of a cut
post). Wherever it lands it must be one clickable link and nothing else:

- only ``http`` and ``https``, with a host;
- no whitespace, control or invisible (format) characters: they would end the link early or
  hide what it says; ``bot.input_rules.url_problem`` refuses them at import, ``safe_url``
  percent-encodes any that reach it;
- the characters that close or open markup are percent-encoded after the host: ``( )`` end a
  Markdown link destination (``https://x.org/a)[Log-in](https://evil.example)`` would add a
  link), ``[ ]`` make one, ``< >`` are HTML and Slack's control sequences (``<!channel>``),
  ``|`` is Slack's link label and Discourse's image size, ``"`` ends an HTML attribute, a
  backslash escapes the next character in Markdown and a backtick opens code;
- ``@`` after a character that is not a letter, digit or ``_`` (and not ``/`` or ``=``) is
  percent-encoded: Mastodon notifies every match of its mention pattern anywhere in a status,
  URLs included (``Account::MENTION_RE`` in Mastodon's ``app/models/account.rb``,
  ``(?<![=/[:word:]])@((USERNAME_RE)(?:@[[:word:].-]+[[:word:]]+)?)``, run over the whole text
  by ``ProcessMentionsService`` in ``app/services/process_mentions_service.rb``), so
  ``https://x.org/watch?v=1&@victim@mastodon.social`` would notify that account;
- user info (``https://bank.example@evil.example/``) is left out, so that one host cannot
  read as another: the link shows where it goes;
- a final ``.``, ``,``, ``;``, ``:``, ``!``, ``'``, ``*`` or ``~`` is percent-encoded: every
  platform's linkifier leaves sentence punctuation out of a link, which would point a
  ``..._D.C.`` page at ``..._D.C``.

Percent-encoding keeps the address: a server decodes ``%28`` to ``(``. Everything else (the
host, letters of any script, digits, the rest of RFC 3986's characters) is kept as written,
so an ordinary URL is printed exactly as the curator wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SCHEMES = ("http", "https")

# characters that open or close markup somewhere, percent-encoded wherever they appear
_MARKUP = frozenset('()[]<>|"\\`{}^')
# sentence punctuation a linkifier leaves outside a link when it ends the URL
_TRAILING = frozenset(".,;:!'*~")
# what may stand before "@" without Mastodon reading a mention (its lookbehind: = / [:word:])
_AT_SAFE_BEFORE = re.compile(r"[A-Za-z0-9_=/]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# a host: letters and digits of any script, dots and hyphens; or an IPv6 literal
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[^\W_](?:[\w.-]*[^\W_])?)(?::[0-9]{1,5})?$")


class UnsafeURLError(ValueError):
    """A URL that cannot be printed as a link at all (not http(s), or no host)."""


def _invisible(char: str) -> bool:
    # controls, format characters (zero-width, bidi), separators: they end or disguise a link
    category = unicodedata.category(char)
    return category in ("Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Co", "Cn") or char.isspace()


def safe_url(url: str) -> str:
    """``url`` as it is printed anywhere: one link, nothing else (see the module's notes).

    Raises ``UnsafeURLError`` for a URL that cannot be a link (not http(s), or no host); any
    other problem ``url_problem`` refuses at import is made harmless here by percent-encoding.
    """
    return _safe_url(str(url))


@lru_cache(maxsize=4096)
def _safe_url(url: str) -> str:
    scheme = _SCHEME.match(url)
    if scheme is None or scheme.group(1).lower() not in SCHEMES:
        raise UnsafeURLError(f"not an http(s) URL: {url[:80]!r}")
    rest = url[len(scheme.group(0)) :]
    if not rest.startswith("//") or len(rest) == 2 or rest[2] in "/?#":
        raise UnsafeURLError(f"no host in the URL {url[:80]!r}")
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    out = [scheme.group(0), "//"]
    host = authority.rpartition("@")[2]
    if _HOST.match(host):
        # a plain host (an IPv6 literal keeps its brackets); user info is left out, so the
        # link shows the host it goes to ("bank.example@evil.example" is evil.example)
        out.append(host)
        tail, in_authority = rest[2 + len(authority) :], False
    else:
        # junk before the path: encoded like the rest, "@" included
        tail, in_authority = rest[2:], True
    previous = "/"
    for char in tail:
        if in_authority and char in "/?#":
            in_authority = False
        if (
            char in _MARKUP
            or _invisible(char)
            or (char == "@" and (in_authority or not _AT_SAFE_BEFORE.match(previous)))
            or (not char.isascii() and not char.isalnum() and not _is_mark(char))
        ):
            out.append(_percent(char))
        else:
            out.append(char)
        previous = char
    if out[-1] in _TRAILING:
        out[-1] = _percent(out[-1])
    return "".join(out)


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
