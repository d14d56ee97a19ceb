"""Background excerpts: a Wikipedia page's REST summary or another page's main text, fetched
from a local server (summary fixtures in the documented shape), stored in the event; failures
change nothing; nothing is fetched at post time."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.content.background import (
    background_url,
    fetch_background,
    same_page,
    set_background,
    wikipedia_article,
)
from bot.content.fetching import Fetcher, FetchSettings
from bot.content.text import cut_paragraphs, html_paragraphs, strip_html
from bot.model import Event
from bot.store import Store
from tests.conftest import write, write_config
from tests.servers import FakePlatform, LocalServer
from tests.test_onthisday import quiet

# The REST summary's shape (https://www.mediawiki.org/wiki/Specs/Summary/1.3.0): the fields a
# client reads are type, titles, extract (plain text), extract_html, content_urls, timestamp.
APOLLO_SUMMARY = {
    "type": "standard",
    "title": "Apollo 11",
    "displaytitle": '<span class="mw-page-title-main">Apollo 11</span>',
    "namespace": {"id": 0, "text": ""},
    "wikibase_item": "Q43653",
    "titles": {
        "canonical": "Apollo_11",
        "normalized": "Apollo 11",
        "display": '<span class="mw-page-title-main">Apollo 11</span>',
    },
    "pageid": 662,
    "thumbnail": {
        "source": "https://upload.wikimedia.org/wikipedia/commons/thumb/2/27/Aldrin.jpg/320px-Aldrin.jpg",
        "width": 320,
        "height": 320,
    },
    "lang": "en",
    "dir": "ltr",
    "revision": "1190000000",
    "tid": "00000000-0000-11ee-0000-000000000000",
    "timestamp": "2025-12-01T10:00:00Z",
    "description": "First crewed Moon landing (1969)",
    "description_source": "local",
    "content_urls": {
        "desktop": {
            "page": "https://en.wikipedia.org/wiki/Apollo_11",
            "revisions": "https://en.wikipedia.org/wiki/Apollo_11?action=history",
            "edit": "https://en.wikipedia.org/wiki/Apollo_11?action=edit",
            "talk": "https://en.wikipedia.org/wiki/Talk:Apollo_11",
        },
        "mobile": {
            "page": "https://en.m.wikipedia.org/wiki/Apollo_11",
            "revisions": "https://en.m.wikipedia.org/wiki/Special:History/Apollo_11",
            "edit": "https://en.m.wikipedia.org/wiki/Apollo_11?action=edit",
            "talk": "https://en.m.wikipedia.org/wiki/Talk:Apollo_11",
        },
    },
    "extract": "Apollo 11 was the spaceflight that first landed people on the Moon.\n"
    "Commander Neil Armstrong and lunar module pilot Buzz Aldrin landed on July 20, 1969.",
    "extract_html": "<p><b>Apollo 11</b> was the spaceflight that first landed people on the "
    "Moon.</p><p>Commander Neil Armstrong and lunar module pilot Buzz Aldrin landed on "
    "July 20, 1969.</p>",
}
DISAMBIGUATION = {
    **APOLLO_SUMMARY,
    "type": "disambiguation",
    "title": "Mercury",
    "titles": {"canonical": "Mercury", "normalized": "Mercury", "display": "Mercury"},
    "extract": "Mercury commonly refers to:",
}
NOT_FOUND = {
    "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
    "title": "Not found.",
    "method": "get",
    "detail": "Page or revision not found.",
    "uri": "/en.wikipedia.org/v1/page/summary/No_such_page",
}
ARTICLE = """<!doctype html>
<html><head><title>The landing &amp; after | Example Museum</title>
<script>var tracking = "never in the excerpt";</script><style>p { color: red }</style></head>
<body>
<header><nav><a href="/">Home</a> | <a href="/about">About us</a></nav></header>
<aside>Sign up for our newsletter today and never miss a thing!</aside>
<main>
  <h1>The landing</h1>
  <p>Eagle touched down in the Sea of
     Tranquility at 20:17 UTC.</p>
  <p>Six hours later Armstrong stepped onto the surface.<br>Aldrin followed.</p>
  <ul><li>First item of a list that matters.</li><li>Second item of that list.</li></ul>
  <figure><img src="x.jpg"><figcaption>Not the text</figcaption></figure>
