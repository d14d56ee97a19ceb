"""``--json`` on every listing and ``show`` (issue 17), each object in the shape the README
documents ("JSON output"): the table there is read here, so the two cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import write, write_config
from tests.test_cli_shared_options import leaf_commands

README = Path(__file__).resolve().parent.parent / "README.md"
REFERENCE_EVENT = "1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky"
CANDIDATE = """\
id: 1928-01-10-event-0000abcd
date: "1928-01-10"
title: Something else happened
lead: It did.
tags: [event]
origin: wikipedia
parts:
  - blocks:
      - type: text
        text: A candidate.
"""


def documented_shapes() -> dict[str, tuple[set[str], set[str], list[str]]]:
    """The README's table: object -> (keys always there, keys when set, commands)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### JSON output") :]
    shapes = {}
    for line in section.splitlines()[4:]:
        if not line.startswith("|"):
            if shapes:
                break
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] in ("object", "---"):
            continue
        names = [set(re.findall(r"`([^`]+)`", cell)) for cell in cells[1:3]]
        commands = re.findall(r"`([^`]+)`", cells[3])
        shapes[cells[0]] = (names[0], names[1], commands)
    return shapes


def command_shapes() -> dict[str, str]:
    return {c: name for name, (_, _, commands) in documented_shapes().items() for c in commands}


def listing_commands() -> list[str]:
    """Every command that lists or shows something (``status`` has its own test)."""
    return [
        name
        for name in leaf_commands()
        if name.split()[-1] in ("list", "show", "candidates") or name in ("posters", "history")
    ]


def test_the_readme_documents_a_shape_for_every_listing_and_show():
    shapes = documented_shapes()
    assert {"event", "member", "list", "draft", "post row"} <= set(shapes)
    assert set(listing_commands()) <= set(command_shapes())


@pytest.mark.parametrize("name", listing_commands())
def test_every_listing_and_show_takes_json(name):
    from click import Context

    from bot.cli import cli

    command = cli
    for word in name.split():
        command = command.get_command(Context(command), word)
    assert any("--json" in getattr(p, "opts", ()) for p in command.params), name


@pytest.fixture
def bot(cli_run, tmp_path, sample_store_path):
    """A copy of the sample store with a candidate, a draft and a day posted to an outbox."""
    import shutil

    db = tmp_path / "store.db"
    shutil.copy(sample_store_path, db)
    config = write_config(
        tmp_path / "bot.yaml", f"  archive:\n    type: outbox\n    path: {tmp_path / 'out'}\n"
    )
    base = ("--config", str(config), "--db", str(db))
    assert cli_run(*base, "import", str(write(tmp_path / "c.yaml", CANDIDATE)))[0] == 0
    assert cli_run(*base, "drafts", "generate", "--date", "2026-01-11", "--days", "1")[0] == 0
    assert cli_run(*base, "post", "--date", "2026-01-10")[0] == 0

    def run(*args: str):
        code, out, err = cli_run(*args, *base)
        assert code == 0, err
        return json.loads(out)

    return run


RUNS = {
    "events list": ["--date", "01-10"],
    "events candidates": [],
    "events show": [REFERENCE_EVENT],
    "mentions members list": [],
    "mentions lists list": [],
    "mentions lists show": ["reference-fyi-1"],
    "drafts list": ["--all"],
    "drafts show": ["#1"],
    "history": [],
    "posters": ["--all"],
    "config show": [],
}


def test_each_listing_is_run_below():
    assert set(listing_commands()) <= set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_json_parses_and_has_the_documented_shape(bot, name):
    always, when_set, _ = documented_shapes()[command_shapes()[name]]
    found = bot(*name.split(), *RUNS[name], "--json")
    objects = found if isinstance(found, list) else [found]
    assert objects, f"{name}: nothing to check"
    for item in objects:
        keys = set(item)
        assert always <= keys, f"{name}: lacks {always - keys}"
        assert keys <= always | when_set, f"{name}: undocumented {keys - always - when_set}"


def test_a_show_of_several_ids_gives_a_list(bot):
    both = bot("events", "show", REFERENCE_EVENT, "1928-01-10-event-0000abcd", "--json")
    assert [e["kind"] for e in both] == ["curated", "candidate"]
    assert bot("events", "show", REFERENCE_EVENT, "--json")["id"] == REFERENCE_EVENT


def test_events_list_marks_curated_and_candidate_events(cli_run, bot, tmp_path):
    listed = bot("events", "list", "--date", "01-10", "--json")
    kinds = {e["id"]: e["kind"] for e in listed}
    assert kinds[REFERENCE_EVENT] == "curated"
    assert kinds["1928-01-10-event-0000abcd"] == "candidate"
    code, out, _ = cli_run("events", "list", "--date", "01-10", "--db", str(tmp_path / "store.db"))
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "DATE", "KIND", "TAGS", "TITLE"]
    # aligned: each column starts where its header does
    start = header.index("KIND")
    assert {row[start:].split()[0] for row in rows} == {"curated", "candidate"}


def test_events_list_is_limited_like_candidates(cli_run, sample_store_path):
    db = ("--db", str(sample_store_path))
    code, out, err = cli_run("events", "list", *db)
    assert code == 0 and len(out.splitlines()) == 1 + 50
    assert err == "the first 50 events: --limit N for more, 0 for all\n"
    code, out, err = cli_run("events", "list", "--limit", "0", "--json", *db)
    assert len(json.loads(out)) > 366


def test_a_draft_id_is_taken_as_printed(cli_run, bot, tmp_path):
    listed = bot("drafts", "list", "--all", "--json")
    draft_id = listed[0]["id"]
    db = ("--db", str(tmp_path / "store.db"), "--config", str(tmp_path / "bot.yaml"))
    code, out, _ = cli_run("drafts", "list", "--all", *db)
    assert out.splitlines()[1].split()[0] == str(draft_id)
    for typed in (str(draft_id), f"#{draft_id}"):
        assert bot("drafts", "show", typed, "--json")["id"] == draft_id
    code, _, err = cli_run("drafts", "show", "three", *db)
    assert code == 2 and "a draft id is a number, such as 3" in err


def test_posters_hides_test_plugins_unless_all(cli_run):
    from bot.posters import available_posters

    if "jsonl" not in available_posters():
        pytest.skip("the example plugin is not installed (README's test command installs it)")
    code, out, _ = cli_run("posters", "--json")
    assert "jsonl" not in {p["name"] for p in json.loads(out)}
    code, out, _ = cli_run("posters")
    assert "jsonl" not in out.split() and "mastodon" in out.split()
    code, out, _ = cli_run("posters", "--all", "--json")
    assert {p["name"]: p["test_only"] for p in json.loads(out)}["jsonl"] is True
