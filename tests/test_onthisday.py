"""The Wikimedia on-this-day feed as candidate events: the conversion (on the saved real
answer), `import` of a saved answer, `fetch onthisday` against a local server, failures that
change nothing, the cache, and `events promote`."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from bot.content.fetching import Fetcher, FetchError, FetchSettings
from bot.content.onthisday import (
    LICENSE_URL,
    day_from_name,
    feed_events,
    feed_problem,
    feed_text,
    is_feed_document,
)
from bot.events.loader import wiki_record_row
from bot.store import Store
from tests.conftest import ROOT, write, write_config
from tests.servers import FakePlatform, LocalServer

SAVED_FEED = ROOT.parent / "shared" / "data" / "wikimedia-onthisday-feed-11-12.json"
needs_feed = pytest.mark.shared(SAVED_FEED)
FEED_PATH = "/feed/v1/wikipedia/en/onthisday/{kind}/{month}/{day}"


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


@pytest.fixture(scope="module")
def feed() -> dict:
    return json.loads(SAVED_FEED.read_text(encoding="utf-8"))


def small_feed(text: str = "Something small happened.", year: int = 1926) -> dict:
    """A minimal answer in the feed's shape (one event, one page without a thumbnail)."""
    page = {
        "type": "standard",
        "title": "Small_thing",
        "displaytitle": "<i>Small</i> thing",
        "titles": {"canonical": "Small_thing", "normalized": "Small thing",
                   "display": "<i>Small</i> thing"},
        "content_urls": {"desktop": {"page": "https://en.wikipedia.org/wiki/Small_thing"}},
        "extract": "A small thing is small.",
        "lang": "en",
    }  # fmt: skip
    return {"events": [{"text": text, "year": year, "pages": [page]}]}


def snapshot(db: Path, times: bool = True) -> list[tuple]:
    store = Store(db)
    try:
        # what the event is, not when or from which file it was written (``times``: nor when)
        left_out = {"imported_from"} if times else {"imported_from", "updated_at"}
        columns = [c for c in store.db["events"].columns_dict if c not in left_out]
        rows = store.conn.execute(f"select {', '.join(columns)} from events order by id")
        return [tuple(r) for r in rows]
    finally:
        store.close()


def content_config(tmp_path: Path, server_url: str, **content) -> Path:
    settings = {"feed_url": server_url, "retries": 0, "backoff": 0, "timeout": 5, **content}
    lines = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in settings.items())
    return write_config(
        tmp_path / "config.yaml",
        f"  out:\n    type: outbox\n    path: {tmp_path / 'outbox'}\n",
        extra="content:\n" + lines,
    )


def quiet(server: LocalServer) -> LocalServer:
    """No traceback on stderr when the client hangs up (the size cap does), and no Nagle
    delay between the headers and the body (40 ms a request otherwise)."""
    server.httpd.handle_error = lambda request, address: None
    server.httpd.RequestHandlerClass.disable_nagle_algorithm = True
    return server


class FeedServer(FakePlatform):
    """Answers the feed's path for each day: ``answers[(kind, "MM", "DD")]`` or a default;
    a value is a payload, or (status, headers, body)."""

    def __init__(self, answers=None, default=None) -> None:
        self.answers = answers or {}
        self.default = default
        self.server = quiet(LocalServer(self._handle))

    def _handle(self, request):
        parts = request.path.split("/")
        if request.path.startswith("/feed/v1/wikipedia/en/onthisday/") and len(parts) == 9:
            key = (parts[6], parts[7], parts[8])
            answer = self.answers.get(key, self.default)
            if answer is not None:
                if callable(answer):
                    answer = answer(request)
                if isinstance(answer, tuple):
                    return answer
                return 200, {"Content-Type": "application/json; charset=utf-8"}, answer
        return (
            404,
            {"Content-Type": "application/problem+json"},
            {
                "type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found",
                "title": "Not found.",
                "detail": "Page or revision not found.",
            },
        )


# --- the conversion, on the saved real answer -------------------------------------------------


