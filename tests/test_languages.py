"""Posts in the community's language (README "Languages"): the bot's own words from the shipped
catalogs, dates and ordinals from CLDR (Babel), fitting in that language, one config posting in
two languages. The expected texts are written by hand from the catalogs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot import i18n
from bot.app import threads_for_day
from bot.model.dates import AnniversaryDate
from bot.posters.base import Capabilities
from bot.threads.fitting import fit_thread, sentence_ends, split_text
from bot.threads.render import Post, Thread
from tests.conftest import REFERENCE_EVENT_ID, write_config

ROOT = Path(__file__).resolve().parent.parent
NBSP, NNBSP = "\u00a0", "\u202f"  # French puts one before a colon; CLDR's Russian before "г."
LEAD = "the Soviet Union ordered the exile of Communist theorist"  # the event's own words
URL = "{[https://www.bl.uk/people/leon-trotsky]}"  # the reference's background source

# the reference event (data/events/reference/), its lines written by the bot, per language
REFERENCE = {
    "fr": {
        "title": f"10 janvier 1928{NBSP}: The Soviet Union orders the exile of Leon Trotsky"
        " (98e anniversaire)",
        "lead": f"Merci à SGT (Join to see) de nous avoir rappelé que le 10 janvier 1928, {LEAD}",
        "images": f"Images{NBSP}:",
        "background": f"Contexte{NBSP}: {URL}",
        "fyi": f"Pour info{NBSP}: COL Mikel J. Burroughs",
    },
    "de": {
        "title": "10. Januar 1928: The Soviet Union orders the exile of Leon Trotsky"
        " (98. Jahrestag)",
        "lead": f"Danke an SGT (Join to see) für den Hinweis: Am 10. Januar 1928 {LEAD}",
        "images": "Bilder:",
        "background": f"Hintergrund: {URL}",
        "fyi": "Zur Info: COL Mikel J. Burroughs",
    },
    "es": {
        "title": "10 de enero de 1928: The Soviet Union orders the exile of Leon Trotsky"
        " (98.º aniversario)",
        "lead": f"Gracias a SGT (Join to see) por recordarnos que el 10 de enero de 1928, {LEAD}",
        "images": "Imágenes:",
        "background": f"Contexto: {URL}",
        "fyi": "Para su información: COL Mikel J. Burroughs",
    },
    "ru": {
        "title": f"10 января 1928{NNBSP}г.: The Soviet Union orders the exile of Leon Trotsky"
        " (98-я годовщина)",
        "lead": f"Спасибо, SGT (Join to see), что напомнили: 10 января 1928{NNBSP}г. {LEAD}",
        "images": "Изображения:",
        "background": f"Историческая справка: {URL}",
        "fyi": "К сведению: COL Mikel J. Burroughs",
    },
}
ENGLISH = {
    "title": "January 10, 1928: The Soviet Union orders the exile of Leon Trotsky (98th anniversary)",
    "lead": f"Thank you my friend SGT (Join to see) for making us aware that on January 10, 1928, {LEAD}",
    "images": "Images:",
    "background": f"Background from {URL}",
    "fyi": "FYI COL Mikel J. Burroughs",
}  # fmt: skip
BOT_LINE_STARTS = ("Thank you my friend ", "Images:", "Background from ", "FYI ")


def _reference(store, day, language, fmt="text"):
    threads = threads_for_day(store, day, fmt, limit=None, language=language)
    (thread,) = [t for t in threads if t.event_id == REFERENCE_EVENT_ID]
    return thread


@pytest.mark.parametrize("language", sorted(REFERENCE))
def test_the_reference_thread_in_a_language(sample_store, reference_day, language):
    english = _reference(sample_store, reference_day, "en")
    thread = _reference(sample_store, reference_day, language)
    words = REFERENCE[language]
    assert thread.language == language
    assert thread.posts[0].title == words["title"]
    first = thread.posts[0].body.split("\n")
    assert first[0].startswith(words["lead"])
    assert words["images"] in first and words["background"] in first
    assert first[-1].startswith(words["fyi"])
    # every other line is the event's own, as the curator wrote it, and as English has it
    for post, original in zip(thread.posts, english.posts, strict=True):
        translated_lines = post.body.split("\n")
        english_lines = original.body.split("\n")
        assert len(translated_lines) == len(english_lines)
        changed = [
            (mine, theirs)
            for mine, theirs in zip(translated_lines, english_lines, strict=True)
            if mine != theirs
        ]
        assert all(theirs.startswith(BOT_LINE_STARTS) for _, theirs in changed), changed
        # the lead keeps the event's words; an FYI line keeps its members
        for mine, theirs in changed:
            if theirs.startswith("FYI "):
                assert mine.endswith(theirs.removeprefix("FYI "))


def test_english_is_what_it_always_was(sample_store, reference_day):
    thread = _reference(sample_store, reference_day, "en")
    first = thread.posts[0].body.split("\n")
    assert thread.posts[0].title == ENGLISH["title"]
    assert first[0].startswith(ENGLISH["lead"])
    assert ENGLISH["images"] in first and ENGLISH["background"] in first
    assert first[-1].startswith(ENGLISH["fyi"])


@pytest.mark.parametrize(
    ("language", "markdown_lead"),
    [
        ("fr", "Merci à SGT (Join to see) de nous avoir rappelé que le **10 janvier 1928**, the"),
        ("de", "Danke an SGT (Join to see) für den Hinweis: Am **10. Januar 1928** the"),
        ("ru", f"Спасибо, SGT (Join to see), что напомнили: **10 января 1928{NNBSP}г.** the"),
    ],
)
def test_markdown_and_html_leads_in_a_language(
    sample_store, reference_day, language, markdown_lead
):
    markdown = _reference(sample_store, reference_day, language, "markdown")
    lead = markdown.posts[0].body.split("\n")[0]
    # the event's text and the credit are escaped as in English, the catalog's markup is not
    english = _reference(sample_store, reference_day, "en", "markdown").posts[0].body
    credit = english.split("Thank you my friend ", 1)[1].split(" for making", 1)[0]
    assert lead.startswith(markdown_lead.replace("SGT (Join to see)", credit))
    html = _reference(sample_store, reference_day, language, "html").posts[0].body
    assert "<time>" in html.split("\n")[0]
    assert 'href="https://www.bl.uk/people/leon-trotsky"' in html


# --- the catalogs --------------------------------------------------------------------------


def _extracted() -> set[str]:
    """Every message Babel extracts from the templates and the code (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, "N_": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _singular(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _forms(string: str | tuple[str, ...]) -> list[str]:
    return [string] if isinstance(string, str) else list(string)


def test_the_catalog_template_is_current():
    with (ROOT / "bot" / "locales" / "messages.pot").open("rb") as pot:
        template = {_singular(m.id) for m in read_po(pot) if m.id}
    assert template == _extracted(), "run `make messages` and translate the new phrases"


@pytest.mark.parametrize("language", ["de", "es", "fr", "ru"])
def test_every_phrase_is_translated_in_the_shipped_languages(language):
    assert language in i18n.shipped_languages()
    path = i18n.catalog_file(language)
    assert path is not None
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    translated = {_singular(m.id): m for m in catalog if m.id}
    missing = [
        message
        for message in _extracted()
        if message not in translated
        or not all(_forms(translated[message].string))  # a plural: every form
        or translated[message].fuzzy
    ]
    assert not missing, f"{language}: untranslated: {missing}"
    assert not list(catalog.check()), "a %(name)s missing or added in a translation"
    for message in translated.values():
        # a linkifier takes what follows a URL into the link: a URL ends its phrase everywhere
        if isinstance(message.id, str) and message.id.endswith("%(url)s"):
            assert message.string.endswith("%(url)s"), message.id


def test_a_config_language_without_a_catalog_is_one_clear_line(cli_run, tmp_path):
    config = write_config(
        tmp_path / "bot.yaml", "  out:\n    type: outbox\n    path: x\n    language: xx-Nope\n"
    )
    code, _, err = cli_run("--config", str(config), "config", "check")
    assert code == 2
    assert err.startswith(f"Error: {config}:5: destinations.out.language:"), err
    assert len(err.strip().splitlines()) == 1


# --- dates, ordinals, years (CLDR) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "date", "words"),
    [
        ("ru", AnniversaryDate(1, 10, 1928), f"10 января 1928{NNBSP}г."),
        ("de", AnniversaryDate(1, 10, 1928), "10. Januar 1928"),
        ("fr", AnniversaryDate(1, 10, 1928), "10 janvier 1928"),
        ("es", AnniversaryDate(1, 10, 1928), "10 de enero de 1928"),
        ("pt-BR", AnniversaryDate(1, 10, 1928), "10 de janeiro de 1928"),  # regional: CLDR's
        ("fr", AnniversaryDate(3, 15, -44), "15 mars 44 av. J.-C."),
        ("de", AnniversaryDate(3, 15, -44), "15. März 44 v. Chr."),
        ("ru", AnniversaryDate(3, 15, -44), "15 марта 44 г. до н. э."),
        ("es", AnniversaryDate(3, 15, -44), "15 de marzo del 44 a. C."),
        ("de", AnniversaryDate(7, 20, None), "20. Juli"),
        ("ru", AnniversaryDate(2, 29, 1700), f"29 февраля 1700{NNBSP}г."),  # Julian: no datetime
        ("en", AnniversaryDate(1, 10, 1928), "January 10, 1928"),
    ],
)
def test_dates_in_words(language, date, words):
    assert i18n.date_words(date, language) == words


@pytest.mark.parametrize(
    ("language", "numbers"),
    [
        ("en", ["1st", "2nd", "3rd", "11th", "98th", "101st"]),
        ("fr", ["1er", "2e", "3e", "11e", "98e", "101e"]),
        ("de", ["1.", "2.", "3.", "11.", "98.", "101."]),
        ("es", ["1.º", "2.º", "3.º", "11.º", "98.º", "101.º"]),
        ("ru", ["1-я", "2-я", "3-я", "11-я", "98-я", "101-я"]),
    ],
)
def test_ordinals(language, numbers):
    assert [i18n.ordinal(n, language) for n in (1, 2, 3, 11, 98, 101)] == numbers


@pytest.mark.parametrize(
    ("language", "then", "words"),
    [
        ("en", 1928, "98 years ago"),
        ("fr", 1928, "il y a 98 ans"),
        ("de", 1928, "vor 98 Jahren"),
        ("es", 1928, "hace 98 años"),
        ("ru", 1928, "98 лет назад"),
        ("ru", 2024, "2 года назад"),
        ("ru", 2025, "1 год назад"),
        ("fr", 2026, "cette année"),
        ("de", -44, "vor 2069 Jahren"),  # no year zero
    ],
)
def test_years_ago(language, then, words):
    assert i18n.years_ago(then, 2026, language) == words


# --- fitting in the language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "sentences"),
    [
        ("fr", "Il a rencontré M. Dupont (cf. env. 30 lettres) à Paris. Ils ont parlé.", 2),
        ("de", "Das war z. B. am 10. Januar 1928 in Moskau. Dann kam er an.", 2),
        ("de", "Er starb im Jahr 1940. Danach zog die Familie um.", 2),
        ("ru", "Л. Д. Троцкий, т. е. нарком, был выслан. Это случилось зимой.", 2),
        ("ru", "Он уехал в 1928 г. в Алма-Ату и там жил. Потом его выслали.", 2),
        ("es", "La Sra. García y el Sr. López llegaron. Todo empezó así.", 2),
    ],
)
def test_sentences_end_where_the_language_ends_them(language, text, sentences):
    assert len(list(sentence_ends(text, language))) + 1 == sentences


