"""The HTML preview: a page per day that looks like the thread, and a calendar.

The first tests read the HTML; the browser tests load the pages in Debian's headless Chromium
(``tests/browser/chromium.py``), take screenshots, and check what the browser rendered: the
reference day's three posts with their video cards, image captions, background sources and FYI
chips, that no element overflows its box, and the calendar's day cells. The screenshots are
kept in ``test-artifacts/screenshots/`` (printed by the tests). They skip when
``/usr/bin/chromium`` is absent; CI (``.ci/run``) installs it.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from bot.config import Config, Destination
from bot.drafts import Drafts
from bot.preview.html import text_lines, write_site
from bot.store import Store
from tests.browser import chromium
from tests.conftest import REFERENCE_EVENT_ID, ROOT, write

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
REFERENCE_PNG = ROOT / "docs" / "preview-reference.png"
START = dt.date(2026, 1, 1)
REFERENCE_PAGE = "2026-01-10.html"
needs_chromium = pytest.mark.browser  # skips without Chromium; fails in CI (conftest.py)

EVIL = "<script>window.__injected = 1</script>"
INJECTION_EVENT = f"""\
events:
  - date: "1999-07-20"
    title: '{EVIL} the title'
    lead: '<img src=x onerror="window.__injected = 1"> & a lead'
    credit: '"><svg onload="window.__injected = 1">'
    parts:
      - blocks:
          - type: video
            title: '</p>{EVIL}'
            description: '<iframe src="https://evil.example/"></iframe>'
            url: 'https://example.org/v?a=1&b=2'
          - type: images
            images:
              - caption: '<img src=x onerror="window.__injected = 1">'
                url: https://example.org/i.jpg
          - type: background
            url: https://example.org/bg
            source: '<a href="javascript:window.__injected = 1">click</a>'
            excerpt: |
              <style>body {{ display: none }}</style>
              <b>not bold</b> @everyone
          - type: mentions
            members: [evil]
members:
  - id: evil
    name: '{EVIL}Evil'
"""


def outbox(tmp_path: Path, name: str = "outbox", **extra) -> Destination:
    settings = {"path": str(tmp_path / name), "format": extra.pop("format", "text")}
    return Destination(
        name=name, type="outbox", format=settings["format"], settings=settings, **extra
    )


def config_of(*destinations: Destination) -> Config:
    return Config(None, None, None, None, {d.name: d for d in destinations})


@pytest.fixture(scope="module")
def reference_site(sample_store_path, tmp_path_factory) -> Path:
    """30 days from January 1 on the bundled sample data, for the embedded default config."""
    folder = tmp_path_factory.mktemp("site")
    store_path = folder / "store.db"
    shutil.copy(sample_store_path, store_path)
    store = Store(store_path)
    destination = outbox(folder)
    write_site(store, config_of(destination), [destination], START, 30, folder / "site")
    store.close()
    return folder / "site"


@pytest.fixture
def injection_store(tmp_path) -> Store:
    from bot.app import import_paths

    store = Store(tmp_path / "evil.db")
    import_paths(store, [write(tmp_path / "evil.yaml", INJECTION_EVENT)])
    return store


def injection_site(tmp_path: Path, store: Store) -> Path:
    """The nasty event's day, once as rendered and once as a draft a person edited."""
    dest = outbox(tmp_path, require_approval=True)
    config = config_of(dest)
    day = dt.date(2026, 7, 20)
    drafts = Drafts(store)
    drafts.generate(config, dest, day)
    drafts.edit(1, 1, f"{EVIL}\n<b>edited</b> https://example.org/v?a=1")
    drafts.approve(config, 1)
    plain = outbox(tmp_path, "plain")
    write_site(store, config_of(dest, plain), [dest, plain], day, 1, tmp_path / "site")
    return tmp_path / "site" / "2026-07-20.html"


# --- the pages ---------------------------------------------------------------------------------


def test_a_page_per_day_and_a_calendar(reference_site):
    pages = sorted(p.name for p in reference_site.glob("*.html"))
    assert len(pages) == 31 and pages[0] == "2026-01-01.html" and pages[-2] == "2026-01-30.html"
    index = (reference_site / "index.html").read_text()
    assert index.count('class="day-cell state-') == 30
    assert f'href="{REFERENCE_PAGE}"' in index
    page = (reference_site / REFERENCE_PAGE).read_text()
    assert page.count('<article class="post') == 3
    assert page.count('class="video-card"') == 3
    assert 'href="2026-01-09.html" rel="prev"' in page and 'href="index.html"' in page
    assert "10,948 characters (no limit)" in page


def test_the_pages_load_nothing_from_anywhere(reference_site):
    for page in reference_site.glob("*.html"):
        text = page.read_text()
        for needle in ("<script", "<link", "<img", "<iframe", " src=", "@import", "url(",
                       "@font-face"):  # fmt: skip
            assert needle not in text, f"{page.name} has {needle!r}"


