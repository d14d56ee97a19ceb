"""Making event text inert: the escapes every platform's rules are built from.

A leaf module: the adapters (bot.posters) and the renderer both use it, so it imports nothing
of the bot.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
_AT_WORD = re.compile(r"@(?=[\w.-])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
# "&" only where it starts a character reference ("&amp;" would show as "&")
_ENTITY_START = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# a marker at a line start: "#", ">", "+", "-" (a heading, quote or item), or a setext
# underline ("===" under a line makes it a heading); matched line by line from the start
# (a MULTILINE "^" would be tried at every character of long excerpts)
_LINE_START_MARKDOWN = re.compile(r"^(\s*)([#>+-](?=\s|$)|[=-]+[ \t]*$)")
# an ordered-list marker: the punctuation is what CommonMark lets a backslash escape ("1\."),
# a backslash before the digit would be shown
_LINE_START_NUMBER = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")


def neutralise_at(text: str) -> str:
    """ "@name" and "@everyone" in event text must not become a mention anywhere."""
    if "@" not in text:
        return text
    return _AT_WORD.sub("@" + ZERO_WIDTH_SPACE, text)


def escape_markdown(text: str) -> str:
    """Markdown's inline and line-start markup printed as the characters themselves."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    if "&" in text:
        text = _ENTITY_START.sub(r"\\&", text)
    if "\n" not in text:
        return _escape_line_start(text)
    return "\n".join(map(_escape_line_start, text.split("\n")))


def _escape_line_start(line: str) -> str:
    line = _LINE_START_NUMBER.sub(r"\1\\\2", line, count=1)
    return _LINE_START_MARKDOWN.sub(r"\1\\\2", line, count=1)


# CommonMark's backslash escapes: a backslash before any ASCII punctuation character
_MARKDOWN_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescape_markdown(text: str) -> str:
    """Markdown text as a reader sees it: each backslash escape replaced by its character."""
    return _MARKDOWN_ESCAPED.sub(r"\1", text)