def test_a_long_russian_excerpt_splits_at_its_sentences():
    sentence = "Л. Д. Троцкий, т. е. нарком по военным делам, был выслан в 1928 г. в Алма-Ату."
    text = " ".join([sentence] * 8)
    chunks = split_text(text, 200, len, language="ru")
    assert all(chunk.endswith("Алма-Ату.") for chunk in chunks)
    assert all(len(chunk) <= 200 for chunk in chunks)


def _thread(body: str, language: str, source_url: str | None = None) -> Thread:
    event_date = AnniversaryDate(1, 10, 1928)
    post = Post(1, body, "title", source_url=source_url)
    return Thread("e", event_date, dt.date(2026, 1, 10), "text", [post], language=language)


def test_continued_posts_and_read_more_are_in_the_threads_language():
    body = " ".join(["Это случилось зимой 1928 года, т. е. почти сто лет назад."] * 30)
    split = fit_thread(_thread(body, "ru"), Capabilities(max_length=500), None, str)
    assert len(split.posts) > 1
    assert all(p.body.startswith("(продолжение)\n") for p in split.posts[1:])
    cut = fit_thread(
        _thread(body, "ru", "https://example.org/a"),
        Capabilities(max_length=500),
        None,
        str,
        excerpt="truncate",
    )
    assert len(cut.posts) == 1
    assert cut.posts[0].body.endswith("\n\nЧитать дальше: https://example.org/a")


