"""HTML to plain text: the feed's ``displaytitle``/``extract_html`` and a web page's main text;
and the wording of an on-this-day item: titles cut where a clause ends, leads that read on
after "On January 10, 1928, ", births and deaths as sentences, the feed's artefacts cleaned.

Only the standard library's tolerant ``html.parser``: pages are untrusted and often malformed,
and nothing here needs more than the text and where paragraphs break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape
from html.parser import HTMLParser

_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"[^\W\d_]{3,}")
HEADLINE_CHARS = 90  # the title of an imported item (a platform's own limit may cut it further)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# elements whose text is never part of what a reader came for
_SKIP = _names(
    "script style noscript template svg math nav header footer aside form button select "
    "option textarea iframe object canvas figure head"
)
# elements that end a paragraph (their text stands on its own line)
_BLOCKS = _names(
    "p div section article main li ul ol dl dt dd blockquote pre table tr td th caption "
    "h1 h2 h3 h4 h5 h6 br hr body html figcaption address details summary"
)
_VOID = _names("area base br col embed hr img input link meta source track wbr")
_MAIN = frozenset({"main", "article"})


def one_line(text: str) -> str:
    """Collapse every run of white space (newlines, tabs, no-break spaces) to one space."""
    return _SPACES.sub(" ", text).strip()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[tuple[str, bool]] = []  # (text, inside <main>/<article>)
        self.current: list[str] = []
        self.skip_depth = 0
        self.stack: list[str] = []
        self.main_depth = 0

    def _flush(self) -> None:
        text = one_line("".join(self.current))
        if text:
            self.paragraphs.append((text, self.main_depth > 0))
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag in _BLOCKS and not self.skip_depth:
                self._flush()
            return
        self.stack.append(tag)
        if tag in _SKIP or self.skip_depth:
            self.skip_depth += 1
            return
        if tag in _MAIN:
            self._flush()
            self.main_depth += 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self.stack:
            return
        # close everything opened since (browsers do the same for unclosed <p>, <li>)
        while self.stack:
            open_tag = self.stack.pop()
            if self.skip_depth:
                self.skip_depth -= 1
            elif open_tag in _MAIN:
                self._flush()
                self.main_depth -= 1
            elif open_tag in _BLOCKS:
                self._flush()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def strip_html(fragment: str) -> str:
    """A fragment's text on one line: ``<i>Terra Nova</i> Expedition`` -> ``Terra Nova Expedition``."""
    if "<" not in fragment and "&" not in fragment:
        return one_line(fragment)
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return one_line(" ".join(text for text, _ in parser.paragraphs)) or one_line(
        unescape(re.sub(r"<[^>]*>", " ", fragment))
    )


def html_paragraphs(page: str, min_words: int = 4) -> list[str]:
    """A page's main text as paragraphs and headings, one per item.

    The text inside ``<main>`` or ``<article>`` when the page has any; else the whole body,
    without navigation, headers, footers, scripts and forms, and (when more than a few
    remain) without scraps shorter than ``min_words`` words, such as menus.
    """
    parser = _Text()
    parser.feed(page)
    parser.close()
    main = [text for text, inside in parser.paragraphs if inside]
    if main:
        return main
    paragraphs = [text for text, _ in parser.paragraphs]
    if len(paragraphs) > 3:
        paragraphs = [p for p in paragraphs if len(p.split()) >= min_words] or paragraphs
    return paragraphs


def page_title(page: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", page, re.IGNORECASE | re.DOTALL)
    return one_line(unescape(match.group(1))) or None if match else None


def cut_paragraphs(paragraphs: list[str], limit: int) -> str:
    """Whole paragraphs, one per line, up to ``limit`` characters (at least the first one,
    cut at a sentence or word when it alone is longer)."""
    kept: list[str] = []
    size = 0
    for paragraph in paragraphs:
        if size + len(paragraph) + (1 if kept else 0) > limit:
            if not kept:
                kept.append(cut_text(paragraph, limit))
            break
        kept.append(paragraph)
        size += len(paragraph) + (1 if len(kept) > 1 else 0)
    return "\n".join(kept)


def cut_text(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    sentence = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if sentence > limit // 3:
        return head[: sentence + 1]
    return head.rsplit(" ", 1)[0] + "…"


# --- the wording of an on-this-day item (titles and leads) -----------------------------------

# "(pictured)", "(pictured left)", "(depicted)": true only when the picture is shown
_PICTURED = re.compile(r"\s*\((?:pictured|depicted|shown|illustrated)\b[^()]*\)", re.IGNORECASE)
_SPACE_BEFORE_MARK = re.compile(r"\s+([,;:!?])")
_DOUBLED_MARKS = re.compile(r"([,;:])(?:\s*[,;:])+")
_DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")
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
_TRAILING_WORDS = _names(
    "a an the of in on at to for by with and or but from as into its his her their"
)
# sentence starts that are ordinary words, lower case after "On January 10, 1928, "; any
# other capitalised first word is taken for a proper noun and kept
_ORDINARY_STARTS = _names(
    """the a an in on at during after before following with by from under over some several
    many more most about approximately around nearly almost between among as while when since
    until upon within without through throughout despite this these those that its his her
    their there here future former first second third last two three four five six seven
    eight nine ten eleven twelve dozens hundreds thousands millions construction work
    members forces troops riots protests"""
)


def clean_feed_text(text: str, pictured: bool = False) -> str:
    """An item's text without the feed's artefacts: "(pictured)" unless the picture is shown,
    doubled punctuation ("Scott,,"), a space before a comma."""
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
    first = _SENTENCE_END.search(text)
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
    text = _LIFE_SPAN.sub("", one_line(text)).rstrip(" .,")
    page_name = _DISAMBIGUATION.sub("", page or "").strip()
    after_name = text[len(page_name) : len(page_name) + 1]
    if page_name and text.startswith(page_name) and after_name in ("", ","):
        name, description = page_name, text[len(page_name) :].lstrip(", ")
    else:
        name, _, description = text.partition(", ")
    description = description.strip() or about.strip()
    # the page's title names the person unambiguously; the item's name when it says more
    # of the same ("Cnut the Great", page "Cnut")
    # (when the page is the person's: it shares a word of the name)
    names_page = bool(set(_WORDS.findall(page_name)) & set(_WORDS.findall(name)))
    title_name = name if not names_page or name.startswith(page_name) else page_name
    title = f"{title_name}, {verb}" if "," in title_name else f"{title_name} {verb}"
    if description:
        lead = f"{name}, {description}, {verb}."
    else:
        lead = f"{name}, {verb}." if "," in name else f"{name} {verb}."
    return title, lead
