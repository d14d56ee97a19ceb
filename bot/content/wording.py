"""The wording of an on-this-day item: titles cut where a clause ends, leads that read on
after "On January 10, 1928, ", births and deaths as sentences named by their page, the feed's
artefacts cleaned. Plain text in, plain text out (no HTML: see ``bot.content.text``); light to
import, since every rendering fits titles with ``headline``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

HEADLINE_CHARS = 90  # the title of an imported item (a platform's own limit may cut it further)
_WORDS = re.compile(r"[^\W\d_]{3,}")


def one_line(text: str) -> str:
    """Collapse every run of white space (newlines, tabs, no-break spaces) to one space."""
    # most texts have nothing to collapse: every white space but " " is unprintable
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


# "(pictured)", "(pictured left)", "(depicted)": true only when the picture is shown
_PICTURED = re.compile(r"\s*\((?:pictured|depicted|shown|illustrated)\b[^()]*\)", re.IGNORECASE)
_SPACE_BEFORE_MARK = re.compile(r"\s+([,;:!?])")
_DOUBLED_MARKS = re.compile(r"([,;:])(?:\s*[,;:])+")
_DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")
# what would make ``clean_feed_text`` change a text: the import cleans 133,026 texts, and
# nearly all are clean
# (", ," is among them: it holds " ,"; a class after the space: one alternative, not six)
_ARTEFACTS = re.compile(r" [ ,;:!?]|,,|;;|::|\.\.|ictured|epicted|\(shown|llustrated")


def _may_need_cleaning(text: str) -> bool:
    """Whether ``clean_feed_text`` might change ``text`` (a text that only might is cleaned)."""
    return (
        not text.isprintable()  # line breaks, tabs, no-break spaces
        or text[:1] == " "
        or text[-1:] == " "
        or _ARTEFACTS.search(text) is not None
    )


# a life span after a name: "(d. 1575)", "(b. c.1270)", "(born 1920)"
_LIFE_SPAN = re.compile(r"\s*\((?:b|d|born|died)\.?\s[^()]*\)\s*$")
_DISAMBIGUATION = re.compile(r"\s*\([^()]*\)$")
# where a sentence may be cut into a headline: a clause that the rest only extends
_CLAUSE_BREAK = re.compile(
    r";\s|\s[–—]\s|\s-\s|,\s(?=(?:\w+ing|which|who|whom|whose|where|when|while|after|before|"
    r"as|and|but|so|then|until|thus|with|without|despite|although|though)\b)"
)
_PHRASE_BREAK = re.compile(
    r"\s(?=(?:and|as|after|while|when|which|who|where|during|following|because|before|until|"
    r"killing|leaving|making|becoming|ending|resulting)\s)"
)
_COMMA = re.compile(r",\s")
_PREPOSITION_BREAK = re.compile(r"\s(?=(?:to|at|in|on|near|for|from|into|against|of)\s)")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]][a-z0-9)\]][a-z0-9)\]])[.!?]\s+(?=[A-Z\"“(])")
_TRAILING_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "and",
        "or",
        "but",
        "from",
        "as",
        "into",
        "its",
        "his",
        "her",
        "their",
    ]
)
# sentence starts that are ordinary words, lower case after "On January 10, 1928, "; any
# other capitalised first word is taken for a proper noun and kept
_ORDINARY_STARTS = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "during",
        "after",
        "before",
        "following",
        "with",
        "by",
        "from",
        "under",
        "over",
        "some",
        "several",
        "many",
        "more",
        "most",
        "about",
        "approximately",
        "around",
        "nearly",
        "almost",
        "between",
        "among",
        "as",
        "while",
        "when",
        "since",
        "until",
        "upon",
        "within",
        "without",
        "through",
        "throughout",
        "despite",
        "this",
        "these",
        "those",
        "that",
        "its",
        "his",
        "her",
        "their",
        "there",
        "here",
        "future",
        "former",
        "first",
        "second",
        "third",
        "last",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "dozens",
        "hundreds",
        "thousands",
        "millions",
        "construction",
        "work",
        "members",
        "forces",
        "troops",
        "riots",
        "protests",
    ]
)


def clean_feed_text(text: str, pictured: bool = False) -> str:
    """An item's text without the feed's artefacts: "(pictured)" unless the picture is shown,
    doubled punctuation ("Scott,,"), a space before a comma."""
    if not _may_need_cleaning(text):
        return text  # most texts: nothing to clean
    if not pictured:
        text = _PICTURED.sub("", text)
    text = _SPACE_BEFORE_MARK.sub(r"\1", one_line(text))
    text = _DOUBLED_MARKS.sub(r"\1", text)
    return _DOUBLED_STOP.sub(".", text)


def headline(text: str, limit: int) -> str:
    """``text`` as a title of at most ``limit`` characters: its first sentence when it fits,
    else the longest part of it that ends where a clause or phrase ends ("In a referendum,
    79 percent of voters opted to keep Norway a monarchy", not "... paving the way for…");
    only a text with no such place is cut at a word, with "…"."""
    text = one_line(text)
    first = _SENTENCE_END.search(text) if ". " in text or "! " in text or "? " in text else None
    if first is not None and first.start() >= 12:
        text = text[: first.start() + 1]
    text = text.rstrip(" .")
    if len(text) <= limit:
        return text
    scene, colon, rest = text.partition(": ")
    if colon and len(scene) <= 40 and rest:  # "World War II: ..." without the scene
        return headline(rest[0].upper() + rest[1:], limit)
    shortest = min(24, limit // 3)
    for pattern in (_CLAUSE_BREAK, _PHRASE_BREAK, _COMMA, _PREPOSITION_BREAK):
        ends = [m.start() for m in pattern.finditer(text, 0, limit + 1) if m.start() >= shortest]
        if ends:
            return text[: ends[-1]].rstrip(" ,;:–—-")
    words = text[: limit - 1].split(" ")[:-1] or [text[: limit - 1]]
    while len(words) > 1 and words[-1].casefold().strip(",;:") in _TRAILING_WORDS:
        words.pop()
    return " ".join(words).rstrip(" ,;:–—-") + "…"


def after_formula(sentence: str, names: Iterable[str] = ()) -> str:
    """``sentence`` as it reads after "On January 10, 1928, ": its first word in lower case
    when it is an ordinary word ("The bodies of ..." -> "the bodies of ..."), kept when it
    begins a name: any capitalised word not known as ordinary, or the start of a linked page's
    title ("The Hague", "The Beatles")."""
    first, _, rest = sentence.partition(" ")
    word = first.rstrip(",;:")
    if not word[:1].isupper() or word.isupper() or word.casefold() not in _ORDINARY_STARTS:
        return sentence
    start = f"{word} {rest.split(' ', 1)[0]}".rstrip(",;:.") if rest else word
    if any(name.startswith(start) for name in names):
        return sentence
    return sentence[0].lower() + sentence[1:]


def person_wording(kind: str, text: str, page: str | None, about: str = "") -> tuple[str, str]:
    """(title, lead) of a birth or death: the title names the subject's page ("William I,
    Count of Burgundy, dies", not "William I dies"); the lead is a sentence with the item's
    description, or ``about`` (the page's own description) when the item has none ("Claude
    of Valois, Duchess consort of Lorraine, is born")."""
    verb = "is born" if kind == "birth" else "dies"
    text = (_LIFE_SPAN.sub("", text) if text.endswith(")") else text).rstrip(" .,")
    page_name = _DISAMBIGUATION.sub("", page).strip() if page and page.endswith(")") else page or ""
    after_name = text[len(page_name) : len(page_name) + 1]
    if page_name and text.startswith(page_name) and after_name in ("", ","):
        name, description = page_name, text[len(page_name) :].lstrip(", ")
    else:
        name, _, description = text.partition(", ")
    description = description.strip() or about.strip()
    # the page's title names the person unambiguously; the item's name when it says more
    # of the same ("Cnut the Great", page "Cnut")
    # (when the page is the person's: it shares a word of the name)
    if not page_name or name.startswith(page_name):
        title_name = name
    elif set(_WORDS.findall(page_name)) & set(_WORDS.findall(name)):
        title_name = page_name
    else:
        title_name = name
    title = f"{title_name}, {verb}" if "," in title_name else f"{title_name} {verb}"
    if description:
        lead = f"{name}, {description}, {verb}."
    else:
        lead = f"{name}, {verb}." if "," in name else f"{name} {verb}."
    return title, lead