def test_mentions_over_the_cap_are_spread_under_the_languages_fyi():
    from bot.model import Member

    members = [
        Member(f"m{n}", f"Member {n}", {"mastodon": f"@m{n}@example.social"}) for n in range(5)
    ]
    line = "К сведению: " + " ".join(m.handles["mastodon"] for m in members)
    post = Post(1, f"Текст.\n\n{line}", "title", mentions=members)
    thread = Thread("e", AnniversaryDate(1, 10, 1928), dt.date(2026, 1, 10), "text", [post],
                    language="ru")  # fmt: skip
    fitted = fit_thread(
        thread, Capabilities(max_mentions=2), "mastodon", lambda m: m.handles["mastodon"]
    )
    assert [p.body for p in fitted.posts] == [
        "Текст.\n\nК сведению: @m0@example.social @m1@example.social",
        "(продолжение)\nК сведению: @m2@example.social @m3@example.social",
        "(продолжение)\nК сведению: @m4@example.social",
    ]


@pytest.mark.parametrize(
    ("platform", "limit"), [("mastodon", 500), ("discord", 2000), ("slack", 4000)]
)
def test_the_reference_in_russian_fits_each_platform(sample_store, reference_day, platform, limit):
    from bot.config import Config, Destination
    from bot.config.channel import Channel
    from bot.threads.fitting import fit_for

    destination = Destination("here", platform, "text", language="ru")
    channel = Channel.of(Config(None, None, None, None, {"here": destination}), destination)
    fitted = fit_for(_reference(sample_store, reference_day, "ru"), channel)
    # lengths as the platform counts them (Mastodon: grapheme clusters, a URL as 23)
    assert all(channel.poster.length(post.body) <= limit for post in fitted.posts)
    assert all(post.body.startswith("(продолжение)\n") for post in fitted.posts if post.continued)
    assert any("К сведению: " in post.body for post in fitted.posts)