def test_text_from_event_data_cannot_inject_markup(tmp_path, injection_store):
    page = injection_site(tmp_path, injection_store).read_text()
    for bad in ("<script", "<img", "<svg", "<iframe", "<style>body", "<b>", 'href="javascript'):
        assert bad not in page, bad
    assert "&lt;script&gt;window.__injected = 1&lt;/script&gt; the title" in page
    assert "&lt;b&gt;edited&lt;/b&gt;" in page  # a person's edit is text too
    index = (tmp_path / "site" / "index.html").read_text()
    assert "<script" not in index and "&lt;script&gt;" in index  # the day's title, in a tooltip


def test_preview_to_a_folder_and_the_single_page_still_work(cli_run, tmp_path):
    code, _, err = cli_run("preview", "--format", "html", "--date", "2026-01-10", "--out",
                           str(tmp_path / "site"), "--days", "3")  # fmt: skip
    assert code == 0 and "Wrote 3 day pages" in err
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == [
        "2026-01-10.html", "2026-01-11.html", "2026-01-12.html", "index.html",
    ]  # fmt: skip
    code, out, _ = cli_run("preview", "--format", "html", "--date", "01-10")
    assert (
        code == 0 and out.startswith("<!doctype html>") and out.count('<article class="post') == 3
    )
    code, _, err = cli_run("preview", "--format", "html", "--date", "01-10", "--out",
                           str(tmp_path / "one.html"))  # fmt: skip
    assert code == 0 and "Wrote 1 thread" in err and (tmp_path / "one.html").is_file()
    code, _, err = cli_run("preview", "--date", "01-10", "--days", "3")
    assert code == 2 and "--days and --year go with --format html --out DIR" in err
    code, _, err = cli_run("drafts", "preview", "--out", str(tmp_path / "year"), "--year", "2027")
    assert code == 0 and len(list((tmp_path / "year").glob("2027-*.html"))) == 365
    index = (tmp_path / "year" / "index.html").read_text()
    assert index.count('<section class="month">') == 12


def test_the_calendar_colours_each_day_by_its_state(tmp_path, sample_store, monkeypatch):
    """ready: it goes out as it is; needs approval: a destination waits for a person;
    warning: the platform needs the thread changed (split, mentions moved); nothing."""
    forum = outbox(tmp_path, "forum", require_approval=True)
    toot = Destination("toot", "mastodon", "text", settings={"url": "https://m.example"})
    archive = outbox(tmp_path, "archive")
    config = config_of(forum, toot, archive)
    drafts = Drafts(sample_store)
    for offset in range(2):
        drafts.generate(config, forum, START + dt.timedelta(days=offset))
    drafts.approve(config, 1)  # January 1 approved for the forum; January 2 not
    write_site(sample_store, config, [forum], START, 3, tmp_path / "forum")
    states = dict(re.findall(r'data-day="([\d-]+)" data-state="(\w+)"',
                             (tmp_path / "forum" / "index.html").read_text()))  # fmt: skip
    assert states == {"2026-01-01": "ready", "2026-01-02": "approval", "2026-01-03": "approval"}
    write_site(
        sample_store, config, [toot, archive], START + dt.timedelta(days=9), 1, tmp_path / "t"
    )
    page = (tmp_path / "t" / REFERENCE_PAGE).read_text()
    assert 'data-destination="toot" data-state="warning"' in page
    assert 'data-destination="archive" data-state="ready"' in page
    assert "split into" in page and "at most 500 characters a post" in page
    assert 'data-state="warning"' in (tmp_path / "t" / "index.html").read_text()
    empty = Store(tmp_path / "empty.db")
    write_site(empty, config, [archive], START, 1, tmp_path / "e")
    assert 'data-state="nothing"' in (tmp_path / "e" / "index.html").read_text()
    assert "Nothing to post on this day." in (tmp_path / "e" / "2026-01-01.html").read_text()


def test_edited_and_continued_posts_are_drawn_from_their_text(tmp_path, sample_store):
    toot = Destination("toot", "mastodon", "text", settings={"url": "https://m.example"})
    config = config_of(toot)
    day = dt.date(2026, 1, 10)
    drafts = Drafts(sample_store)
    drafts.generate(config, toot, day)
    drafts.edit(1, 1, "A person's own lead.\nhttps://www.youtube.com/watch?v=IXgXASp-qWs")
    write_site(sample_store, config, [toot], day, 1, tmp_path / "s")
    page = (tmp_path / "s" / REFERENCE_PAGE).read_text()
    first = page[page.index('data-number="1"') : page.index('data-number="2"')]
    assert 'data-drawn="text"' in first and '<span class="badge edited">edited</span>' in first
    assert '<div class="video-card">' in first  # the event's video URL, alone on its line
    assert '<span class="badge">continued</span>' in page
    assert 'data-status="edited"' in page  # edited and not approved: held


