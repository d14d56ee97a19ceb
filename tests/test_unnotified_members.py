"""Members of a mention list who have no handle on a destination's platform are named there
but not notified: ``config check`` and ``preview --to`` say who, per list and per thread."""

from __future__ import annotations

from pathlib import Path

from bot.app import import_paths
from bot.store import Store
from tests.conftest import write, write_config

EVENT = """\
members:
  - {id: jane, name: SGT Jane Doe, handles: {jsonl: "~jane"}}
  - {id: bob, name: CPL Bob Roe}
  - {id: ann, name: PFC Ann Poe, opted_out: "2026-01-01"}
lists:
  - {name: crew, members: [jane, bob, ann]}
  - {name: handled, members: [jane]}
events:
  - date: "1969-07-20"
    title: Apollo 11 lands on the Moon
    lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
    parts:
      - blocks:
          - {type: text, text: Part one.}
          - {type: mentions, lists: [crew]}
"""

DESTINATIONS = """\
  plugin:
    type: jsonl
    path: {path}
  out:
    type: outbox
    path: {outbox}
"""


def setup(tmp_path: Path) -> tuple[Path, Path]:
    store_path = tmp_path / "crew.db"
    store = Store(store_path)
    import_paths(store, [write(tmp_path / "crew.yaml", EVENT)])
    store.close()
    config = write_config(
        tmp_path / "bot.yaml",
        DESTINATIONS.format(path=tmp_path / "posts.jsonl", outbox=tmp_path / "outbox"),
    )
    return config, store_path


def test_config_check_names_list_members_without_a_handle(cli_run, tmp_path):
    config, store_path = setup(tmp_path)
    code, out, err = cli_run("--config", str(config), "--db", str(store_path), "config", "check")
    assert code == 0, err
    lines = [line for line in out.splitlines() if "not notified" in line]
    # one line per destination with handles and list with such members; opted-out Ann is not
    # named at all, and the outbox names nobody by handle
    assert lines == [
        "plugin (jsonl): list 'crew' (2 members): 1 member named, not notified "
        "(no jsonl handle): CPL Bob Roe"
    ]


def test_preview_to_a_destination_names_them(cli_run, tmp_path):
    config, store_path = setup(tmp_path)
    code, out, err = cli_run(
        "--config", str(config), "--db", str(store_path),
        "preview", "--date", "07-20", "--to", "plugin",
    )  # fmt: skip
    assert code == 0, err
    assert "warning: 1 member named, not notified (no jsonl handle): CPL Bob Roe\n" in out
    assert "FYI ~jane CPL Bob Roe" in out
    code, out, err = cli_run(
        "--config", str(config), "--db", str(store_path),
        "preview", "--date", "07-20", "--to", "out",
    )  # fmt: skip
    assert code == 0, err
    assert "not notified" not in out  # the outbox notifies nobody: nothing to warn of
