"""Mention lists: members, lists, opt-out, dedupe, rotation, the CLI, CSV import."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.app import import_paths, threads_for_day
from bot.errors import InputError
from bot.events.mentions import MentionAdmin, MentionDirectory
from bot.store import Store
from bot.threads.render import render_thread
from tests.conftest import REFERENCE_EVENT_ID, write

MEMBERS = """\
members:
  - id: ann
    name: SGT Ann
    handles: {discourse: ann}
    tags: [space]
  - id: bob
    name: PO1 Bob
    handles: {discourse: bob, mastodon: "@bob@social.example"}
  - id: cat
    name: Cat
  - id: dup-1
    name: LTC (Join to see)
  - id: dup-2
    name: LTC (Join to see)
lists:
  - name: crew
    members: [ann, bob, cat]
  - name: space
    include_tags: [space]
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: they landed.
    parts:
      - blocks:
          - {type: text, text: One.}
          - {type: mentions, lists: [crew]}
      - blocks:
          - {type: text, text: Two.}
          - {type: mentions, lists: [crew, space], members: [dup-1]}
"""
DAY = dt.date(2026, 7, 20)


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(":memory:")
    import_paths(s, [write(tmp_path / "m.yaml", MEMBERS)])
    return s


def fyi_lines(store, **options):
    (thread,) = threads_for_day(store, DAY, "markdown", platform="discourse", **options)
    return [post.body.splitlines()[-1] for post in thread.posts]


def test_lists_render_per_part(store):
    assert fyi_lines(store) == ["FYI @ann @bob Cat", "FYI @ann @bob Cat LTC (Join to see)"]


def test_opted_out_members_never_appear(store):
    MentionAdmin(store).opt_out("bob", "2026-07-01")
    assert fyi_lines(store) == ["FYI @ann Cat", "FYI @ann Cat LTC (Join to see)"]
    (thread,) = threads_for_day(store, DAY, "markdown", platform="discourse")
    assert all("bob" not in [m.id for m in post.mentions] for post in thread.posts)


def test_dedupe_across_parts_only_when_asked(store):
    assert fyi_lines(store, dedupe_mentions=True) == ["FYI @ann @bob Cat", "FYI LTC (Join to see)"]


def test_rotation_is_deterministic_and_moves_the_first(store):
    event = store.events_on(7, 20)[0]
    directory = MentionDirectory.from_store(store)
    firsts = []
    for offset in range(7):
        day = DAY + dt.timedelta(days=offset)
        one = render_thread(event, day, "text", directory, rotate_mentions=True)
        two = render_thread(event, day, "text", directory, rotate_mentions=True)
        assert one.posts[0].body == two.posts[0].body  # same day, same order
        firsts.append(one.posts[0].mentions[0].id)
    assert set(firsts) == {"ann", "bob", "cat"}  # over a week nobody is always first


def test_member_without_a_handle_is_named_without_a_ping(store):
    (thread,) = threads_for_day(store, DAY, "text", platform="mastodon")
    assert thread.posts[0].body.endswith("FYI SGT Ann @bob@social.example Cat")


def test_ambiguous_display_name_lists_the_ids(store):
    with pytest.raises(
        InputError, match=r"'LTC \(Join to see\)' is ambiguous: use one of the ids dup-1, dup-2"
    ):
        MentionAdmin(store).resolve("LTC (Join to see)")
    assert MentionAdmin(store).resolve("SGT Ann").id == "ann"


def test_config_lists_win_over_store_lists(store):
    directory = MentionDirectory.from_store(
        store, [{"name": "crew", "members": ["cat"], "include_tags": []}]
    )
    assert [m.id for m in directory.expand(["crew"], [])] == ["cat"]


def test_cli_members_and_lists(cli_run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    run = lambda *a: cli_run("--db", db, "mentions", *a)  # noqa: E731
    assert (
        run(
            "members",
            "add",
            "jane",
            "SGT Jane Doe",
            "--handle",
            "discourse=janedoe",
            "--tag",
            "space",
        )[1]
        == "added jane (SGT Jane Doe)\n"
    )
    code, _, err = run("members", "add", "joe", "Joe", "--handle", "discourse=janedoe")
    assert (
        code == 2
        and err
        == "Error: member: handles.discourse: 'janedoe' is already the handle of jane (SGT Jane Doe)\n"
    )
    code, _, err = run("members", "add", "joe", "Joe", "--handle", "matrix=joe")
    assert code == 2 and "matrix handle 'joe' is malformed: expected @user:server.example" in err
    assert run("lists", "create", "space-fans", "--include-tag", "space")[0] == 0
    assert run("members", "add", "joe", "Joe")[0] == 0
    assert run("lists", "add", "space-fans", "Joe")[1] == "space-fans: added joe\n"
    assert run("lists", "show", "space-fans")[1] == "ID    NAME\njoe   Joe\njane  SGT Jane Doe\n"
    code, _, err = run("lists", "add", "nope", "joe")
    assert code == 2 and "unknown mention list 'nope'" in err
    code, _, err = run("optout", "nobody")
    assert code == 2 and "unknown member 'nobody'" in err
    assert run("optout", "SGT Jane Doe")[1] == "jane (SGT Jane Doe) opted out\n"
    assert run("lists", "show", "space-fans")[1] == "ID   NAME\njoe  Joe\n"
    assert run("members", "edit", "joe", "--handle", "discourse=joe", "--tags", "navy")[0] == 0
    rows = [line.split() for line in run("members", "list")[1].splitlines()]
    assert rows[0] == ["ID", "NAME", "TAGS", "OPTED", "OUT", "HANDLES"]
    assert ["joe", "Joe", "navy", "-", "discourse=joe"] in rows
    assert run("lists", "remove", "space-fans", "joe")[0] == 0
    assert run("members", "remove", "joe")[1] == "removed joe (Joe)\n"
    exported = run("export")[1]
    assert "id: jane" in exported and "name: space-fans" in exported


def test_csv_import_and_its_errors(cli_run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    good = write(
        tmp_path / "m.csv",
        "id,name,tags,lists,discourse,matrix\nann,SGT Ann,space;navy,crew,ann,@ann:example.org\nbob,PO1 Bob,,crew space,,\n",
    )
    code, out, err = cli_run("--db", db, "mentions", "import", str(good))
    assert code == 0, err
    assert out == "imported 2 members, 2 lists\n"
    assert (
        cli_run("--db", db, "mentions", "lists", "show", "crew")[1]
        == "ID   NAME\nann  SGT Ann\nbob  PO1 Bob\n"
    )
    cases = [
        ("id,name,colour\n", "bad1.csv:1: unknown column 'colour'"),
        (
            "id,name,matrix\nzed,Zed,not-a-handle\n",
            "bad2.csv:2: handles: matrix handle 'not-a-handle' is malformed",
        ),
        ("id,name\nzed,Zed\nzed,Zed again\n", "bad3.csv:3: id: 'zed' appears twice in this file"),
        ("id,name\nzed,Zed\nyan\n", "bad4.csv:3: 1 columns, the header has 2"),
        (
            "id,name,discourse\nzed,Zed,ann\n",
            "handles.discourse: 'ann' is already the handle of ann",
        ),
        ("name\nZed\n", "bad6.csv:1: the header has no 'id' column"),
        ("id,name\nZed Upper,Zed\n", "bad7.csv:2: id:"),
    ]
    before = cli_run("--db", db, "mentions", "export")[1]
    for index, (content, message) in enumerate(cases, 1):
        path = write(tmp_path / f"bad{index}.csv", content)
        code, _, err = cli_run("--db", db, "mentions", "import", str(path))
        assert code == 2, (content, err)
        assert message in err, err
        assert len(err.strip().splitlines()) == 1
    assert cli_run("--db", db, "mentions", "export")[1] == before  # nothing half-written


def test_bundled_reference_lists_render_out_of_the_box(sample_store, reference_day):
    (thread,) = [
        t
        for t in threads_for_day(sample_store, reference_day, "text", limit=None)
        if t.event_id == REFERENCE_EVENT_ID
    ]
    assert [len(p.mentions) for p in thread.posts] == [18, 20, 19]


def test_adding_to_and_removing_from_a_list_keep_its_order(store):
    """Each member added once, at the end; removing takes a member's first place, and a
    member named once more than the list holds them is refused with nothing changed."""
    admin = MentionAdmin(store)
    admin.add_to_list("crew", ["dup-1", "ann", "SGT Ann", "dup-2", "dup-1"])
    assert admin.mention_list("crew")["members"] == ["ann", "bob", "cat", "dup-1", "dup-2"]
    store.save_lists([{"name": "twice", "members": ["ann", "bob", "ann", "cat"]}])
    with pytest.raises(InputError, match="ann \\(SGT Ann\\) is not on list 'twice'"):
        admin.remove_from_list("twice", ["ann", "cat", "ann", "ann"])
    assert admin.mention_list("twice")["members"] == ["ann", "bob", "ann", "cat"]
    admin.remove_from_list("twice", ["ann", "cat"])
    assert admin.mention_list("twice")["members"] == ["bob", "ann"]
    admin.remove_from_list("twice", ["ann"])
    assert admin.mention_list("twice")["members"] == ["bob"]


@pytest.mark.parametrize("change", ["add_to_list", "remove_from_list"])
def test_members_named_to_a_list_are_looked_up_in_one_reading_of_the_members(
    store, monkeypatch, change
):
    """`mentions lists add LIST` of 10,000 members read every member once per member named
    (a directory each: minutes); the members are read once."""
    readings = []
    members = store.members
    monkeypatch.setattr(store, "members", lambda: readings.append(1) or members())
    getattr(MentionAdmin(store), change)("crew", ["ann", "PO1 Bob", "cat"])
    assert len(readings) == 1
