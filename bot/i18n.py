"""The community's language: the bot's own phrases from gettext catalogs, and dates, ordinals and
"N years ago" in words from Babel's CLDR data.

A language is a locale such as ``fr``, ``de``, ``ru`` or ``pt-BR`` (``language:`` in the config,
globally and per destination). Its phrases come from the catalog shipped in
``bot/locales/LANG/LC_MESSAGES/messages.po``, read at run time with Babel's ``read_po`` (so an
editable install and a wheel work alike, with no build step); a regional locale without a catalog
of its own (``fr-CA``) uses its language's (``fr``). A phrase a catalog lacks stays English.

English is the default and needs neither: its phrases are the catalogs' message ids and its
dates come from ``bot.model.dates``, byte for byte what they always were, without importing
Babel (``preview`` starts fast). Other languages import Babel when first used.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import bot.model.dates as dates

if TYPE_CHECKING:
    from babel import Locale

DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
# compiled when a config is validated (re.match), not by every command that imports this
_LANGUAGE_FORM = r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"


def N_(message: str) -> str:  # noqa: N802 (the name Babel's extractor looks for)
    """Marks ``message`` for the catalogs where it is defined; translated where it is used."""
    return message


def is_english(language: str | None) -> bool:
    return not language or language.replace("_", "-").split("-")[0].lower() == DEFAULT_LANGUAGE


def shipped_languages() -> list[str]:
    """The languages with a catalog in the package (English needs none)."""
    return sorted(
        path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )


def catalog_file(language: str) -> Path | None:
    """The catalog ``language`` reads: its own (``pt_BR``), else its language's (``pt``)."""
    code = language.replace("-", "_")
    for candidate in (code, code.split("_")[0].lower()):
        path = LOCALES_DIR / candidate / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            return path
    return None


def check_language(value: str) -> str:
    """``value`` as the config keeps it, or a ValueError that says what is expected: a locale
    CLDR knows whose language has a catalog (or English)."""
    if not isinstance(value, str) or not re.match(_LANGUAGE_FORM, value):
        raise ValueError(f"expected a locale such as fr, de, es, ru or pt-BR, got {value!r}")
    if is_english(value):
        return value
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(
            f"{value!r} is not a locale CLDR knows (fr, de, es, ru, pt-BR, ...)"
        ) from None
    if catalog_file(value) is None:
        shipped = ", ".join(["en", *shipped_languages()])
        raise ValueError(f"no catalog for {value!r}: the bot's phrases exist in {shipped}")
    return value


