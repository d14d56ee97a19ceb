"""The layouts of the reference thread's series (issue 16), written as data with the bundled
templates: each example event in ``data/events/layouts/`` against its golden output, written
by hand from the layout it stands for; and the options one by one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.app import import_paths, threads_for_day
from bot.events.mentions import MentionDirectory
from bot.model import Event, Member
from bot.model.dates import AnniversaryDate
from bot.posters.base import Capabilities
from bot.store import Store
from bot.threads.fitting import fit_thread
from bot.threads.render import Thread, mention_text, render_thread
from tests.conftest import write

GOLDEN = Path(__file__).with_name("golden")
SERIES = "1940-08-20-leon-trotsky-is-fatally-wounded-in-mexico-city"
BORN = "1879-11-07-leon-trotsky-is-born"


def as_golden(thread: Thread) -> str:
    """The thread as the golden files write it: the title, then each post, replies after a
    separator line."""
    posts = [f"Title: {thread.posts[0].title}\n\n{thread.posts[0].body}"]
    posts += [post.body for post in thread.posts[1:]]
    return "\n\n---- reply ----\n\n".join(posts) + "\n"


def sample_thread(store: Store, event_id: str, fmt: str, platform: str | None = None) -> Thread:
    event = store.get_event(event_id)
    day = dt.date(2026, event.date.month, event.date.day)
    return render_thread(event, day, fmt, MentionDirectory.from_store(store), platform)


@pytest.mark.parametrize(
    ("event_id", "fmt", "golden"),
    [(SERIES, "text", f"{SERIES}.txt"), (SERIES, "markdown", f"{SERIES}.md"),
     (BORN, "text", f"{BORN}.txt")],
)  # fmt: skip
def test_each_layout_renders_as_its_golden_file(sample_store, event_id, fmt, golden):
    expected = (GOLDEN / golden).read_text(encoding="utf-8")
    assert as_golden(sample_thread(sample_store, event_id, fmt)) == expected


def test_the_sample_day_posts_the_layout(sample_store):
    threads = threads_for_day(sample_store, dt.date(2026, 8, 20), "text", limit=None)
    assert SERIES in [t.event_id for t in threads]


# --- the credit is a member ---------------------------------------------------------------------


def test_a_credit_naming_a_member_mentions_them_where_they_have_a_handle(sample_store):
    thread = sample_thread(sample_store, SERIES, "markdown", "discourse")
    lead = thread.posts[0]
    assert lead.body.startswith("Thank you my friend @alexmorgan for making us aware")
    assert [m.id for m in lead.mentions][:1] == ["sgt-alex-morgan"]
    # by id too, and named in words where the member has no handle on the platform
    born = sample_thread(sample_store, BORN, "text", "mastodon").posts[0]
    assert born.body.startswith("Thank you my friend MAJ Priya Raman for")
    assert "maj-priya-raman" in [m.id for m in born.mentions]


def test_a_plain_credit_stays_a_string_and_an_opted_out_member_is_named_only():
    directory = MentionDirectory(
        [{"id": "ann", "name": "Ann", "handles": {"discourse": "ann"}},
         {"id": "bo", "name": "Bo", "handles": {"discourse": "bo"}, "opted_out": "2026-01-01"}]
    )  # fmt: skip
    for credit, shown, mentioned in [("Someone else", "Someone else", []), ("Bo", "Bo", []),
                                     ("ann", "@ann", ["ann"])]:  # fmt: skip
        event = Event("e", AnniversaryDate(7, 20, 1969), "T", "x.", [{"blocks": []}], credit)
        lead = render_thread(event, dt.date(2026, 7, 20), "text", directory, "discourse").posts[0]
        assert lead.body.startswith(f"Thank you my friend {shown} for"), credit
        assert [m.id for m in lead.mentions] == mentioned


def test_the_thanked_member_counts_against_the_cap_and_stays_in_the_lead():
    members = [Member(f"m{n}", f"Member {n}", {"discourse": f"m{n}"}) for n in range(4)]
    directory = MentionDirectory(
        [{"id": m.id, "name": m.name, "handles": m.handles} for m in members]
    )
    event = Event("e", AnniversaryDate(7, 20, 1969), "T", "x.",
                  [{"blocks": [{"type": "mentions", "lists": [], "members": ["m1", "m2", "m3"]}]}],
                  credit="m0")  # fmt: skip
    thread = render_thread(event, dt.date(2026, 7, 20), "text", directory, "discourse")
    fitted = fit_thread(
        thread, Capabilities(max_mentions=2), "discourse",
        lambda m: mention_text(m, "discourse", "text"),
    )  # fmt: skip
    lead, rest = fitted.posts[0], fitted.posts[1:]
    assert lead.body.startswith("Thank you my friend @m0 for")
    assert lead.body.endswith("FYI @m1")  # the thanked member and one more: the cap of 2
    assert [m.id for m in lead.mentions] == ["m0", "m1"]
    assert [[m.id for m in p.mentions] for p in rest] == [["m2", "m3"]]
    assert rest[0].body == "(continued)\nFYI @m2 @m3"


# --- a topic title of its own ---------------------------------------------------------------------


def test_a_topic_title_is_printed_as_written_and_followed_by_the_anniversary_on_discourse(
    sample_store,
):
    assert sample_thread(sample_store, SERIES, "text").posts[0].title == "Leon Trotsky"
    event, directory = sample_store.get_event(SERIES), MentionDirectory.from_store(sample_store)
    titles = [
        render_thread(event, dt.date(year, 8, 20), "markdown", directory, "discourse")
        .posts[0]
        .title
        for year in (2026, 2027)
    ]
    # Discourse refuses a title another topic has: the anniversary keeps each year's distinct
    assert titles == ["Leon Trotsky (86th anniversary)", "Leon Trotsky (87th anniversary)"]


# --- the options, one by one ----------------------------------------------------------------------


def one_block(block: dict, fmt: str = "text", before: dict | None = None) -> str:
    blocks = ([before] if before else []) + [block]
    event = Event("e", AnniversaryDate(7, 20, 1969), "T", "x.", [{"blocks": [{"type": "text",
                  "text": "first"}]}, {"blocks": blocks}])  # fmt: skip
    return render_thread(event, dt.date(2026, 7, 20), fmt).posts[1].body


def test_links_styles_and_titles_as_written():
    links = [{"title": None, "url": "https://www.bl.uk/x", "text": "bl.uk/x"},
             {"title": "Titled", "url": "https://example.org/t"}]  # fmt: skip
    block = {"type": "links", "title": "Sources", "links": links}
    assert one_block({**block, "style": "numbered"}) == (
        "Sources\n1. bl.uk/x\n2. Titled: https://example.org/t"
    )
    assert one_block({**block, "style": "bulleted"}) == (
        "Sources\n- bl.uk/x\n- Titled: https://example.org/t"
    )
    assert one_block({**block, "style": "bare", "title": None}) == (
        "bl.uk/x\nTitled: https://example.org/t"
    )
    assert one_block({**block, "style": "numbered"}, "markdown") == (
        "**Sources**\n1. [bl.uk/x](https://www.bl.uk/x)\n2. [Titled](https://example.org/t)"
    )
    # no style: the classic layout, a colon after the title
    assert one_block(block) == "Sources:\n- bl.uk/x\n- Titled: https://example.org/t"


def test_background_header_headline_and_marks():
    block = {"type": "background", "url": "https://example.org/b", "source": "Example",
             "excerpt": "One.\nTwo."}  # fmt: skip
    assert one_block(block) == "Background from {[https://example.org/b]}\nOne.\nTwo."
    assert one_block({**block, "header": False, "headline": "May 1, 1900", "marks": True}) == (
        'May 1, 1900\n"One.\nTwo."'
    )
    assert one_block({**block, "header": False}, "markdown") == "> One.\n>\n> Two."


def test_quote_without_marks_with_headline_and_source():
    block = {"type": "quote", "text": "Words.", "cite": "Someone"}
    assert one_block(block) == '"Words."\n— Someone'
    assert one_block({**block, "marks": False, "headline": "1900",
                      "url": "https://example.org/q"}) == (
        "1900\nWords.\n— Someone\nhttps://example.org/q"
    )  # fmt: skip
    assert one_block({**block, "url": "https://example.org/q"}, "markdown") == (
        "> Words.\n>\n> — [Someone](https://example.org/q)"
    )


def test_attach_puts_a_block_on_the_next_line():
    text = {"type": "text", "text": "A paragraph."}
    video = {"type": "video", "url": "https://example.org/v", "title": None, "description": None}
    assert one_block({**video, "attach": True}, before=text) == (
        "A paragraph.\nhttps://example.org/v"
    )
    assert one_block(video, before=text) == "A paragraph.\n\nhttps://example.org/v"
    assert one_block({**video, "attach": True}, "markdown", before=text) == (
        "A paragraph.\nhttps://example.org/v"
    )
    # only a blank line ends a Markdown block quote: the URL must not join the quote
    quote = {"type": "quote", "text": "Words.", "cite": None}
    assert one_block({**video, "attach": True}, "markdown", before=quote) == (
        "> Words.\n\nhttps://example.org/v"
    )


# --- the stored form -------------------------------------------------------------------------------


def test_options_not_given_are_not_stored(tmp_path):
    """An event written before the options existed is stored (and hashed) as it was."""
    store = Store(tmp_path / "s.db")
    import_paths(store, [write(tmp_path / "e.yaml", """\