</main>
<footer>© Example Museum, all rights reserved, every single one</footer>
</body></html>
"""
EVENT = """\
members:
  - id: jane-doe
    name: Jane Doe
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
    parts:
      - blocks:
          - type: text
            text: Part one.
          - type: links
            links:
              - title: Apollo 11
                url: https://en.wikipedia.org/wiki/Apollo_11
          - type: mentions
            members: [jane-doe]
      - blocks:
          - type: text
            text: Part two.
  - date: "1969-07-21"
    title: No links at all
    lead: Nothing to fetch.
    parts:
      - blocks:
          - type: text
            text: Just text.
"""
APOLLO = "1969-07-20-apollo-11-lands-on-the-moon"


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


class PageServer(FakePlatform):
    """Wikipedia's summary API under /{lang}/api/rest_v1/page/summary/{title}, and pages."""

    def __init__(self, pages=None) -> None:
        self.summaries = {"Apollo_11": APOLLO_SUMMARY, "Mercury": DISAMBIGUATION}
        self.pages = pages or {"/article": (200, {"Content-Type": "text/html"}, ARTICLE.encode())}
        self.server = quiet(LocalServer(self._handle))

    def _handle(self, request):
        match = re.fullmatch(r"/(\w+)/api/rest_v1/page/summary/(.+)", request.path)
        if match:
            summary = self.summaries.get(match.group(2))
            if callable(summary):
                return summary(request)
            if summary is not None:
                return 200, {"Content-Type": "application/json; charset=utf-8"}, summary
            return 404, {"Content-Type": "application/problem+json"}, NOT_FOUND
        answer = self.pages.get(request.path)
        if callable(answer):
            return answer(request)
        if answer is not None:
            return answer
        return 404, {"Content-Type": "text/html"}, b"<h1>Not here</h1>"


@pytest.fixture
def pages():
    with PageServer() as server:
        yield server


def setup(tmp_path, cli_run, server_url, **content):
    db = tmp_path / "s.db"
    assert cli_run("--db", str(db), "import", str(write(tmp_path / "e.yaml", EVENT)))[0] == 0
    settings = {"summary_url": f"{server_url}/{{lang}}/api/rest_v1", "retries": 0,
                "backoff": 0, "timeout": 5, "contact": "https://example.org/contact", **content}  # fmt: skip
    lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items())
    config = write_config(
        tmp_path / "config.yaml",
        f"  out:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n",
        extra="content:\n" + lines,
    )
    return ("--config", str(config), "--db", str(db)), db


def snapshot(db):
    store = Store(db)
    try:
        return [tuple(r) for r in store.conn.execute("select * from events order by id")]
    finally:
        store.close()


# --- Wikipedia ---------------------------------------------------------------------------------


def test_wikipedia_summary_becomes_the_background(tmp_path, cli_run, pages):
    base, db = setup(tmp_path, cli_run, pages.url)
    code, out, err = cli_run(*base, "fetch", "background", APOLLO)
    assert code == 0, err
    assert out.startswith(f"{APOLLO}: added a background to part 1: ")
    (request,) = pages.requests
    assert request.path == "/en/api/rest_v1/page/summary/Apollo_11"
    assert request.headers["User-Agent"].startswith("anniversary-bot/")
    assert "https://example.org/contact" in request.headers["User-Agent"]
    event = Store(db).get_event(APOLLO)
    blocks = event.parts[0]["blocks"]
    assert [b["type"] for b in blocks] == ["text", "links", "background", "mentions"]
    background = blocks[2]
    assert background["url"] == "https://en.wikipedia.org/wiki/Apollo_11"
    assert background["excerpt"].splitlines() == [
        "Apollo 11 was the spaceflight that first landed people on the Moon.",
        "Commander Neil Armstrong and lunar module pilot Buzz Aldrin landed on July 20, 1969.",
    ]
    assert re.fullmatch(
        r"Wikipedia \(CC BY-SA 4\.0\), retrieved \d{4}-\d{2}-\d{2}", background["source"]
    )
    # the preview shows it, from the store
    code, out, _ = cli_run(*base, "preview", "--date", "2026-07-20")
    assert code == 0 and "Commander Neil Armstrong and lunar module pilot" in out
    # again: the same page's background is replaced (from the cache), not added twice
    code, out, err = cli_run(*base, "fetch", "background", APOLLO)
    assert code == 0, err
    assert "replaced the background of part 1" in out and "(from the cache)" in out
    assert len(pages.requests) == 1
    blocks = Store(db).get_event(APOLLO).parts[0]["blocks"]
    assert [b["type"] for b in blocks] == ["text", "links", "background", "mentions"]
    # export and import again: the block is valid event data
    assert cli_run(*base, "export", "--out", str(tmp_path / "out.yaml"))[0] == 0
    code, _, err = cli_run("--db", str(tmp_path / "2.db"), "import", str(tmp_path / "out.yaml"))
    assert code == 0, err


