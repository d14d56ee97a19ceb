"""Everyday work from the command line (issue 17): ``init``, ``events add``, ``events edit``,
``events delete``, and ``config show`` saying where the config and the store are. The editor is
a script that writes, one run after another, the texts a test gives it."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from bot.paths import example_config_path
from bot.publishing.log import PublishLog
from bot.store import Store
from tests.conftest import write, write_config

APOLLO = "1969-07-20-apollo-11-lands-on-the-moon"
NEW_EVENT = """\
date: "1903-12-17"
title: The Wright brothers fly
lead: The first controlled, powered flight lasted twelve seconds.
tags: [flight]
parts:
  - blocks:
      - type: text
        text: Kitty Hawk, North Carolina.
"""


@pytest.fixture
def editor(tmp_path, monkeypatch):
    """$EDITOR set to a script that, each time it runs, writes the next of the texts given
    (none left: it quits without saving) and keeps a copy of the text it was shown."""
    queue = tmp_path / "editor-queue.json"
    shown = tmp_path / "editor-shown.json"
    script = tmp_path / "editor.py"
    script.write_text(
        "import json, pathlib, sys\n"
        f"queue, shown = pathlib.Path({str(queue)!r}), pathlib.Path({str(shown)!r})\n"
        "target = pathlib.Path(sys.argv[1])\n"
        "seen = json.loads(shown.read_text()) if shown.exists() else []\n"
        "shown.write_text(json.dumps(seen + [target.read_text(encoding='utf-8')]))\n"
        "texts = json.loads(queue.read_text())\n"
        "if texts:\n"
        "    target.write_text(texts.pop(0), encoding='utf-8')\n"
        "    queue.write_text(json.dumps(texts))\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("EDITOR", f'"{sys.executable}" "{script}"')
    monkeypatch.delenv("VISUAL", raising=False)

    class Editor:
        def will_write(self, *texts: str) -> None:
            queue.write_text(json.dumps(list(texts)))

        @property
        def shown(self) -> list[str]:
            return json.loads(shown.read_text()) if shown.exists() else []

    return Editor()


def event_ids(path) -> set[str]:
    store = Store(path)
    try:
        return {event.id for event in store.iter_events()}
    finally:
        store.close()


def test_events_add_in_the_editor_from_a_template(cli_run, three_part_store, editor):
    editor.will_write(NEW_EVENT)
    code, out, err = cli_run("events", "add", "--db", str(three_part_store))
    assert (code, err) == (0, "")
    assert out == "added 1903-12-17-the-wright-brothers-fly (The Wright brothers fly)\n"
    template = editor.shown[0]
    assert template.startswith("# anniversary-bot: a new event.")
    assert 'date: "YYYY-MM-DD"' in template and "parts:" in template
    assert "1903-12-17-the-wright-brothers-fly" in event_ids(three_part_store)


def test_events_add_from_a_file(cli_run, tmp_path, three_part_store):
    path = tmp_path / "wright.yaml"
    path.write_text(NEW_EVENT, encoding="utf-8")
    code, out, _ = cli_run("events", "add", str(path), "--db", str(three_part_store))
    assert (
        code == 0 and out == "added 1903-12-17-the-wright-brothers-fly (The Wright brothers fly)\n"
    )


def test_events_add_quit_without_saving_adds_nothing(cli_run, three_part_store, editor):
    editor.will_write()
    code, out, _ = cli_run("events", "add", "--db", str(three_part_store))
    assert code == 0 and out == "not saved: nothing added\n"
    assert event_ids(three_part_store) == {APOLLO}


def test_events_edit_reopens_with_the_error_until_the_event_is_valid(
    cli_run, three_part_store, editor
):
    db = ("--db", str(three_part_store))
    _, before, _ = cli_run("events", "show", APOLLO, *db)
    broken = before.replace("date: '1969-07-20'", "date: '1969-13-20'")
    assert broken != before
    fixed = before.replace("Part two.", "Part two, corrected.")
    # what the editor writes is the file it was shown, changed: the two header lines kept
    editor.will_write("# h\n# h\n" + broken, "# h\n# h\n" + fixed)
    code, out, err = cli_run("events", "edit", APOLLO, *db)
    assert (code, err) == (0, "")
    assert out == f"saved {APOLLO} (Apollo 11 lands on the Moon)\n"
    first, second = editor.shown
    assert first.splitlines()[1] == "# (checked when you save: a problem is shown on this line)"
    assert first.split("\n", 2)[2] == before  # the event as `events show` prints it
    problem = second.splitlines()[1]
    # the line number is that of the text saved: the date is on line 4 of it (2 header lines)
    line = ("# h\n# h\n" + broken).splitlines().index("date: '1969-13-20'") + 1
    assert problem.startswith(f"# NOT SAVED: event {APOLLO}:{line}: date:"), problem
    assert "month" in problem
    assert second.split("\n", 2)[2] == broken  # the person's text, kept
    _, after, _ = cli_run("events", "show", APOLLO, *db)
    assert "Part two, corrected." in after and "Part two." not in after


def test_events_edit_stores_nothing_until_valid(cli_run, three_part_store, editor):
    db = ("--db", str(three_part_store))
    _, before, _ = cli_run("events", "show", APOLLO, *db)
    editor.will_write(before.replace("title: Apollo 11 lands on the Moon", "title: 7"))
    code, out, _ = cli_run("events", "edit", APOLLO, *db)
    assert code == 0 and out == "not saved: nothing changed\n"
    assert len(editor.shown) == 2  # reopened once with the problem, then quit
    assert cli_run("events", "show", APOLLO, *db)[1] == before


def test_events_edit_keeps_the_id(cli_run, three_part_store, editor):
    db = ("--db", str(three_part_store))
    _, before, _ = cli_run("events", "show", APOLLO, *db)
    editor.will_write(before.replace(f"id: {APOLLO}", "id: another-id"))
    cli_run("events", "edit", APOLLO, *db)
    assert "an edit keeps the id" in editor.shown[1].splitlines()[1]
    assert event_ids(three_part_store) == {APOLLO}


def test_events_delete_is_refused_while_the_publish_log_names_it(
    cli_run, tmp_path, three_part_store
):
    config = write_config(
        tmp_path / "bot.yaml", f"  archive:\n    type: outbox\n    path: {tmp_path / 'out'}\n"
    )
    base = ("--config", str(config), "--db", str(three_part_store))
    assert cli_run(*base, "post", "--date", "2026-07-20")[0] == 0
    code, out, err = cli_run("events", "delete", APOLLO, *base)
    assert code == 2 and out == ""
    assert err == (
        f"Error: {APOLLO}: still named by 3 posts in the publish log: nothing deleted "
        "(--force deletes it and its drafts; the publish log keeps its rows)\n"
    )
    assert event_ids(three_part_store) == {APOLLO}
    code, out, _ = cli_run("events", "delete", APOLLO, "--force", *base)
    assert code == 0
    assert (
        out
        == f"deleted {APOLLO} (Apollo 11 lands on the Moon); the publish log keeps its 3 posts\n"
    )
    assert event_ids(three_part_store) == set()
    assert len(PublishLog(Store(three_part_store)).rows()) == 3


def test_events_delete_is_refused_while_a_draft_names_it(cli_run, tmp_path, three_part_store):
    config = write_config(
        tmp_path / "bot.yaml", f"  archive:\n    type: outbox\n    path: {tmp_path / 'out'}\n"
    )
    base = ("--config", str(config), "--db", str(three_part_store))
    assert cli_run(*base, "drafts", "generate", "--date", "2026-07-20", "--days", "1")[0] == 0
    code, _, err = cli_run(*base, "events", "delete", APOLLO)
    assert code == 2 and "still named by draft 1:" in err
    code, out, _ = cli_run(*base, "events", "delete", APOLLO, "--force")
    assert code == 0 and out.endswith("; draft 1 too\n")
    assert cli_run(*base, "drafts", "list", "--all", "--json")[1].strip() == "[]"


def test_events_delete_takes_several_ids_all_or_none(cli_run, tmp_path, three_part_store):
    db = ("--db", str(three_part_store))
    code, _, err = cli_run("events", "delete", APOLLO, "no-such-event", *db)
    assert code == 2 and "no event with id 'no-such-event'" in err
    assert event_ids(three_part_store) == {APOLLO}


def test_init_writes_a_starter_config_that_works_and_says_where_things_live(
    cli_run, tmp_path, monkeypatch
):
    monkeypatch.delenv("ANNIVERSARY_BOT_CONFIG", raising=False)
    target = tmp_path / "etc" / "bot.yaml"
    store = tmp_path / "data" / "store.db"
    code, out, err = cli_run("init", "--config", str(target), "--db", str(store))
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        f"wrote a starter config: {target}",
        f"the store: {store} (created on first use, with the sample events)",
    ]
    text = target.read_text(encoding="utf-8")
    # every line of the shipped example is in it, commented out
    for line in example_config_path().read_text(encoding="utf-8").splitlines():
        assert (f"# {line}" if line.strip() else line) in text
    live = yaml.safe_load(text)
    assert live["store"] == str(store) and list(live["destinations"]) == ["outbox"]
    code, out, _ = cli_run("config", "check", "--config", str(target))
    assert code == 0 and out.startswith(f"{target}: valid, 1 destination\n")
    code, out, _ = cli_run("config", "show", "--config", str(target))
    assert out.splitlines()[:2] == [
        f"# config: {target} (from --config)",
        f"# store: {store} (from the config's store key)",
    ]
    code, out, _ = cli_run("config", "show", "--config", str(target), "--json")
    assert json.loads(out)["where"]["store"] == str(store)
    # a second init keeps the file
    code, _, err = cli_run("init", "--config", str(target))
    assert code == 1 and err == f"Error: {target}: a config is already there: --force replaces it\n"


def test_init_without_options_writes_where_config_is_read_from(cli_run, tmp_path, monkeypatch):
    monkeypatch.delenv("ANNIVERSARY_BOT_CONFIG", raising=False)
    code, out, _ = cli_run("config", "show")
    home = tmp_path / "home"  # ANNIVERSARY_BOT_HOME of every test (tests/conftest.py)
    assert out.splitlines()[0] == (
        "# config: none, the embedded default (a config is read from --config, "
        f"$ANNIVERSARY_BOT_CONFIG, else {home / 'config.yaml'}: 'anniversary-bot init' writes one)"
    )
    code, out, _ = cli_run("init")
    assert code == 0 and (home / "config.yaml").is_file()
    code, out, _ = cli_run("config", "show")
    assert out.splitlines()[0] == f"# config: {home / 'config.yaml'} (from the user config folder)"


def test_events_edit_keeps_an_image_file_of_the_event_s_folder(cli_run, tmp_path, editor):
    folder = tmp_path / "events"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "eagle.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    event = NEW_EVENT.replace(
        "      - type: text\n        text: Kitty Hawk, North Carolina.\n",
        "      - type: images\n        images:\n          - caption: The flyer.\n"
        "            file: images/eagle.png\n",
    )
    db = ("--db", str(tmp_path / "s.db"))
    assert cli_run("import", str(write(folder / "wright.yaml", event)), *db)[0] == 0
    event_id = "1903-12-17-the-wright-brothers-fly"
    _, before, _ = cli_run("events", "show", event_id, *db)
    assert str(folder / "images" / "eagle.png") in before
    editor.will_write(before.replace("The flyer.", "The Wright Flyer."))
    code, out, err = cli_run("events", "edit", event_id, *db)
    assert (code, err) == (0, ""), editor.shown
    assert "The Wright Flyer." in cli_run("events", "show", event_id, *db)[1]
    assert sorted(p.name for p in folder.iterdir()) == ["images", "wright.yaml"]  # no leftovers


def test_events_add_from_a_file_says_which_events_it_updated(cli_run, tmp_path, three_part_store):
    path = write(tmp_path / "wright.yaml", NEW_EVENT)
    db = ("--db", str(three_part_store))
    assert cli_run("events", "add", str(path), *db)[1].startswith("added ")
    path.write_text(NEW_EVENT.replace("twelve seconds", "12 seconds"), encoding="utf-8")
    code, out, _ = cli_run("events", "add", str(path), *db)
    assert out == "updated 1903-12-17-the-wright-brothers-fly (The Wright brothers fly)\n"
