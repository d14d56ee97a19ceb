"""Output in words (issue 17): counts agree with their nouns, messages say what is allowed
instead of showing a pattern, and ``post --dry-run`` ends with what it would send."""

from __future__ import annotations

import re

import pytest

from tests.conftest import write, write_config

PARTS = "parts:\n  - blocks:\n      - type: text\n        text: A part.\n"
ONE_EVENT = 'date: "1969-07-20"\ntitle: Apollo 11 lands on the Moon\nlead: They landed.\n' + PARTS
LEAP_EVENT = 'date: "1968-02-29"\ntitle: A leap-day event\nlead: It happened.\n' + PARTS
MEMBERS = 'id,name,tags\njane,Jane,"space, cold-war"\njoe,Joe,navy\n'
PATTERN = re.compile(r"\^|\$|\[a-z|\\\\|String should match")


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


def test_import_and_export_count_in_words(cli_run, tmp_path):
    db = ("--db", str(tmp_path / "s.db"))
    code, out, _ = cli_run(*db, "import", str(write(tmp_path / "e.yaml", ONE_EVENT)))
    assert code == 0
    assert out.startswith("Imported 1 event (1 new, 0 updated), 0 members, 0 lists, into ")
    assert cli_run(*db, "mentions", "import", str(write(tmp_path / "m.csv", MEMBERS)))[0] == 0
    assert cli_run(*db, "mentions", "lists", "create", "fans")[0] == 0
    code, _, err = cli_run(*db, "export", "--out", str(tmp_path / "all.yaml"))
    assert err == f"Exported 1 event, 2 members, 1 list to {tmp_path / 'all.yaml'}\n"


def test_the_calendar_counts_one_leap_day_event_in_the_singular(cli_run, tmp_path):
    db = ("--db", str(tmp_path / "s.db"))
    assert cli_run(*db, "import", str(write(tmp_path / "e.yaml", LEAP_EVENT)))[0] == 0
    code, out, _ = cli_run(*db, "calendar", "--year", "2026")
    assert "February 29's 1 event is counted on February 28" in out


def test_a_config_without_destinations_says_so_in_words(cli_run, tmp_path):
    config = write(tmp_path / "bot.yaml", "destinations: {}\n")
    code, _, err = cli_run("config", "check", "--config", str(config))
    assert code == 2
    assert err == (
        f"Error: {config}:1: destinations: no destination: name at least one "
        "(see config.example.yaml)\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["mentions", "members", "add", "jane", "Jane", "--tag", "Space"],
        ["mentions", "members", "add", "jane", "Jane", "--tag", "space_race"],
    ],
)
def test_a_bad_tag_is_explained_in_words_not_as_a_pattern(cli_run, tmp_path, args):
    code, _, err = cli_run(*args, "--db", str(tmp_path / "s.db"))
    assert code == 2
    assert "use lower-case letters, digits and dashes, starting with a letter or digit" in err
    assert not PATTERN.search(err), err


def test_a_bad_id_and_a_bad_language_are_explained_in_words(cli_run, tmp_path):
    bad_id = write(tmp_path / "e.yaml", "id: Bad Id\n" + ONE_EVENT)
    code, _, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(bad_id))
    assert code == 2 and "use letters, digits, dots, dashes and underscores" in err
    assert not PATTERN.search(err), err
    config = write_config(
        tmp_path / "bot.yaml", "  o:\n    type: console\n", "content:\n  language: EN\n"
    )
    code, _, err = cli_run("config", "check", "--config", str(config))
    assert code == 2 and "expected a language code such as en or pt-br, got 'EN'" in err
    assert not PATTERN.search(err), err


def test_tags_and_lists_are_separated_by_commas_everywhere(cli_run, tmp_path):
    db = ("--db", str(tmp_path / "s.db"))
    assert cli_run(*db, "mentions", "import", str(write(tmp_path / "m.csv", MEMBERS)))[0] == 0
    assert cli_run(*db, "mentions", "members", "add", "ann", "Ann", "--tag", "space,navy")[0] == 0
    assert cli_run(*db, "mentions", "members", "edit", "joe", "--tags", "navy, air")[0] == 0
    code, out, _ = cli_run(*db, "mentions", "members", "list")
    tags = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}
    assert tags == {"jane": "space,cold-war", "joe": "navy,air", "ann": "space,navy"}
    code, csv_text, _ = cli_run(*db, "mentions", "export", "--format", "csv")
    assert 'jane,Jane,"space,cold-war"' in csv_text
    # a CSV of an earlier version (spaces or ";") still reads
    old = write(tmp_path / "old.csv", "id,name,tags\njoe,Joe,navy;air sea\n")
    assert cli_run(*db, "mentions", "import", str(old))[0] == 0
    assert "navy,air,sea" in cli_run(*db, "mentions", "members", "list")[1]


def test_post_dry_run_ends_with_a_summary_and_says_held_once(cli_run, tmp_path, three_part_store):
    config = write_config(
        tmp_path / "bot.yaml",
        f"  held:\n    type: outbox\n    path: {tmp_path / 'a'}\n    require_approval: true\n"
        f"  open:\n    type: outbox\n    path: {tmp_path / 'b'}\n",
    )
    base = ("--config", str(config), "--db", str(three_part_store))
    code, out, _ = cli_run(*base, "post", "--dry-run", "--date", "2026-07-20")
    assert code == 0
    held_lines = [line for line in out.splitlines() if line.startswith("held:")]
    assert held_lines == [
        "held: 1969-07-20-apollo-11-lands-on-the-moon: not posted: waits for approval (no "
        "draft yet): 'anniversary-bot drafts generate', then 'drafts approve ID'",
        "held: 2026-07-20: dry run: would send 0 posts, 1 thread held back (above); nothing sent",
    ]
    assert out.endswith("open: 2026-07-20: dry run: would send 3 posts (1 thread); nothing sent\n")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