class Catalog(Protocol):
    """What a language's phrases are read through (gettext's translations)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class _MessageIds:
    """English: the message ids are the phrases (``gettext``'s module is not even imported)."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


@lru_cache(maxsize=16)
def translations(language: str | None) -> Catalog:
    """The catalog of ``language`` (English: none, the message ids are the phrases)."""
    if is_english(language):
        return _MessageIds()
    assert language is not None
    path = catalog_file(language)
    if path is None:
        return _MessageIds()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with path.open("rb") as po:
        catalog = read_po(po, locale=path.parent.parent.name, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation yet
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext_for(language: str | None) -> Callable[[str], str]:
    """The function that translates one message id into ``language``."""
    return translations(language).gettext


def phrase(language: str | None, message: str, **values: Any) -> str:
    """``message`` (a ``%(name)s`` template marked with ``N_``) in ``language``, filled in."""
    return gettext_for(language)(message) % values


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    from babel import Locale

    return Locale.parse(language.replace("-", "_"))


# the year of a date before the common era, after the day and month in the language's words
BC_DATE = N_("%(day_month)s %(year)s BC")
# CLDR's ordinal categories (zero, one, two, few, many, other) name which form a number takes;
# the catalog writes each form (English: 1st, 2nd, 3rd, 4th); the noun it goes with in the
# catalog is "anniversary", whose gender picks the form ("98-я годовщина", "98.º aniversario")
ORDINAL_FORMS = {
    "zero": N_("%(number)sth"),
    "one": N_("%(number)sst"),
    "two": N_("%(number)snd"),
    "few": N_("%(number)srd"),
    "many": N_("%(number)sth"),
    "other": N_("%(number)sth"),
}
THIS_YEAR = N_("this year")


class _WithYear:
    """The fields of a CLDR date pattern, with the year written as given: a Julian February 29
    (1700) and a year BC are no ``datetime.date``."""

    def __init__(self, fields: Any, year: str) -> None:
        self.fields, self.year = fields, year

    def __getitem__(self, name: str) -> str:
        return self.year if name[0] in "yY" else self.fields[name]


def date_words(date: dates.AnniversaryDate | dt.date, language: str | None) -> str:
    """The date as the language writes it in a sentence: "10 janvier 1928", "10. Januar 1928",
    "10 января 1928 г."; day and month only when the year is unknown."""
    if is_english(language):
        return dates.date_in_words(date)
    assert language is not None
    from babel.dates import DateTimeFormat, format_skeleton, get_date_format

    locale = _locale(language)
    sample = dt.date(2000, date.month, date.day)  # 2000 has every day, February 29 included
    if date.year is None:
        return format_skeleton("MMMMd", sample, locale=locale)
    if date.year < 0:
        day_month = format_skeleton("MMMMd", sample, locale=locale)
        return phrase(language, BC_DATE, day_month=day_month, year=-date.year)
    pattern = get_date_format("long", locale=locale)
    template = cast(str, pattern.format)  # "%(d)s %(MMMM)s %(y)s": CLDR's fields, by name
    return template % _WithYear(DateTimeFormat(sample, locale), str(date.year))


def ordinal(number: int, language: str | None) -> str:
    """``98th``, ``98e``, ``98.``, ``98.º``, ``98-я``: the number in CLDR's ordinal category of
    the language, written as its catalog writes that category."""
    if is_english(language):
        return dates.ordinal(number)
    assert language is not None
    form = _locale(language).ordinal_form(number)
    return phrase(language, ORDINAL_FORMS.get(form, ORDINAL_FORMS["other"]), number=number)


def years_ago(then: int | None, now: int, language: str | None) -> str:
    """``98 years ago``, ``il y a 98 ans``, ``vor 98 Jahren``, ``98 лет назад``; empty when the
    year is unknown."""
    if is_english(language):
        return dates.years_ago(then, now)
    if then is None:
        return ""
    assert language is not None
    years = dates.years_between(then, now)
    if years == 0:
        return phrase(language, THIS_YEAR)
    from babel.dates import format_timedelta

    # Babel's year is 365 days: a whole number of them is that many years, never rounded
    return format_timedelta(
        dt.timedelta(days=-365 * years),
        threshold=1,
        add_direction=True,
        locale=_locale(language),
    )


def day_in_words(day: dt.date, language: str | None, width: str = "long") -> str:
    """A day of the calendar, for the preview's pages: ``full`` "Saturday, January 10, 2026",
    ``long`` "January 10, 2026", ``medium`` "Jan 10, 2026", or CLDR's forms of the language."""
    if is_english(language):
        weekday = f"{day:%A}, " if width == "full" else ""
        month = f"{day:%b}" if width == "medium" else f"{day:%B}"
        return f"{weekday}{month} {day.day}, {day.year}"
    assert language is not None
    from babel.dates import format_date

    return format_date(day, width, locale=_locale(language))


def month_in_words(year: int, month: int, language: str | None) -> str:
    """ "January 2026", "janvier 2026", "Январь 2026": a calendar's month heading."""
    if is_english(language):
        return f"{calendar.month_name[month]} {year}"
    assert language is not None
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", dt.date(year, month, 1), locale=_locale(language))


def weekday_abbreviations(language: str | None) -> list[str]:
    """Monday to Sunday, abbreviated: a calendar's column heads."""
    if is_english(language):
        return [calendar.day_abbr[i] for i in range(7)]
    assert language is not None
    names = _locale(language).days["stand-alone"]["abbreviated"]
    return [names[i] for i in range(7)]
