"""What events and lists name stays resolvable: removing a member, or giving a member a display
name another member has, is refused while something uses it (issue 11, item 4)."""

from __future__ import annotations

import pytest

from tests.conftest import write

COMMUNITY = """\
members:
  - id: ann
    name: SGT Ann
    handles: {discourse: ann}
  - id: bob
    name: PO1 Bob
    handles: {discourse: bob}
  - id: cat
    name: Cat
  - id: dan
    name: Dan
lists:
  - name: crew
    members: [ann, bob]
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: they landed.
    parts:
      - blocks:
          - {type: text, text: One.}
          - {type: mentions, lists: [crew], members: [cat, PO1 Bob]}
      - blocks:
          - {type: text, text: Two.}
          - {type: mentions, members: [cat]}
  - date: "1969-07-21"
    title: Apollo 11 leaves the Moon
    lead: they left.
    parts:
      - blocks:
          - {type: text, text: Up.}
          - {type: mentions, members: [cat]}
"""
LANDING = "1969-07-20-apollo-11-lands-on-the-moon"
LEAVING = "1969-07-21-apollo-11-leaves-the-moon"


@pytest.fixture
def run(cli_run, tmp_path, monkeypatch):
    """The CLI on a store holding the community above."""
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    code, _, err = cli_run("--db", db, "import", str(write(tmp_path / "c.yaml", COMMUNITY)))
    assert code == 0, err
    return lambda *args: cli_run("--db", db, *args)


def snapshot(run) -> str:
    """Everything the store holds, as `export` writes it."""
    code, out, err = run("export")
    assert code == 0, err
    return out


def mentions_of(run, event_id: str) -> list[dict]:
    import yaml

    event = yaml.safe_load(run("events", "show", event_id)[1])
    return [b for part in event["parts"] for b in part["blocks"] if b["type"] == "mentions"]


def test_removing_a_member_an_event_names_by_id_is_refused(run):
    before = snapshot(run)
    code, out, err = run("mentions", "members", "remove", "cat")
    assert code == 2
    assert len(err.splitlines()) == 1
    assert LANDING in err and LEAVING in err and "--force" in err
    assert snapshot(run) == before
    assert run("preview", "--date", "07-20")[0] == 0


def test_removing_a_member_an_event_names_by_display_name_is_refused(run):
    code, _, err = run("mentions", "members", "remove", "bob")
    assert code == 2
    assert LANDING in err and LEAVING not in err
    assert "crew" in err  # the list that lists bob
    assert len(err.splitlines()) == 1


def test_removing_a_member_only_a_list_uses_names_the_list(run):
    code, _, err = run("mentions", "members", "remove", "ann")
    assert code == 2
    assert "list crew" in err and "--force" in err
    assert "events" not in err


def test_removing_an_unused_member_just_works(run):
    assert run("mentions", "members", "remove", "dan") == (0, "removed dan (Dan)\n", "")


def test_force_removes_the_references_and_says_which(run):
    code, out, err = run("mentions", "members", "remove", "--force", "PO1 Bob")
    assert code == 0, err
    assert out.splitlines()[0] == "removed bob (PO1 Bob)"
    assert "lists: crew" in out
    assert f"events: {LANDING}" in out and LEAVING not in out
    assert mentions_of(run, LANDING) == [
        {"type": "mentions", "lists": ["crew"], "members": ["cat"]},
        {"type": "mentions", "members": ["cat"]},
    ]
    assert run("mentions", "lists", "show", "crew")[1] == "ID   NAME\nann  SGT Ann\n"
    assert run("preview", "--date", "07-20")[0] == 0
    # an import of the export still works: nothing names the removed member
    assert "bob" not in snapshot(run)


def test_force_drops_a_mentions_block_left_empty(run):
    code, out, err = run("mentions", "members", "remove", "--force", "cat")
    assert code == 0, err
    assert f"events: {LANDING}, {LEAVING}" in out
    assert mentions_of(run, LEAVING) == []
    assert mentions_of(run, LANDING) == [
        {"type": "mentions", "lists": ["crew"], "members": ["PO1 Bob"]}
    ]
    assert run("preview", "--date", "07-21")[0] == 0


def test_many_events_are_named_a_few_then_how_many_more(run, tmp_path):
    events = "".join(
        f"""  - date: "1970-08-{day:02d}"
    title: Day {day}
    lead: a day.
    parts:
      - blocks:
          - {{type: mentions, members: [dan]}}
"""
        for day in range(1, 13)
    )
    assert run("import", str(write(tmp_path / "many.yaml", "events:\n" + events)))[0] == 0
    code, _, err = run("mentions", "members", "remove", "dan")
    assert code == 2 and "and 7 more" in err and len(err.splitlines()) == 1


def test_adding_a_member_with_a_display_name_an_event_uses_is_refused(run):
    before = snapshot(run)
    code, _, err = run("mentions", "members", "add", "bob2", "PO1 Bob")
    assert code == 2
    assert LANDING in err and "--force" in err and len(err.splitlines()) == 1
    assert snapshot(run) == before
    assert run("preview", "--date", "07-20")[0] == 0