def test_the_retrieval_date_follows_the_clock_and_the_cache(tmp_path, pages):
    store = Store(tmp_path / "s.db")
    from bot.app import import_paths

    import_paths(store, [write(tmp_path / "e.yaml", EVENT)])
    now = [dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)]
    settings = FetchSettings(summary_url=f"{pages.url}/{{lang}}/api/rest_v1", retries=0,
                             cache_hours=24)  # fmt: skip
    fetcher = Fetcher(settings, tmp_path / "cache", clock=lambda: now[0])
    result = fetch_background(store, APOLLO, fetcher)
    assert result.source == "Wikipedia (CC BY-SA 4.0), retrieved 2026-03-01"
    now[0] += dt.timedelta(hours=2)  # another day, still in the cache: the date it was fetched
    result = fetch_background(store, APOLLO, fetcher)
    assert result.from_cache and result.source.endswith("retrieved 2026-03-01")
    now[0] += dt.timedelta(days=1)
    result = fetch_background(store, APOLLO, fetcher)
    assert not result.from_cache and result.source.endswith("retrieved 2026-03-03")
    assert len(pages.requests) == 2


def test_url_option_and_mobile_links(tmp_path, cli_run, pages):
    base, db = setup(tmp_path, cli_run, pages.url)
    url = "https://en.m.wikipedia.org/wiki/Apollo%2011"
    code, out, err = cli_run(
        *base, "fetch", "background", "1969-07-21-no-links-at-all", "--url", url
    )
    assert code == 0, err
    assert pages.requests[0].path == "/en/api/rest_v1/page/summary/Apollo_11"
    (block,) = [b for b in Store(db).get_event("1969-07-21-no-links-at-all").parts[0]["blocks"]
                if b["type"] == "background"]  # fmt: skip
    assert block["url"] == "https://en.wikipedia.org/wiki/Apollo_11"  # the desktop page


def test_a_page_that_is_not_wikipedia_gives_its_main_text(tmp_path, cli_run, pages):
    base, db = setup(tmp_path, cli_run, pages.url)
    url = pages.url + "/article"
    code, out, err = cli_run(*base, "fetch", "background", APOLLO, "--url", url)
    assert code == 0, err
    blocks = Store(db).get_event(APOLLO).parts[0]["blocks"]
    (block,) = [b for b in blocks if b["type"] == "background"]
    assert block["url"] == url
    assert block["excerpt"].splitlines() == [
        "The landing",
        "Eagle touched down in the Sea of Tranquility at 20:17 UTC.",
        "Six hours later Armstrong stepped onto the surface.",
        "Aldrin followed.",
        "First item of a list that matters.",
        "Second item of that list.",
    ]
    host = url.split("//")[1].split("/")[0]
    assert re.fullmatch(
        rf"The landing & after \| Example Museum \({re.escape(host)}\), retrieved \d{{4}}-\d\d-\d\d",
        block["source"],
    )


def test_event_without_a_page(tmp_path, cli_run, pages):
    base, db = setup(tmp_path, cli_run, pages.url)
    code, _, err = cli_run(*base, "fetch", "background", "1969-07-21-no-links-at-all")
    assert code == 2
    assert err.strip() == (
        "Error: 1969-07-21-no-links-at-all: no page to fetch: the event has no background or "
        "Wikipedia link; give one with --url"
    )
    code, _, err = cli_run(*base, "fetch", "background", APOLLO, "--url", "ftp://x")
    assert code == 2 and "--url: expected an http(s) URL" in err
    assert not pages.requests


# --- failures: one line each, nothing changed ---------------------------------------------------