def test_a_skipped_day_shows_as_skipped_with_its_reason(tmp_path, sample_store):
    forum = outbox(tmp_path, "forum")
    config = config_of(forum)
    drafts = Drafts(sample_store)
    drafts.generate(config, forum, START)
    drafts.skip(1, "clashes with the memorial post")
    write_site(sample_store, config, [forum], START, 2, tmp_path / "s")
    index = (tmp_path / "s" / "index.html").read_text()
    states = dict(re.findall(r'data-day="([\d-]+)" data-state="(\w+)"', index))
    assert states == {"2026-01-01": "skipped", "2026-01-02": "ready"}
    assert "clashes with the memorial post" in index  # in the day's cell
    page = (tmp_path / "s" / "2026-01-01.html").read_text()
    assert '<span class="badge state-skipped" id="day-state">skipped</span>' in page
    assert "clashes with the memorial post" in page and "Nothing to post" not in page


def test_an_edited_drafts_links_survive_in_the_preview(tmp_path, sample_store):
    forum = outbox(tmp_path, "forum", format="markdown")
    config = config_of(forum)
    drafts = Drafts(sample_store)
    drafts.generate(config, forum, START)
    drafts.edit(1, 1, "See [the **source**](https://example.org/a_(b)) and https://example.org/c.")
    write_site(sample_store, config, [forum], START, 1, tmp_path / "s")
    page = (tmp_path / "s" / "2026-01-01.html").read_text()
    first = page[page.index('data-number="1"') :]
    assert '<a href="https://example.org/a_%28b%29">the source</a>' in first
    assert '<a href="https://example.org/c">https://example.org/c</a>.' in first


def test_text_lines_make_cards_and_chips():
    from bot.events.mentions import Member

    lines = text_lines(
        "A \\*starred\\* line\n\nhttps://v.example/1\nhttps://other.example\n> quoted\nFYI @a @b",
        "markdown", frozenset({"https://v.example/1"}), [Member("a", "Ann"), Member("b", "Bo")],
    )  # fmt: skip
    assert [(x.kind, x.text) for x in lines] == [
        ("p", "A *starred* line"), ("video", "https://v.example/1"),
        ("link", "https://other.example"), ("quote", "quoted"), ("fyi", "FYI @a @b"),
    ]  # fmt: skip
    assert lines[-1].names == ["Ann", "Bo"]


# --- in a real browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def screenshots(request) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbrowser screenshots: {SCREENSHOTS}")
    return SCREENSHOTS


def assert_no_overflow(report: dict, page: str) -> None:
    assert report["checked"] > 20, f"{page}: too few elements checked"
    assert report["overflow"] == [], f"{page}: overflowing elements: {report['overflow'][:5]}"


@needs_chromium
def test_the_reference_day_renders_as_a_thread_in_chromium(reference_site, screenshots):
    page = reference_site / REFERENCE_PAGE
    report = chromium.inspect(page)
    (thread,) = report["threads"]
    assert thread["event"] == REFERENCE_EVENT_ID and thread["state"] == "ready"
    assert thread["title"].startswith("January 10, 1928: The Soviet Union orders the exile")
    posts = thread["posts"]
    assert [p["number"] for p in posts] == [1, 2, 3] and all(p["shown"] for p in posts)
    assert all(p["drawn"] == "structure" and p["author"] == "anniversary-bot" for p in posts)
    for post in posts:  # each part: a video card, captions, a cited source, FYI chips
        assert len(post["videoCards"]) >= 1, post["number"]
        assert all(v["url"].startswith("https://www.youtube.com/") for v in post["videoCards"])
        assert len(post["captions"]) >= 2, post["number"]
        assert len(post["sources"]) >= 1 and post["excerptParagraphs"] >= 3, post["number"]
        assert len(post["chips"]) >= 10, post["number"]
        assert "characters" in post["count"]
    assert posts[0]["videoCards"][0]["title"].startswith("Trotsky. A career overview")
    assert posts[0]["captions"][0] == "January 11, 1928 Joseph Stalin deports Leon Trotsky.jpg"
    assert posts[0]["sources"][0]["text"] == "British Library"
    # each part names its own members
    assert len({tuple(p["chips"]) for p in posts}) == 3
    assert report["scripts"] == 1 and report["images"] == 0  # only the inspection script
    assert_no_overflow(report, page.name)

    shot = chromium.screenshot(page, screenshots / "reference-day.png")
    facts = chromium.png_facts(shot)
    assert (facts["width"], facts["height"]) == chromium.WINDOW
    assert facts["distinct_bytes"] > 100, "the screenshot looks blank"
    if REFERENCE_PNG.is_file():
        assert chromium.png_facts(REFERENCE_PNG)["width"] == 1200
    import os

    if os.environ.get("ANNIVERSARY_BOT_UPDATE_SCREENSHOT"):
        shutil.copy(shot, REFERENCE_PNG)