def test_saved_answer_is_recognised(feed):
    assert is_feed_document(feed)
    assert feed_problem(feed) is None
    # a curated file's "events:" is not a feed answer
    assert not is_feed_document({"events": [{"date": "1969-07-20", "title": "x", "lead": "y"}]})
    assert day_from_name(SAVED_FEED) == (11, 12)
    assert day_from_name(Path("onthisday-2024-11-12.json")) == (11, 12)
    assert day_from_name(Path("feed.json")) is None
    assert day_from_name(Path("feed-02-30.json")) is None


def test_every_item_becomes_a_candidate_with_attribution(feed):
    day = feed_events(feed, 11, 12)
    assert day.counts == {"selected": 4, "events": 3, "births": 8, "deaths": 11, "holidays": 9}
    assert len(day.events) == 35  # no text appears twice in this answer
    for event in day.events:
        assert event.origin == "wikipedia"
        assert (event.date.month, event.date.day) == (11, 12)
        (part,) = event.parts
        links = part["blocks"][-1]
        assert links["type"] == "links" and links["title"] == "From Wikipedia (CC BY-SA 4.0)"
        urls = [link["url"] for link in links["links"]]
        assert urls[-2:] == ["https://en.wikipedia.org/wiki/November_12", LICENSE_URL]
        assert event.source == "https://en.wikipedia.org/wiki/November_12"
        for block in part["blocks"]:
            for text in json.dumps(block, ensure_ascii=False).split('"'):
                assert "<span" not in text and "<i>" not in text  # HTML stripped
    by_tag = {}
    for event in day.events:
        by_tag.setdefault(event.tags[0], []).append(event)
    assert {k: len(v) for k, v in by_tag.items()} == {
        "event": 7, "birth": 8, "death": 11, "holiday": 9
    }  # fmt: skip
    assert sum("selected" in e.tags for e in day.events) == 4


def test_holidays_have_no_year_and_one_line_texts(feed):
    day = feed_events(feed, 11, 12)
    holidays = [e for e in day.events if "holiday" in e.tags]
    assert all(e.date.year is None for e in holidays)
    assert all(e.id.startswith("11-12-holiday-") for e in holidays)
    titles = {e.title for e in holidays}
    assert "Christian feast day: René d'Angers" in titles  # was "...day:\nRené d'Angers"
    assert all("\n" not in e.title and "\n" not in e.lead for e in day.events)
    assert feed_text("Christian feast day:\nA\nB") == "Christian feast day: A; B"


def test_titles_come_from_the_plain_title_and_thumbnails_are_optional(feed):
    day = feed_events(feed, 11, 12)
    scott = next(e for e in day.events if e.date.year == 1912)
    blocks = {b["type"]: b for b in scott.parts[0]["blocks"]}
    titles = [link["title"] for link in blocks["links"]["links"]]
    assert titles[:2] == ["Robert Falcon Scott", "Terra Nova Expedition"]  # not the HTML
    assert blocks["background"]["url"] == "https://en.wikipedia.org/wiki/Robert_Falcon_Scott"
    assert blocks["background"]["excerpt"].startswith("Captain Robert Falcon Scott")
    assert blocks["background"]["source"] == "Wikipedia (CC BY-SA 4.0), as of 2022-10-29"
    (image,) = blocks["images"]["images"]
    assert image["url"].startswith("https://upload.wikimedia.org/")
    assert "File:Scott_of_the_Antarctic_(bw)_(cropped).jpg" in image["caption"]
    # a page without a thumbnail: no image block, nothing else missing
    no_picture = next(e for e in day.events if e.title == "Pope Boniface III dies")
    assert [b["type"] for b in no_picture.parts[0]["blocks"]] == ["background", "links"]
    # only HTML: stripped
    item = copy.deepcopy(feed["births"][0])
    for page in item["pages"]:
        page.pop("titles", None), page.pop("normalizedtitle", None)
        page["displaytitle"] = "<span class='x'><i>Richard</i> Baxter</span>"
    one = feed_events({"births": [item]}, 11, 12).events[0]
    assert one.parts[0]["blocks"][-1]["links"][0]["title"] == "Richard Baxter"