class Streamer:
    """A page of 50 MB sent in chunks with no Content-Length: only the size cap stops it."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<p>" + b"words " * 170_000 + b"</p>"  # ~1 MB
                try:
                    for _ in range(50):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Streamer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/huge"


HOLD = threading.Event()


def held(request):
    HOLD.wait(10)
    return 200, {"Content-Type": "text/html"}, b"<p>Too late.</p>"


@pytest.mark.parametrize(
    "name, url, summary, content, expected",
    [
        ("404", "https://en.wikipedia.org/wiki/No_such_page", None, {},
         "the Wikipedia summary of 'No such page': {host} answered 404: Page or revision not found."),
        ("500", "https://en.wikipedia.org/wiki/Apollo_11",
         lambda r: (500, {}, {"detail": "Internal error"}), {},
         "the Wikipedia summary of 'Apollo 11': {host} answered 500: Internal error"),
        ("not json", "https://en.wikipedia.org/wiki/Apollo_11",
         lambda r: (200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"), {},
         "the Wikipedia summary of 'Apollo 11' answered with text/html, not JSON"),
        ("disambiguation", "https://en.wikipedia.org/wiki/Mercury", None, {},
         "the Wikipedia summary of 'Mercury': a disambiguation page: give the page you mean "
         "with --url"),
        ("no extract", "https://en.wikipedia.org/wiki/Apollo_11",
         lambda r: (200, {"Content-Type": "application/json"}, {**APOLLO_SUMMARY, "extract": "",
                                                                "extract_html": ""}), {},
         "the Wikipedia summary of 'Apollo 11': the page has no summary text"),
        ("timeout", "PAGE/slow", None, {"timeout": 0.3},
         "the page PAGE/slow: {host} did not answer within 0.3 s (content.timeout)"),
        ("page 404", "PAGE/missing", None, {}, "the page PAGE/missing: {host} answered 404"),
        ("pdf", "PAGE/file.pdf", None, {},
         "the page PAGE/file.pdf: answered with application/pdf, not a web page: nothing stored"),
        ("no text", "PAGE/empty", None, {},
         "the page PAGE/empty: no text found in the page: nothing stored"),
        ("50 MB declared", "PAGE/huge", None, {},
         "the page PAGE/huge: {host} sends 50 MB, over the 2 MB cap: not fetched"),
        ("50 MB streamed", "STREAM", None, {},
         "the page STREAM: {stream_host} sent more than the 2 MB cap: stopped reading, "
         "nothing stored"),
        ("connection refused", "http://127.0.0.1:9/x", None, {},
         "the page http://127.0.0.1:9/x: cannot connect to 127.0.0.1:9: is the network up"),
    ],
)  # fmt: skip
def test_fetch_failures(tmp_path, cli_run, name, url, summary, content, expected):
    pages = {
        "/slow": held,
        "/file.pdf": (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7"),
        "/empty": (200, {"Content-Type": "text/html"}, b"<html><script>x</script></html>"),
        "/huge": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 50_000_000 + b"</p>"),
    }
    HOLD.clear()
    with PageServer(pages) as server, Streamer() as streamer:
        if summary is not None:
            server.summaries["Apollo_11"] = summary
        base, db = setup(tmp_path, cli_run, server.url, **content)
        before = snapshot(db)
        url = url.replace("PAGE", server.url).replace("STREAM", streamer.url)
        try:
            code, out, err = cli_run(*base, "fetch", "background", APOLLO, "--url", url)
        finally:
            HOLD.set()
        host = server.url.split("//")[1]
        stream_host = streamer.url.split("//")[1].split("/")[0]
        want = (
            expected.replace("PAGE", server.url)
            .replace("STREAM", streamer.url)
            .format(host=host, stream_host=stream_host)
        )
        assert code == 1, (out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("Error: " + want), lines[0]
        assert snapshot(db) == before


# --- never at post time -------------------------------------------------------------------------


def test_posting_never_fetches(tmp_path, cli_run, pages, monkeypatch):
    base, db = setup(tmp_path, cli_run, pages.url)
    assert cli_run(*base, "fetch", "background", APOLLO)[0] == 0
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("a request at post time")

    monkeypatch.setattr(requests.Session, "request", no_network)
    code, out, err = cli_run(*base, "preview", "--date", "2026-07-20")
    assert code == 0, err
    code, out, err = cli_run(*base, "post", "--date", "2026-07-20")
    assert code == 0, err
    posted = "".join(p.read_text() for p in (tmp_path / "outbox").rglob("*.txt"))
    assert "Commander Neil Armstrong and lunar module pilot" in posted


# --- the pieces ---------------------------------------------------------------------------------


def test_wikipedia_urls():
    assert wikipedia_article("https://en.wikipedia.org/wiki/Apollo_11") == ("en", "Apollo_11")
    assert wikipedia_article("https://de.m.wikipedia.org/wiki/M%C3%BCnchen") == ("de", "München")
    assert wikipedia_article("https://en.wikipedia.org/wiki/AC/DC") == ("en", "AC/DC")
    assert wikipedia_article("https://en.wikipedia.org/wiki/January_10") is None  # a day page
    assert wikipedia_article("https://en.wikipedia.org/wiki/File:Aldrin.jpg") is None
    assert wikipedia_article("https://en.wikipedia.org/w/index.php?title=X") is None
    assert wikipedia_article("https://example.org/wiki/Apollo_11") is None
    assert same_page("https://en.m.wikipedia.org/wiki/Apollo%2011",
                     "https://en.wikipedia.org/wiki/Apollo_11/")  # fmt: skip


def test_summary_titles_are_escaped(tmp_path, pages):
    pages.summaries["AC%2FDC"] = {**APOLLO_SUMMARY, "content_urls": {}}
    settings = FetchSettings(summary_url=f"{pages.url}/{{lang}}/api/rest_v1", retries=0)
    from bot.content.background import fetch_excerpt

    with Fetcher(settings, tmp_path / "cache") as fetcher:
        block, _ = fetch_excerpt(fetcher, "https://en.wikipedia.org/wiki/AC/DC")
    assert pages.requests[0].path == "/en/api/rest_v1/page/summary/AC%2FDC"
    assert block["url"] == "https://en.wikipedia.org/wiki/AC/DC"


def test_default_url_and_placement():
    from bot.model.dates import AnniversaryDate

    event = Event("x", AnniversaryDate(7, 20, 1969), "T", "L", [
        {"blocks": [{"type": "links", "links": [
            {"title": "Day", "url": "https://en.wikipedia.org/wiki/July_20"},
            {"title": "A", "url": "https://en.wikipedia.org/wiki/Apollo_11"}]},
            {"type": "mentions", "lists": ["x"], "members": []}]},
    ])  # fmt: skip
    assert background_url(event) == "https://en.wikipedia.org/wiki/Apollo_11"
    block = {"type": "background", "url": "https://example.org/a", "excerpt": "E", "source": "S"}
    assert set_background(event, block) is False
    assert [b["type"] for b in event.parts[0]["blocks"]] == ["links", "background", "mentions"]
    assert background_url(event) == "https://example.org/a"  # its own background first
    assert set_background(event, {**block, "excerpt": "F"}) is True
    assert [b.get("excerpt") for b in event.parts[0]["blocks"]] == [None, "F", None]
    # the curator's presentation options of the block it replaces stay (issue 16)
    event.parts[0]["blocks"][1].update(header=False, headline="1969", attach=True)
    assert set_background(event, {**block, "excerpt": "G"}) is True
    assert event.parts[0]["blocks"][1] == {**block, "excerpt": "G", "header": False,
                                           "headline": "1969", "attach": True}  # fmt: skip


def test_html_to_text():
    assert strip_html('<span class="mw-page-title-main"><i>Terra Nova</i> Expedition</span>') == (
        "Terra Nova Expedition"
    )
    assert strip_html("Fish &amp; chips") == "Fish & chips"
    assert strip_html("plain\ntext") == "plain text"
    assert html_paragraphs("<div>One<p>Two</p>Three<script>no</script></div>") == [
        "One", "Two", "Three"
    ]  # fmt: skip
    assert html_paragraphs("<p>unclosed<p>next<li>item") == ["unclosed", "next", "item"]
    # no <main>: the body without menu-like scraps, when there is real text
    body = ("<body><div>Home</div><div>About us</div><p>A real paragraph of several words.</p>"
            "<p>Another real paragraph here.</p><footer>Legal notice of the site</footer></body>")  # fmt: skip
    assert html_paragraphs(body) == [
        "A real paragraph of several words.", "Another real paragraph here."
    ]  # fmt: skip
    assert cut_paragraphs(["a" * 10, "b" * 10, "c" * 10], 21) == "a" * 10 + "\n" + "b" * 10
    long = "First sentence here. Second sentence is much longer than the limit allows."
    assert cut_paragraphs([long], 40) == "First sentence here."