def test_force_adds_and_points_the_events_at_the_member_they_meant(run):
    code, out, err = run("mentions", "members", "add", "--force", "bob2", "PO1 Bob")
    assert code == 0, err
    assert LANDING in out
    assert mentions_of(run, LANDING)[0]["members"] == ["cat", "bob"]
    assert run("preview", "--date", "07-20")[0] == 0


def test_a_shared_display_name_nothing_uses_is_allowed(run):
    assert run("mentions", "members", "add", "ann2", "SGT Ann")[0] == 0


def test_renaming_to_a_display_name_an_event_uses_is_refused(run):
    code, _, err = run("mentions", "members", "edit", "dan", "--name", "PO1 Bob")
    assert code == 2 and LANDING in err and len(err.splitlines()) == 1
    assert run("preview", "--date", "07-20")[0] == 0


def test_renaming_a_member_an_event_names_by_display_name_is_refused(run):
    code, _, err = run("mentions", "members", "edit", "bob", "--name", "CPO Bob")
    assert code == 2 and LANDING in err and "--force" in err
    code, out, err = run("mentions", "members", "edit", "--force", "bob", "--name", "CPO Bob")
    assert code == 0, err
    assert mentions_of(run, LANDING)[0]["members"] == ["cat", "bob"]
    assert run("preview", "--date", "07-20")[0] == 0


def test_yaml_import_that_makes_a_used_name_ambiguous_is_refused(run, tmp_path):
    before = snapshot(run)
    other = write(tmp_path / "more.yaml", "members:\n  - id: bob2\n    name: PO1 Bob\n")
    code, _, err = run("import", str(other))
    assert code == 2 and LANDING in err and "PO1 Bob" in err and len(err.splitlines()) == 1
    assert snapshot(run) == before


def test_yaml_event_naming_an_ambiguous_name_is_refused(run, tmp_path):
    shared = "members:\n  - id: ann2\n    name: SGT Ann\n"
    assert run("import", str(write(tmp_path / "ann2.yaml", shared)))[0] == 0
    event = write(
        tmp_path / "e.yaml",
        'date: "1970-01-01"\ntitle: T\nlead: L.\nparts:\n'
        "  - blocks:\n      - {type: mentions, members: [SGT Ann]}\n",
    )
    code, _, err = run("import", str(event))
    assert code == 2 and "e.yaml" in err and "SGT Ann" in err and "ann, ann2" in err


def test_csv_import_that_makes_a_used_name_ambiguous_is_refused(run, tmp_path):
    before = snapshot(run)
    csv_file = write(tmp_path / "m.csv", "id,name\ndan,PO1 Bob\n")
    code, _, err = run("mentions", "import", str(csv_file))
    assert code == 2
    assert "m.csv:2" in err and LANDING in err and len(err.splitlines()) == 1
    assert snapshot(run) == before


def test_the_bundled_data_still_imports(sample_store):
    # the reference members share a display name ("LTC (Join to see)") that nothing names
    assert len(sample_store.members()) >= 54


def test_a_credit_naming_a_member_keeps_them_from_going_silently(cli_run, tmp_path, monkeypatch):
    """A credit is a member (issue 16): removing the member it names is refused like a mention,
    and with --force the thanks keeps their name, as plain text."""
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    credited = COMMUNITY.replace(
        "    lead: they left.\n", "    lead: they left.\n    credit: dan\n"
    )
    assert cli_run("--db", db, "import", str(write(tmp_path / "c.yaml", credited)))[0] == 0
    code, _, err = cli_run("--db", db, "mentions", "members", "remove", "dan")
    assert code == 2 and LEAVING in err and "--force" in err and len(err.splitlines()) == 1
    code, out, err = cli_run("--db", db, "mentions", "members", "remove", "--force", "dan")
    assert code == 0 and f"events: {LEAVING}" in out, err
    code, out, _ = cli_run("--db", db, "preview", "--date", "07-21")
    assert code == 0 and "Thank you my friend Dan for making us aware" in out


def test_the_checks_read_only_the_events_that_may_name_members(sample_store):
    """Which events name members (a mentions block, a credit) is asked on every members
    import: walking the id index to return them in order read 1.3 million events out of
    table order (7 s); the store keeps an index of each kind of event, and reads it alone."""
    from bot.events.mentions import MentionUses

    statements: list[str] = []
    sample_store.conn.set_trace_callback(statements.append)
    try:
        uses = MentionUses.from_store(sample_store)
    finally:
        sample_store.conn.set_trace_callback(None)
    assert uses.events  # the bundled events name members
    reads = [s for s in statements if s.lstrip().lower().startswith("select") and " events " in s]
    assert len(reads) == 2
    for statement in reads:
        plan = " | ".join(
            row[-1] for row in sample_store.conn.execute("explain query plan " + statement)
        )
        assert "SCAN events USING" in plan and "sqlite_autoindex_events_1" not in plan, plan