def test_ids_match_the_data_sets_scheme(feed):
    """The same item from the JSON lines and from the feed is one event."""
    item = feed["births"][0]
    record = {"month": 11, "day": 12, "year": item["year"], "kind": "birth",
              "text": item["text"], "links": [], "source": None}  # fmt: skip
    (event,) = feed_events({"births": [item]}, 11, 12).events
    assert event.id == wiki_record_row(record)[0]


def test_selected_and_events_with_the_same_text_are_one_event(feed):
    item = feed["selected"][0]
    day = feed_events({"selected": [item], "events": [copy.deepcopy(item)]}, 11, 12)
    (event,) = day.events
    assert event.tags == ["event", "selected"]


def test_kinds_filter(feed):
    day = feed_events(feed, 11, 12, kinds=["births", "holidays"])
    assert {e.tags[0] for e in day.events} == {"birth", "holiday"}


def test_impossible_dates(feed):
    item = {**feed["events"][0], "year": 1900}  # 1900 had a February 29 (Julian): kept
    assert feed_events({"events": [item]}, 2, 29).events
    item = {**feed["events"][0], "year": 1901}
    with pytest.raises(Exception, match="not a leap year"):
        feed_events({"events": [item]}, 2, 29)
    lenient = feed_events({"events": [item]}, 2, 29, strict=False)
    assert not lenient.events and "events[0]" in lenient.skipped[0]


@pytest.mark.parametrize(
    "answer, problem",
    [
        ([], "expected a JSON object"),
        ({"events": {}}, "events: expected a list"),
        ({"events": [{"year": 1}]}, "events[0].text: expected non-empty text"),
        ({"births": [{"text": "x", "year": "1900", "pages": []}]}, "births[0].year"),
        ({"deaths": [{"text": "x", "year": 0, "pages": []}]}, "never 0"),
        ({"holidays": [{"text": "x", "pages": {}}]}, "holidays[0].pages"),
    ],
)
def test_shape_problems(answer, problem):
    assert problem in feed_problem(answer)


# --- import of a saved answer -----------------------------------------------------------------


@needs_feed
def test_import_takes_the_saved_answer(tmp_path, cli_run):
    db = tmp_path / "s.db"
    code, out, err = cli_run("--db", str(db), "import", str(SAVED_FEED))
    assert code == 0, err
    assert out.startswith("Imported 35 events (35 new, 0 updated)")
    code, out, _ = cli_run("--db", str(db), "import", str(SAVED_FEED))
    assert code == 0 and "(0 new, 0 updated, 35 unchanged)" in out
    store = Store(db)
    assert store.count_events() == 35
    assert {r[0] for r in store.conn.execute("select distinct origin from events")} == {"wikipedia"}
    # export, then import into a new store: the same events
    code, _, _ = cli_run("--db", str(db), "export", "--out", str(tmp_path / "all.yaml"))
    assert code == 0
    code, out, err = cli_run("--db", str(tmp_path / "2.db"), "import", str(tmp_path / "all.yaml"))
    assert code == 0, err
    assert snapshot(tmp_path / "2.db") and len(snapshot(tmp_path / "2.db")) == 35


@needs_feed
def test_import_needs_the_day_in_the_file_name(tmp_path, cli_run):
    path = write(tmp_path / "feed.json", SAVED_FEED.read_text(encoding="utf-8"))
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"Error: {path}: a saved on-this-day feed answer does not say its day: put it in the "
        "file name as MM-DD (e.g. onthisday-11-12.json)"
    )


def test_import_of_a_malformed_answer_names_the_item(tmp_path, cli_run):
    answer = small_feed()
    answer["births"] = [{"text": "Someone", "year": "1900", "pages": []}]
    path = write(tmp_path / "onthisday-07-20.json", json.dumps(answer))
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    assert code == 2
    assert "onthisday-07-20.json:1: births[0].year: expected a year" in err


