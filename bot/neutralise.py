"""Making event text inert: the escapes every platform's rules are built from.

A leaf module: the adapters (bot.posters) and the renderer both use it, so it imports nothing
of the bot.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"
_AT_WORD = re.compile(r"@(?=[\w.-])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START_MARKDOWN = re.compile(r"^(\s*)([#>+-]|\d+[.)])(?=\s)", re.MULTILINE)


def neutralise_at(text: str) -> str:
    """ "@name" and "@everyone" in event text must not become a mention anywhere."""
    if "@" not in text:
        return text
    return _AT_WORD.sub("@" + ZERO_WIDTH_SPACE, text)


def escape_markdown(text: str) -> str:
    """Markdown's inline and line-start markup printed as the characters themselves."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_START_MARKDOWN.sub(r"\1\\\2", text)
