from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import BotError
from bot.events.mentions import MentionDirectory
from bot.model import Event
from bot.threads.render import ZERO_WIDTH_SPACE, render_thread

DAY = dt.date(2026, 7, 20)


def make_event(**changes) -> Event:
    parts = changes.pop("parts", None) or [
        {"blocks": [
            {"type": "video", "title": "The landing", "description": "NASA film.", "url": "https://example.org/v?a=1&b=2"},
            {"type": "images", "images": [{"caption": "Aldrin", "url": None, "file": None},
                                          {"caption": "Eagle", "url": "https://example.org/e.jpg", "file": None}]},
            {"type": "background", "url": "https://en.wikipedia.org/wiki/Apollo_11", "source": "Wikipedia",
             "excerpt": "Apollo 11 was a spaceflight.\n\nLaunch\nIt launched on July 16."},
            {"type": "links", "title": "Further reading", "links": [{"title": "NASA", "url": "https://nasa.gov"}]},
            {"type": "quote", "text": "One small step", "cite": "Neil Armstrong"},
            {"type": "mentions", "lists": [], "members": ["jane"]},
        ]},
        {"blocks": [{"type": "text", "text": "A reply."}]},
    ]  # fmt: skip
    fields = dict(
        id="apollo", date=__import__("bot.model.dates").model.dates.AnniversaryDate(7, 20, 1969),
        title="Apollo 11 lands on the Moon", lead="Neil Armstrong walked on the Moon.", parts=parts,
    )  # fmt: skip
    fields.update(changes)
    return Event(**fields)


DIRECTORY = MentionDirectory(
    [{"id": "jane", "name": "SGT Jane Doe", "handles": {"discourse": "janedoe"}},
     {"id": "joe", "name": "Joe", "handles": {}}],
    [{"name": "crew", "members": ["jane", "joe"]}],
)  # fmt: skip


def test_text_format():
    thread = render_thread(make_event(), DAY, "text", DIRECTORY)
    lead, reply = thread.posts
    assert lead.title == "July 20, 1969: Apollo 11 lands on the Moon (57th anniversary)"
    assert lead.body.splitlines() == [
        "On July 20, 1969, Neil Armstrong walked on the Moon.",
        "",
        "The landing",
        "NASA film.",
        "https://example.org/v?a=1&b=2",
        "",
        "Images:",
        "1. Aldrin",
        "2. Eagle",
        "",
        "Background from {[https://en.wikipedia.org/wiki/Apollo_11]}",
        "Apollo 11 was a spaceflight.",
        "",
        "Launch",
        "It launched on July 16.",
        "",
        "Further reading:",
        "- NASA: https://nasa.gov",
        "",
        '"One small step"',
        "— Neil Armstrong",
        "",
        "FYI SGT Jane Doe",
    ]
    assert [m.id for m in lead.mentions] == ["jane"]
    assert reply.title is None and reply.body == "A reply." and reply.mentions == []
    assert lead.length == len(lead.body)


def test_credit_line():
    thread = render_thread(make_event(credit="SGT Jane Doe"), DAY, "text", DIRECTORY)
    assert thread.posts[0].body.startswith(
        "Thank you my friend SGT Jane Doe for making us aware that on July 20, 1969, Neil"
    )


def test_markdown_format_mentions_and_escaping():
    event = make_event(lead="the *crew* landed_safely at [base](https://evil.example).")
    thread = render_thread(event, DAY, "markdown", DIRECTORY, platform="discourse")
    body = thread.posts[0].body
    assert (
        "On **July 20, 1969**, the \\*crew\\* landed\\_safely at \\[base\\](https://evil.example)."
        in body
    )
    assert "\nhttps://example.org/v?a=1&b=2\n" in body  # a URL alone on its line: a onebox
    assert "2. [Eagle](https://example.org/e.jpg)" in body
    assert "**Background from [Wikipedia](https://en.wikipedia.org/wiki/Apollo_11)**" in body
    assert body.endswith("FYI @janedoe")


def test_html_is_escaped():
    event = make_event(lead="<script>alert(1)</script> & more.")
    body = render_thread(event, DAY, "html", DIRECTORY).posts[0].body
    assert "<script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in body
    assert 'href="https://example.org/v?a=1&amp;b=2"' in body


def test_event_text_is_never_a_template():
    event = make_event(lead="{{ 7 * 7 }} {% for x in [1] %}loop{% endfor %}.")
    body = render_thread(event, DAY, "text", DIRECTORY).posts[0].body
    assert "{{ 7 * 7 }} {% for x in [1] %}loop{% endfor %}." in body
    assert "49" not in body


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_at_signs_in_event_text_cannot_ping(fmt):
    event = make_event(lead="Thanks @everyone and @here and @someone@example.social.")
    body = render_thread(event, DAY, fmt, DIRECTORY, platform="discourse").posts[0].body
    for word in ("everyone", "here", "someone"):
        assert f"@{word}" not in body
        assert f"@{ZERO_WIDTH_SPACE}{word}" in body


def test_member_without_handle_is_named_not_pinged():
    event = make_event(parts=[{"blocks": [{"type": "mentions", "lists": ["crew"], "members": []}]}])
    body = render_thread(event, DAY, "markdown", DIRECTORY, platform="discourse").posts[0].body
    assert body.endswith("FYI @janedoe Joe")


def test_user_template_overrides_default(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "title.j2").write_text("{{ years }} years: {{ event.title }}")
    thread = render_thread(make_event(), DAY, "text", DIRECTORY, user_templates=tmp_path)
    assert thread.posts[0].title == "57 years: Apollo 11 lands on the Moon"
    # the other templates still come from the package
    assert thread.posts[0].body.startswith("On July 20, 1969,")


def test_undefined_variable_fails_naming_template_and_line(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "title.j2").write_text("Title\n{{ event.nonexistent }}")
    with pytest.raises(BotError) as raised:
        render_thread(make_event(), DAY, "text", DIRECTORY, user_templates=tmp_path)
    message = str(raised.value)
    assert "text/title.j2:2" in message and "nonexistent" in message


def test_template_syntax_error_names_template_and_line(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "images.j2").write_text("Images:\n{% for x in %}\n")
    with pytest.raises(BotError, match=r"images.j2:2: template error"):
        render_thread(make_event(), DAY, "text", DIRECTORY, user_templates=tmp_path)


def test_filters_in_templates(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "title.j2").write_text(
        "{{ years|ordinal }} anniversary, {{ years_ago }}: {{ event.date|date_words }}"
    )
    title = (
        render_thread(make_event(), DAY, "text", DIRECTORY, user_templates=tmp_path).posts[0].title
    )
    assert title == "57th anniversary, 57 years ago: July 20, 1969"