@pytest.fixture(scope="module")
def layouts_site(sample_store_path, tmp_path_factory) -> Path:
    """The days of the series' other layouts (data/events/layouts)."""
    folder = tmp_path_factory.mktemp("layouts")
    shutil.copy(sample_store_path, folder / "store.db")
    store = Store(folder / "store.db")
    destination = outbox(folder)
    for day in (dt.date(2026, 8, 20), dt.date(2026, 11, 7)):
        write_site(store, config_of(destination), [destination], day, 1, folder / "site")
    store.close()
    return folder / "site"


@needs_chromium
@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_a_phone_and_a_desktop_in_chromium(reference_site, layouts_site, screenshots,
                                                     width):  # fmt: skip
    """At 390 px (a phone) and 1280 px: nothing overflows, and no word of a video card or an
    image caption is broken across lines (the title of a video wrapped letter by letter)."""
    pages = [reference_site / REFERENCE_PAGE, reference_site / "index.html",
             layouts_site / "2026-08-20.html", layouts_site / "2026-11-07.html"]  # fmt: skip
    for page in pages:
        report = chromium.inspect(page, window=(width, 2000))
        assert report["viewport"] <= width and report["viewport"] > width - 20, report["viewport"]
        assert_no_overflow(report, f"{page.name} at {width} px")
        assert report["brokenWords"] == [], f"{page.name} at {width} px: {report['brokenWords']}"
    cards = chromium.inspect(pages[0], window=(width, 2000))["threads"][0]["posts"][0]
    assert cards["videoCards"][0]["title"].startswith("Trotsky. A career overview")
    chromium.screenshot(pages[0], screenshots / f"reference-day-{width}.png", (width, 2000))
    chromium.screenshot(pages[2], screenshots / f"layout-day-{width}.png", (width, 2000))


@needs_chromium
def test_the_broken_word_check_sees_a_broken_word_in_chromium(tmp_path):
    """Not vacuous: a video title in a box too narrow for its words is reported."""
    page = write(
        tmp_path / "narrow.html",
        "<!doctype html><html><body style='overflow-wrap: anywhere'>" + "<p>filler</p>" * 25
        + '<div class="video-card" style="width: 60px"><p class="video-title">Trotsky career '
        "documentary</p></div></body></html>",
    )  # fmt: skip
    broken = chromium.inspect(page)["brokenWords"]
    assert {"element": "div.video-card", "word": "documentary"} in broken


@needs_chromium
def test_the_calendar_renders_its_day_cells_in_chromium(reference_site, screenshots):
    page = reference_site / "index.html"
    report = chromium.inspect(page)
    cells = report["cells"]
    assert [c["day"] for c in cells] == [
        (START + dt.timedelta(days=n)).isoformat() for n in range(30)
    ]
    assert all(c["shown"] and c["width"] > 100 for c in cells)
    ten = next(c for c in cells if c["day"] == "2026-01-10")
    assert ten["href"] == REFERENCE_PAGE and "The Soviet Union orders the exile" in ten["text"]
    colours = {c["state"]: c["background"] for c in cells}
    legend = {x["state"]: x["background"] for x in report["legend"]}
    assert set(legend) == {"ready", "approval", "warning", "skipped", "nothing"}
    assert len(set(legend.values())) == 5  # each state its own colour
    assert colours["ready"] not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    assert_no_overflow(report, page.name)
    chromium.screenshot(page, screenshots / "calendar.png")


@needs_chromium
def test_a_page_with_hostile_event_text_runs_nothing_in_chromium(
    tmp_path, injection_store, screenshots
):
    page = injection_site(tmp_path, injection_store)
    report = chromium.inspect(page)
    assert report["injected"] is False
    assert report["scripts"] == 1 and report["images"] == 0
    titles = [t["title"] for t in report["threads"]]
    assert len(titles) == 2 and all(f"{EVIL} the title" in t for t in titles)
    assert_no_overflow(report, page.name)
    chromium.screenshot(page, screenshots / "hostile-event.png")


@needs_chromium
def test_the_overflow_check_sees_an_overflow(tmp_path):
    """The check is not vacuous: a word that cannot wrap in a narrow box is reported."""
    page = write(
        tmp_path / "overflow.html",
        "<!doctype html><html><body>" + "<p>filler</p>" * 25 + '<div style="width: 200px">'
        '<p style="overflow-wrap: normal">' + "x" * 400 + "</p></div></body></html>",
    )
    problems = chromium.inspect(page)["overflow"]
    assert any(p["element"] == "p" and "wide in a 200px box" in p["problem"] for p in problems)
