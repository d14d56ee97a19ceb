"""A third-party adapter declares its platform's handle format and gets live mentions: the
example plugin (tests/example_plugin, platform "jsonl", handles such as "~jane") shows it."""

from __future__ import annotations

import json

from tests.conftest import write, write_config

EVENT = """\
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: Neil Armstrong and Buzz Aldrin walked on the Moon, said ~mallory.
    parts:
      - blocks:
          - type: text
            text: Part one, by ~mallory.
          - type: mentions
            members: [jane, john]
members:
  - id: jane
    name: SGT Jane Doe
    handles: {jsonl: "~jane"}
  - id: john
    name: CPL John Roe
"""


def test_a_plugin_handle_is_validated_on_import(tmp_path, cli_run, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    bad = write(tmp_path / "bad.yaml", EVENT.replace('"~jane"', '"jane"'))
    code, _, err = cli_run("--db", db, "import", str(bad))
    assert code == 2
    assert "jsonl handle 'jane' is malformed: expected ~name" in err
    assert cli_run("--db", db, "mentions", "members", "list")[1] == ""

    good = write(tmp_path / "good.yaml", EVENT)
    code, _, err = cli_run("--db", db, "import", str(good))
    assert code == 0, err
    assert (
        "jane  SGT Jane Doe  -     -          jsonl=~jane"
        in cli_run("--db", db, "mentions", "members", "list")[1]
    )


def test_a_plugin_handle_column_in_a_members_csv(tmp_path, cli_run, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    bad = write(tmp_path / "bad.csv", "id,name,jsonl\nzed,Zed,zed\n")
    code, _, err = cli_run("--db", db, "mentions", "import", str(bad))
    assert code == 2 and "bad.csv:2: handles: jsonl handle 'zed' is malformed" in err
    good = write(tmp_path / "good.csv", "id,name,jsonl\nzed,Zed,~zed\n")
    assert cli_run("--db", db, "mentions", "import", str(good))[0] == 0
    assert "~zed" in cli_run("--db", db, "mentions", "export", "--format", "csv")[1]


def test_a_member_with_a_plugin_handle_is_live_mentioned_in_its_posts(
    tmp_path, cli_run, monkeypatch
):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = str(tmp_path / "s.db")
    assert cli_run("--db", db, "import", str(write(tmp_path / "e.yaml", EVENT)))[0] == 0
    posts = tmp_path / "posts.jsonl"
    config = write_config(
        tmp_path / "config.yaml",
        f"  log:\n    type: jsonl\n    path: {posts}\n    format: text\n",
    )
    code, _, err = cli_run("--config", str(config), "--db", db, "post", "--date", "1969-07-20")
    assert code == 0, err
    (lead,) = [json.loads(line) for line in posts.read_text().splitlines()]
    # the listed member with a handle is pinged by it; the one without is named in words
    assert lead["body"].endswith("FYI ~jane CPL John Roe")
    # event text cannot ping anyone: a "~name" written by the curator is neutralised
    assert "~mallory" not in lead["body"]
    assert lead["mentions"] == ["~jane"]