# --- one config, two languages -------------------------------------------------------------


def test_two_destinations_in_two_languages_post_two_threads(cli_run, tmp_path, three_part_store):
    french, russian = tmp_path / "fr", tmp_path / "ru"
    config = write_config(
        tmp_path / "bot.yaml",
        f"  forum-fr:\n    type: outbox\n    path: {french}\n"
        f"  forum-ru:\n    type: outbox\n    path: {russian}\n    language: ru\n",
        extra="language: fr\n",
    )
    code, out, err = cli_run(
        "--config", str(config), "--db", str(three_part_store), "post", "--date", "2026-07-20"
    )
    assert code == 0, err
    assert out.count("3/3 posts sent (3 now)") == 2
    name = "1969-07-20-apollo-11-lands-on-the-moon-01"
    french_lead = (french / "2026-07-20" / f"{name}.txt").read_text(encoding="utf-8")
    russian_lead = (russian / "2026-07-20" / f"{name}.txt").read_text(encoding="utf-8")
    assert "Le 20 juillet 1969, Neil Armstrong and Buzz Aldrin walked on the Moon." in french_lead
    assert f"20 июля 1969{NNBSP}г. Neil Armstrong and Buzz Aldrin walked on the Moon." in (
        russian_lead
    )
    titles = [
        json.loads((folder / "2026-07-20" / f"{name}.json").read_text())["title"]
        for folder in (french, russian)
    ]
    assert titles == [
        f"20 juillet 1969{NBSP}: Apollo 11 lands on the Moon (57e anniversaire)",
        f"20 июля 1969{NNBSP}г.: Apollo 11 lands on the Moon (57-я годовщина)",
    ]