def test_saved_answer_and_data_set_together(tmp_path, cli_run):
    """The same item in both: one event, the feed's (richer) version, in either order."""
    answer = small_feed("Richard Baxter, English minister (d. 1691)", 1615)
    answer = {"births": answer["events"]}
    feed_file = write(tmp_path / "onthisday-11-12.json", json.dumps(answer))
    record = {"month": 11, "day": 12, "year": 1615, "kind": "birth",
              "text": "Richard Baxter, English minister (d. 1691)", "links": [],
              "source": "https://en.wikipedia.org/wiki/November_12"}  # fmt: skip
    lines = write(tmp_path / "records.jsonl", json.dumps(record) + "\n")
    for order, db in (((feed_file, lines), "a.db"), ((lines, feed_file), "b.db")):
        code, out, err = cli_run("--db", str(tmp_path / db), "import", *map(str, order))
        assert code == 0, err
        rows = snapshot(tmp_path / db)
        assert len(rows) == 1
        assert "Small thing" in rows[0][12]  # the feed's links


# --- fetch onthisday --------------------------------------------------------------------------


@needs_feed
def test_fetch_one_day(tmp_path, cli_run, feed):
    with FeedServer({("all", "11", "12"): feed}) as server:
        config = content_config(tmp_path, server.url, contact="curators@example.org")
        db = tmp_path / "s.db"
        code, out, err = cli_run("--config", str(config), "--db", str(db), "fetch",
                                 "onthisday", "--date", "11-12")  # fmt: skip
        assert code == 0, err
        assert out.strip() == "Fetched 35 items for 1 day: 35 new candidates, 0 updated"
        (request,) = server.requests
        assert request.path == "/feed/v1/wikipedia/en/onthisday/all/11/12"
        agent = request.headers["User-Agent"]
        assert agent.startswith("anniversary-bot/") and "curators@example.org" in agent
    # the same events as an import of the saved answer (but for updated_at)
    imported = tmp_path / "imported.db"
    assert cli_run("--db", str(imported), "import", str(SAVED_FEED))[0] == 0
    assert snapshot(db, times=False) == snapshot(imported, times=False)


@needs_feed
def test_fetch_one_kind_asks_for_that_list(tmp_path, cli_run, feed):
    answer = {"births": feed["births"]}
    with FeedServer({("births", "11", "12"): answer}) as server:
        config = content_config(tmp_path, server.url)
        code, out, err = cli_run("--config", str(config), "--db", str(tmp_path / "s.db"),
                                 "fetch", "onthisday", "--date", "11-12", "--kinds", "births")  # fmt: skip
        assert code == 0, err
        assert out.startswith("Fetched 8 items for 1 day: 8 new candidates")
        assert server.requests[0].path.endswith("/onthisday/births/11/12")


def test_fetch_all_days_then_a_failure_writes_nothing(tmp_path, cli_run):
    def answer(request):
        month, day = request.path.split("/")[-2:]
        return small_feed(f"Something happened on {month}-{day}.", year=1928)  # a leap year

    db = tmp_path / "s.db"
    with FeedServer(default=answer) as server:
        config = content_config(tmp_path, server.url)
        code, out, err = cli_run("--config", str(config), "--db", str(db), "fetch",
                                 "onthisday", "--all")  # fmt: skip
        assert code == 0, err
        assert out.strip() == "Fetched 366 items for 366 days: 366 new candidates, 0 updated"
        assert len(server.requests) == 366
        store = Store(db)
        assert len(store.days_with_events()) == 366
        assert store.events_on(2, 29)[0].title == "Something happened on 02-29"
    before = snapshot(db)
    with FeedServer(
        {("all", "12", "31"): (500, {}, {"detail": "boom"})},
        default=lambda r: small_feed("Changed text for every day."),
    ) as server:
        config = content_config(tmp_path, server.url, cache_hours=0)
        code, out, err = cli_run("--config", str(config), "--db", str(db), "fetch",
                                 "onthisday", "--all")  # fmt: skip
        assert code == 1
        assert err.strip().splitlines() == [
            f"Error: the on-this-day feed for 12-31: 127.0.0.1:{server.url.rsplit(':', 1)[1]} "
            "answered 500: boom"
        ]
    assert snapshot(db) == before