date: "1969-07-20"
title: Apollo
lead: x.
parts:
  - blocks:
      - {type: text, text: Words.}
      - {type: quote, text: Words.}
      - {type: background, url: "https://example.org/b", excerpt: Words.}
      - type: links
        links: [{title: A, url: "https://example.org/a"}]
""")])  # fmt: skip
    (event,) = store.iter_events()
    assert event.topic_title is None
    assert json.dumps(event.parts) == json.dumps([{"blocks": [
        {"type": "text", "text": "Words."},
        {"type": "quote", "text": "Words.", "cite": None},
        {"type": "background", "url": "https://example.org/b", "excerpt": "Words.",
         "source": None},
        {"type": "links", "links": [{"title": "A", "url": "https://example.org/a"}],
         "title": "Links"},
    ]}])  # fmt: skip


def test_a_link_written_without_its_scheme_is_stored_with_it(tmp_path):
    store = Store(tmp_path / "s.db")
    import_paths(store, [write(tmp_path / "e.yaml", """\
date: "1969-07-20"
title: Apollo
lead: x.
parts:
  - blocks:
      - type: links
        style: bare
        links: [{url: bl.uk/people/leon-trotsky}]
""")])  # fmt: skip
    (event,) = store.iter_events()
    assert event.parts[0]["blocks"][0]["links"] == [
        {"title": None, "url": "https://bl.uk/people/leon-trotsky",
         "text": "bl.uk/people/leon-trotsky"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("link", "message"),
    [("{url: 'https://bank.example/login', text: 'evil.example/login'}",
      "links[0].text: 'evil.example/login' must be the URL without its scheme"),
     ("{url: 'https://example.org/a', text: 'example.org/a', title: T}",
      "links[0].text: a link shows its title or its text"),
     ("{url: 'not a url'}", "links[0].url: expected an http(s) URL")],
)  # fmt: skip
def test_a_link_text_that_is_not_its_url_is_refused_in_one_line(cli_run, tmp_path, link, message):
    path = write(tmp_path / "e.yaml", f"""\
date: "1969-07-20"
title: Apollo
lead: x.
parts:
  - blocks:
      - {{type: links, style: numbered, links: [{link}]}}
""")  # fmt: skip
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert code == 2 and len(errors) == 1 and message in errors[0], err