# --- the feed in the destination's language ------------------------------------------------


def test_the_feed_is_read_in_the_destinations_language(cli_run, tmp_path):
    """The Wikimedia feed has one path per Wikipedia language: ``/feed/v1/wikipedia/{language}/
    onthisday/{type}/MM/DD`` (https://api.wikimedia.org/wiki/Feed_API/Reference/On_this_day)."""
    from tests.servers import LocalServer
    from tests.test_onthisday import small_feed

    def answer(request):
        if request.path.startswith(("/feed/v1/wikipedia/de/", "/feed/v1/wikipedia/pt/")):
            return 200, {"Content-Type": "application/json"}, small_feed()
        return 404, {"Content-Type": "application/json"}, {"title": "Not found."}

    with LocalServer(answer) as server:
        config = write_config(
            tmp_path / "bot.yaml",
            f"  forum-de:\n    type: outbox\n    path: {tmp_path}\n    language: de\n"
            f"  forum-fr:\n    type: outbox\n    path: {tmp_path}\n",
            extra=f"language: fr\ncontent:\n  feed_url: {server.url}\n  retries: 0\n",
        )
        args = ("--config", str(config), "--db", str(tmp_path / "s.db"), "fetch", "onthisday")
        code, out, err = cli_run(*args, "--date", "11-12", "--kinds", "events", "--to", "forum-de")
        assert code == 0, err
        code, _, err = cli_run(*args, "--date", "11-12", "--kinds", "events")  # the config's: fr
        assert code == 1 and "404" in err, err  # fr is not served here: asked all the same
    assert [r.path for r in server.requests] == [
        "/feed/v1/wikipedia/de/onthisday/events/11/12",
        "/feed/v1/wikipedia/fr/onthisday/events/11/12",
    ]


# --- an event's own variants ---------------------------------------------------------------

VARIANT_EVENT = """\
date: "1969-07-20"
title: {en: Apollo 11 lands on the Moon, fr: Apollo 11 se pose sur la Lune}
lead:
  en: Neil Armstrong and Buzz Aldrin walked on the Moon.
  fr: Neil Armstrong et Buzz Aldrin ont marché sur la Lune.
  ru: Нил Армстронг и Базз Олдрин прошлись по Луне.
parts:
  - blocks:
      - type: text
        text: {en: One small step., fr: Un petit pas.}
      - type: quote
        text: That's one small step for [a] man.
"""


