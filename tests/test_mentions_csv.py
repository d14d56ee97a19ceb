"""Members CSV and YAML imports: they merge and never erase by omission (issue 11, item 5), and
a hostile CSV gets one line naming file, line and column (issue 12)."""

from __future__ import annotations

import json
import time

import pytest

from bot.events.mentions import MentionAdmin
from bot.store import Store
from tests.conftest import write

COMMUNITY = """\
members:
  - id: ann
    name: SGT Ann
    handles: {discourse: ann, matrix: "@ann:example.org"}
    tags: [space, navy]
  - id: bob
    name: PO1 Bob
    handles: {discourse: bob}
    tags: [navy]
lists:
  - name: crew
    members: [ann, bob]
  - name: space-fans
    members: [ann]
"""


@pytest.fixture
def run(cli_run, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    code, _, err = cli_run("--db", db, "import", str(write(tmp_path / "c.yaml", COMMUNITY)))
    assert code == 0, err
    return lambda *args: cli_run("--db", db, *args)


def members(run) -> dict[str, dict]:
    code, out, err = run("mentions", "members", "list", "--json")
    assert code == 0, err
    return {m["id"]: m for m in json.loads(out)}


def list_members(run, name: str) -> list[str]:
    shown = json.loads(run("mentions", "lists", "show", name, "--json")[1])
    return [member["id"] for member in shown["members"]]


def snapshot(run) -> str:
    return run("mentions", "export")[1]


def import_csv(run, tmp_path, text: str, *options: str, name: str = "m.csv"):
    return run("mentions", "import", *options, str(write(tmp_path / name, text)))


# --- merging ----------------------------------------------------------------------------------


def test_a_csv_without_a_column_keeps_what_the_store_has(run, tmp_path):
    code, out, err = import_csv(run, tmp_path, "id,name,opted_out\nann,SGT Ann Smith,\n")
    assert code == 0, err
    ann = members(run)["ann"]
    assert ann["name"] == "SGT Ann Smith"
    assert ann["handles"] == {"discourse": "ann", "matrix": "@ann:example.org"}
    assert ann["tags"] == ["space", "navy"]
    assert ann["opted_out"] is None
    assert list_members(run, "crew") == ["ann", "bob"]
    assert list_members(run, "space-fans") == ["ann"]


def test_an_empty_cell_clears_that_value_only(run, tmp_path):
    code, _, err = import_csv(run, tmp_path, "id,name,matrix,tags,lists\nann,SGT Ann,,,crew\n")
    assert code == 0, err
    ann = members(run)["ann"]
    assert ann["handles"] == {"discourse": "ann"}  # the matrix column was present and empty
    assert ann["tags"] == []
    assert list_members(run, "crew") == ["ann", "bob"]
    assert list_members(run, "space-fans") == []  # the lists cell says: only crew


def test_replace_replaces_each_record_wholesale(run, tmp_path):
    code, _, err = import_csv(run, tmp_path, "id,name,slack\nann,SGT Ann,U0123ABCD\n", "--replace")
    assert code == 0, err
    got = members(run)
    assert got["ann"]["handles"] == {"slack": "U0123ABCD"} and got["ann"]["tags"] == []
    assert got["bob"]["handles"] == {"discourse": "bob"}  # not in the file: untouched


def test_a_new_member_gets_what_the_file_gives(run, tmp_path):
    code, out, err = import_csv(run, tmp_path, "id,name,tags,lists\ncat,Cat,space,crew new-list\n")
    assert code == 0, err
    assert out == "imported 1 member, 2 lists\n"
    assert members(run)["cat"]["tags"] == ["space"]
    assert list_members(run, "crew") == ["ann", "bob", "cat"]
    assert list_members(run, "new-list") == ["cat"]


def test_yaml_import_merges_the_same_way(run, tmp_path):
    partial = write(
        tmp_path / "partial.yaml",
        "members:\n"
        "  - id: ann\n    name: SGT Ann\n    handles: {matrix: null, slack: U0123ABCD}\n"
        "  - id: bob\n    name: PO1 Bob\n    tags: []\n",
    )
    code, _, err = run("import", str(partial))
    assert code == 0, err
    got = members(run)
    assert got["ann"]["handles"] == {"discourse": "ann", "slack": "U0123ABCD"}
    assert got["ann"]["tags"] == ["space", "navy"]
    assert got["bob"] == {
        "id": "bob",
        "name": "PO1 Bob",
        "handles": {"discourse": "bob"},
        "tags": [],
        "opted_out": None,
    }
    lists_only = write(tmp_path / "lists.yaml", "lists:\n  - name: crew\n    description: Crew\n")
    assert run("import", str(lists_only))[0] == 0
    assert list_members(run, "crew") == ["ann", "bob"]


def test_mentions_import_of_yaml_merges_and_replaces(run, tmp_path):
    partial = write(tmp_path / "p.yaml", "members:\n  - id: ann\n    name: Ann\n")
    assert run("mentions", "import", str(partial))[0] == 0
    assert members(run)["ann"]["handles"] == {"discourse": "ann", "matrix": "@ann:example.org"}
    assert run("mentions", "import", "--replace", str(partial))[0] == 0
    assert members(run)["ann"]["handles"] == {}


# --- export and import back -------------------------------------------------------------------


def test_yaml_export_imports_back_unchanged(run, cli_run, tmp_path):
    import_csv(run, tmp_path, "id,name,lists\ncat,Cat,crew\n")
    exported = snapshot(run)
    fresh = str(tmp_path / "fresh.db")
    code, _, err = cli_run(
        "--db", fresh, "mentions", "import", str(write(tmp_path / "e.yaml", exported))
    )
    assert code == 0, err
    assert cli_run("--db", fresh, "mentions", "export")[1] == exported


def test_csv_export_imports_back_unchanged(run, cli_run, tmp_path):
    code, exported, err = run("mentions", "export", "--format", "csv")
    assert code == 0, err
    assert exported.splitlines()[0].startswith("id,name,")
    fresh = str(tmp_path / "fresh.db")
    code, _, err = cli_run(
        "--db", fresh, "mentions", "import", str(write(tmp_path / "e.csv", exported))
    )
    assert code == 0, err
    assert cli_run("--db", fresh, "mentions", "export")[1] == snapshot(run)


# --- hostile files ----------------------------------------------------------------------------


def test_a_line_separator_inside_a_quoted_field_stays_in_the_field(run, tmp_path):
    code, out, err = import_csv(run, tmp_path, 'id,name\ncat,"Cat\u2028the Second"\ndan,Dan\n')
    assert code == 0, err
    assert out == "imported 2 members, 0 lists\n"
    assert members(run)["cat"]["name"] == "Cat\u2028the Second"


def test_a_newline_inside_a_quoted_field_counts_lines_right(run, tmp_path):
    text = 'id,name,tags\ncat,Cat,"space\nnavy"\nDan Upper,Dan,\n'
    code, _, err = import_csv(run, tmp_path, text)
    assert code == 2 and "m.csv:4: id:" in err


BAD_FILES = [
    ("id,name,name\nann,A,B\n", "bad.csv:1: column 'name' appears twice"),
    ("id,name,Tags,tags\n", "bad.csv:1: column 'tags' appears twice"),
    ("id,name,lists\ncat,Cat,Crew!\n", "bad.csv:2: lists: 'Crew!'"),
    ("id,name,lists\ncat,Cat,crew;-x\n", "bad.csv:2: lists: '-x'"),
    ("id,name,tags\ncat,Cat,Space\n", "bad.csv:2: tags:"),
    ("id,name\ncat," + "x" * 2_000 + "\n", "bad.csv:2: name: 2,000 characters"),
    ("id,name\ncat," + "x" * 200_000 + "\n", "bad.csv:2: a field is over"),
    ("id,name\ncat,Cat\0\n", "bad.csv:2: name: control character"),
    ('id,name\ncat,"Cat\nthe Second"\n', "bad.csv:2: name: control character"),
    ('id,name\ncat,"Cat\n', "bad.csv:2: a quoted field is not closed"),
    ("id,name,\ncat,Cat,\n", "bad.csv:1: column 3 has no name"),
    ("\n\n", "bad.csv: the file is empty"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_a_bad_csv_is_one_line_and_changes_nothing(run, tmp_path, text, message):
    before = snapshot(run)
    code, out, err = import_csv(run, tmp_path, text, name="bad.csv")
    assert code == 2, (out, err)
    assert message in err
    assert len(err.splitlines()) == 1 and "unexpected" not in err
    assert snapshot(run) == before


def test_a_file_over_the_size_cap_is_refused(run, tmp_path, monkeypatch):
    import bot.events.mentions

    monkeypatch.setattr(bot.events.mentions, "MAX_CSV_BYTES", 1000)
    text = "id,name\n" + "".join(f"m{i},Member {i}\n" for i in range(100))
    code, _, err = import_csv(run, tmp_path, text, name="big.csv")
    assert code == 2 and "big.csv: " in err and "1,000 bytes" in err


def test_ten_thousand_members_import_in_linear_time(tmp_path):
    """Issue 20 measured quadratic loops here; this many members took minutes."""
    rows = "".join(
        f"m{i},Member {i},space,crew,user{i},@user{i}:example.org\n" for i in range(10_000)
    )
    path = write(tmp_path / "big.csv", "id,name,tags,lists,discourse,matrix\n" + rows)
    store = Store(tmp_path / "big.db")
    started = time.process_time()
    assert MentionAdmin(store).import_file(str(path)) == (10_000, 1)
    assert time.process_time() - started < 2.0
    assert len(store.members()) == 10_000