def test_fetch_options(tmp_path, cli_run):
    with FeedServer() as server:
        config = content_config(tmp_path, server.url)
        base = ("--config", str(config), "--db", str(tmp_path / "s.db"), "fetch", "onthisday")
        code, _, err = cli_run(*base)
        assert code == 2 and "give --date MM-DD or --all" in err
        code, _, err = cli_run(*base, "--date", "11-12", "--kinds", "births,weddings")
        assert code == 2 and "unknown kind 'weddings'" in err
        code, _, err = cli_run(*base, "--date", "13-01")
        assert code == 2 and "--date: month 13 does not exist" in err
        assert not server.requests


# --- failures: one clear line each, nothing changed --------------------------------------------


class Hold:
    """A handler that answers only once released: the client's read timeout fires first."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, request):
        self.release.wait(10)
        return small_feed()


def html_page(request):
    return 200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>Oops</body></html>"


HUGE = b"[" + b" " * (50 * 1000 * 1000) + b"]"


@pytest.mark.parametrize(
    "name, answer, content, expected",
    [
        ("404", None, {}, "the on-this-day feed for 07-20: 127.0.0.1:{port} answered 404: "
                          "Page or revision not found."),
        ("500", (500, {}, {"detail": "upstream failed"}), {},
         "the on-this-day feed for 07-20: 127.0.0.1:{port} answered 500: upstream failed"),
        ("not json", html_page, {},
         "the on-this-day feed for 07-20 answered with text/html, not JSON: is the URL right?"),
        ("bad json", (200, {"Content-Type": "application/json"}, b'{"events": ['), {},
         "the on-this-day feed for 07-20 answered with malformed JSON"),
        ("wrong shape", {"events": "none"}, {},
         "the on-this-day feed for 07-20: unexpected answer: events: expected a list"),
        ("timeout", "hold", {"timeout": 0.3},
         "the on-this-day feed for 07-20: 127.0.0.1:{port} did not answer within 0.3 s "
         "(content.timeout)"),
        ("50 MB", (200, {"Content-Type": "application/json"}, HUGE), {"feed_max_bytes": 2000000},
         "the on-this-day feed for 07-20: 127.0.0.1:{port} sends 50 MB, over the 2 MB cap: "
         "not fetched"),
    ],
)  # fmt: skip
def test_fetch_failures(tmp_path, cli_run, name, answer, content, expected):
    db = tmp_path / "s.db"
    saved = write(tmp_path / "onthisday-07-20.json", json.dumps(small_feed()))
    assert cli_run("--db", str(db), "import", str(saved))[0] == 0
    before = snapshot(db)
    hold = Hold() if answer == "hold" else None
    answers = {("all", "07", "20"): hold or answer} if answer is not None else {}
    with FeedServer(answers) as server:
        try:
            config = content_config(tmp_path, server.url, **content)
            code, out, err = cli_run("--config", str(config), "--db", str(db), "fetch",
                                     "onthisday", "--date", "07-20")  # fmt: skip
        finally:
            if hold:
                hold.release.set()
        port = server.url.rsplit(":", 1)[1]
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: " + expected.format(port=port)), lines[0]
    assert "Traceback" not in err
    assert snapshot(db) == before


def test_a_503_is_retried(tmp_path, cli_run):
    answers = [(503, {}, {"detail": "busy"}), small_feed()]
    with FeedServer(default=lambda request: answers.pop(0)) as server:
        config = content_config(tmp_path, server.url, retries=2)
        code, out, err = cli_run("--config", str(config), "--db", str(tmp_path / "s.db"),
                                 "fetch", "onthisday", "--date", "07-20")  # fmt: skip
        assert code == 0, err
        assert len(server.requests) == 2


# --- the cache -----------------------------------------------------------------------------------


def test_a_fetch_within_the_cache_age_reads_the_cache(tmp_path):
    now = [dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)]
    with FeedServer(default=small_feed()) as server:
        settings = FetchSettings(feed_url=server.url, retries=0, cache_hours=6)
        url = server.url + FEED_PATH.format(kind="all", month="07", day="20")
        fetcher = Fetcher(settings, tmp_path / "cache", clock=lambda: now[0])
        first = fetcher.get(url, "the feed")
        assert not first.from_cache and len(server.requests) == 1
        now[0] += dt.timedelta(hours=5, minutes=59)
        again = fetcher.get(url, "the feed")
        assert again.from_cache and again.body == first.body and len(server.requests) == 1
        assert again.fetched_at == first.fetched_at  # the retrieval date is the first fetch's
        now[0] += dt.timedelta(minutes=2)  # older than 6 hours: asked again
        assert not fetcher.get(url, "the feed").from_cache and len(server.requests) == 2
        refresh = Fetcher(settings, tmp_path / "cache", clock=lambda: now[0], refresh=True)
        assert not refresh.get(url, "the feed").from_cache and len(server.requests) == 3
        now[0] += dt.timedelta(hours=7)
        assert fetcher.prune_cache() == 1
        fetcher.close()


def test_a_failed_fetch_is_not_cached(tmp_path):
    answers = [(500, {}, {"detail": "no"}), small_feed()]
    with FeedServer(default=lambda request: answers.pop(0)) as server:
        settings = FetchSettings(feed_url=server.url, retries=0)
        url = server.url + FEED_PATH.format(kind="all", month="07", day="20")
        with Fetcher(settings, tmp_path / "cache") as fetcher:
            with pytest.raises(FetchError, match="answered 500"):
                fetcher.get(url, "the feed")
            assert not fetcher.get(url, "the feed").from_cache


# --- promote ---------------------------------------------------------------------------------


def test_promote_makes_a_candidate_curated_and_a_new_fetch_leaves_it(tmp_path, cli_run):
    db = tmp_path / "s.db"
    with FeedServer(default=small_feed()) as server:
        config = content_config(tmp_path, server.url, cache_hours=0)
        fetch = ("--config", str(config), "--db", str(db), "fetch", "onthisday", "--date", "07-20")
        assert cli_run(*fetch)[0] == 0
        (event,) = Store(db).iter_events()
        assert event.origin == "wikipedia"
        code, out, err = cli_run("--db", str(db), "events", "candidates", "--date", "07-20")
        row = out.splitlines()[1].split()
        assert code == 0 and row[:3] == [event.id, event.date.iso(), "candidate"]
        code, out, err = cli_run("--db", str(db), "events", "promote", event.id)
        assert code == 0, err
        assert out.strip() == f"promoted {event.id} ({event.title})"
        code, out, err = cli_run("--db", str(db), "events", "promote", event.id)
        assert code == 2 and "already curated" in err
        code, _, err = cli_run("--db", str(db), "events", "promote", "no-such-id")
        assert code == 2 and "no event with id 'no-such-id'" in err
        before = snapshot(db)
        code, out, err = cli_run(*fetch)
        assert code == 0, err
        assert "1 left alone (already curated)" in out
        assert snapshot(db) == before
    # an import of a saved answer or the data set leaves it curated too
    path = write(tmp_path / "onthisday-07-20.json", json.dumps(small_feed()))
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    assert Store(db).get_event(event.id).origin == "curated"
    code, out, _ = cli_run("--db", str(db), "events", "candidates")
    assert out == ""


def test_a_candidates_fetched_background_survives_a_new_fetch(tmp_path, cli_run):
    db = tmp_path / "s.db"
    with FeedServer(default=small_feed()) as server:
        config = content_config(tmp_path, server.url, cache_hours=0)
        fetch = ("--config", str(config), "--db", str(db), "fetch", "onthisday", "--date", "07-20")
        assert cli_run(*fetch)[0] == 0
        store = Store(db)
        (event,) = store.iter_events()
        event.parts[0]["blocks"].insert(0, {"type": "background", "url": "https://example.org/a",
                                             "excerpt": "Kept.", "source": "Example"})  # fmt: skip
        store.import_events([event])
        assert cli_run(*fetch)[0] == 0
        blocks = Store(db).get_event(event.id).parts[0]["blocks"]
        assert [b["type"] for b in blocks] == ["background", "background", "links"]
        assert blocks[1]["excerpt"] == "Kept."