@pytest.fixture
def variant_setup(tmp_path, cli_run, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")  # the event alone on its day
    events = tmp_path / "events.yaml"
    events.write_text(VARIANT_EVENT, encoding="utf-8")
    db = tmp_path / "s.db"
    config = write_config(
        tmp_path / "bot.yaml",
        "".join(
            f"  forum-{code}:\n    type: outbox\n    path: {tmp_path / code}\n    language: {code}\n"
            for code in ("en", "fr", "ru", "de")
        ),
    )
    code, _, err = cli_run("--db", str(db), "import", str(events))
    assert code == 0, err
    return config, db


def _preview(cli_run, config, db, destination):
    code, out, err = cli_run(
        "--config", str(config), "--db", str(db), "preview", "--date", "2026-07-20",
        "--to", destination, "--json",
    )  # fmt: skip
    assert code == 0, err
    (thread,) = json.loads(out)["threads"] if "threads" in json.loads(out) else json.loads(out)
    return thread


def test_an_event_speaks_each_destinations_language(variant_setup, cli_run):
    config, db = variant_setup
    french = _preview(cli_run, config, db, "forum-fr")
    assert french["posts"][0]["title"] == (
        f"20 juillet 1969{NBSP}: Apollo 11 se pose sur la Lune (57e anniversaire)"
    )
    body = french["posts"][0]["body"].split("\n\n")
    assert body[:3] == [
        "Le 20 juillet 1969, Neil Armstrong et Buzz Aldrin ont marché sur la Lune.",
        "Un petit pas.",
        '"That\'s one small step for [a] man."',  # a quote has no variants: as written
    ]
    assert french["warnings"] == []
    english = _preview(cli_run, config, db, "forum-en")
    assert english["posts"][0]["body"].startswith(
        "On July 20, 1969, Neil Armstrong and Buzz Aldrin walked on the Moon.\n\nOne small step."
    )
    assert english["warnings"] == []


def test_a_missing_variant_falls_back_to_the_default_with_a_warning(variant_setup, cli_run):
    config, db = variant_setup
    russian = _preview(cli_run, config, db, "forum-ru")
    assert russian["posts"][0]["title"].endswith(": Apollo 11 lands on the Moon (57-я годовщина)")
    assert russian["posts"][0]["body"].startswith(
        f"20 июля 1969{NNBSP}г. Нил Армстронг и Базз Олдрин прошлись по Луне.\n\nOne small step."
    )
    assert russian["warnings"] == [
        "no ru variant of title, parts[0].blocks[0].text: the event's default (en) is used; "
        "add a ru: entry to have it in ru"
    ]
    code, out, err = cli_run(
        "--config", str(config), "--db", str(db), "preview", "--date", "2026-07-20",
        "--to", "forum-de",
    )  # fmt: skip
    assert code == 0, err
    assert "no de variant of title, lead, parts[0].blocks[0].text" in out + err


def test_variants_export_as_they_were_written(variant_setup, cli_run, tmp_path):
    _, db = variant_setup
    code, out, err = cli_run("--db", str(db), "export", "--format", "json")
    assert code == 0, err
    (event,) = [e for e in json.loads(out)["events"] if e["date"] == "1969-07-20"]
    assert event["title"] == {
        "en": "Apollo 11 lands on the Moon",
        "fr": "Apollo 11 se pose sur la Lune",
    }
    assert list(event["lead"]) == ["en", "fr", "ru"]
    assert event["parts"][0]["blocks"][0] == {
        "type": "text",
        "text": {"en": "One small step.", "fr": "Un petit pas."},
    }
    again = tmp_path / "again.json"
    again.write_text(out, encoding="utf-8")
    other = tmp_path / "other.db"
    assert cli_run("--db", str(other), "import", str(again))[0] == 0
    code, second, _ = cli_run("--db", str(other), "export", "--format", "json")
    assert json.loads(second) == json.loads(out)


@pytest.mark.parametrize(
    ("lead", "message"),
    [
        ("{}", "lead: give the text, or its variants by language: {en: ..., fr: ...}"),
        ("{english: Hello}", "lead: 'english' is not a language: write a locale such as en"),
        ("{fr: ''}", "lead: the text (the fr variant) is empty"),
        ("{fr: 3}", "lead: expected a valid string (the fr variant), or its variants by language"),
    ],
)
def test_bad_variants_are_one_clear_line(cli_run, tmp_path, lead, message):
    events = tmp_path / "bad.yaml"
    events.write_text(VARIANT_EVENT.replace(VARIANT_EVENT.split("\n")[2], f"lead: {lead}").replace(
        "  en: Neil Armstrong and Buzz Aldrin walked on the Moon.\n  fr: Neil Armstrong et Buzz Aldrin ont marché sur la Lune.\n  ru: Нил Армстронг и Базз Олдрин прошлись по Луне.\n", ""), encoding="utf-8")  # fmt: skip
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(events))
    err = err.split("\n", 1)[1] if err.startswith(str(tmp_path)) else err  # "creating a store"
    assert code == 2
    assert err.startswith(f"Error: {events}:3: {message}"), err
    assert len(err.strip().splitlines()) == 1


# --- the HTML preview ----------------------------------------------------------------------


def test_the_preview_site_is_in_the_configs_language(cli_run, tmp_path, sample_store_path):
    config = write_config(
        tmp_path / "bot.yaml",
        f"  forum:\n    type: outbox\n    path: {tmp_path / 'out'}\n    language: ru\n",
        extra="language: fr\n",
    )
    site = tmp_path / "site"
    code, _, err = cli_run(
        "--config", str(config), "--db", str(sample_store_path), "preview", "--format", "html",
        "--date", "2026-01-10", "--days", "2", "--out", str(site),
    )  # fmt: skip
    assert code == 0, err
    day = (site / "2026-01-10.html").read_text(encoding="utf-8")
    index = (site / "index.html").read_text(encoding="utf-8")
    # the page's words in the config's language (fr), the posts in the destination's (ru)
    assert '<html lang="fr">' in day and '<html lang="fr">' in index
    assert "<h1>samedi 10 janvier 2026</h1>" in day
    assert "<title>samedi 10 janvier 2026 · aperçu d’anniversary-bot</title>" in day
    assert ">Calendrier</a>" in day
    assert "publié le 10 janv. 2026 sur forum" in day and "a répondu le 10 janv. 2026" in day
    assert 'К сведению: <span class="mention">' in day  # the FYI line's chips, in Russian
    assert "<h1>Ce qui sera publié du 10 janvier 2026 au 11 janvier 2026</h1>" in index
    assert '<div class="weekday">lun.</div>' in index and "<h2>janvier 2026</h2>" in index


def test_a_draft_keeps_its_threads_language(sample_store, reference_day):
    from bot.drafts import thread_data, thread_from_data

    thread = _reference(sample_store, reference_day, "ru")
    assert thread_from_data(thread_data(thread)).language == "ru"
    english = _reference(sample_store, reference_day, "en")
    assert "language" not in thread_data(english)  # an English draft is stored as it was
    assert thread_from_data(thread_data(english)).language == "en"


def test_a_topic_title_has_variants_too(variant_setup, cli_run, tmp_path):
    config, db = variant_setup
    events = tmp_path / "topic.yaml"
    events.write_text(
        VARIANT_EVENT.replace(
            "lead:\n", "topic_title: {en: Apollo 11, ru: Аполлон-11}\nlead:\n", 1
        ),
        encoding="utf-8",
    )
    assert cli_run("--db", str(db), "import", str(events))[0] == 0
    assert _preview(cli_run, config, db, "forum-ru")["posts"][0]["title"] == "Аполлон-11"
    french = _preview(cli_run, config, db, "forum-fr")
    assert french["posts"][0]["title"] == "Apollo 11"
    assert french["warnings"] == [
        "no fr variant of topic_title: the event's default (en) is used; "
        "add a fr: entry to have it in fr"
    ]
