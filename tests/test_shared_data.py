"""The full shared data set (133,026 records): skipped where ../shared is not beside the project."""

from __future__ import annotations

import json

import pytest

from bot.events.loader import wiki_record_to_event
from tests.conftest import SHARED_DATA

needs_shared = pytest.mark.shared(SHARED_DATA)


@needs_shared
def test_import_all_records(tmp_path, cli_run, monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")
    db = tmp_path / "full.db"
    code, out, err = cli_run("--db", str(db), "import", str(SHARED_DATA))
    assert code == 0, err
    assert out.startswith(
        "Imported 133,023 events (133,023 new, 0 updated, 3 identical duplicates merged)"
    )
    from bot.store import Store

    store = Store(db)
    assert store.count_events() == 133_023
    kinds = dict(store.conn.execute("select tags, count(*) from events group by tags").fetchall())
    assert kinds == {'["birth"]': 79_338, '["death"]': 35_951, '["event"]': 17_734}
    assert len(store.days_with_events()) == 366
    # importing the same file again updates, never duplicates
    code, out, _ = cli_run("--db", str(db), "import", str(SHARED_DATA))
    assert code == 0 and "(0 new, 0 updated, 133,023 unchanged" in out
    assert store.count_events() == 133_023


def test_wiki_record_becomes_a_short_event():
    record = {
        "month": 1, "day": 10, "year": 1928, "kind": "event",
        "text": "The Soviet Union orders the exile of Leon Trotsky to Alma-Ata.",
        "links": [{"title": "Leon Trotsky", "url": "https://en.wikipedia.org/wiki/Leon_Trotsky"}],
        "source": "https://en.wikipedia.org/wiki/January_10",
    }  # fmt: skip
    event = wiki_record_to_event(record)
    assert event.date.iso() == "1928-01-10"
    assert event.tags == ["event"] and event.origin == "wikipedia"
    # the lead reads on after "On January 10, 1928, "
    assert event.lead == "the Soviet Union orders the exile of Leon Trotsky to Alma-Ata."
    (part,) = event.parts
    (block,) = part["blocks"]
    assert block["type"] == "links"
    assert [link["url"] for link in block["links"]] == [
        "https://en.wikipedia.org/wiki/Leon_Trotsky",
        "https://en.wikipedia.org/wiki/January_10",
    ]
    birth = wiki_record_to_event(
        {**record, "kind": "birth", "year": -63, "text": "Augustus, Roman emperor (d. 14)"}
    )
    assert birth.title == "Augustus is born"  # the link is not his page: named from the text
    assert birth.lead == "Augustus, Roman emperor, is born."
    assert birth.id.startswith("63bc-01-10-birth-")
    assert json.dumps(birth.parts)  # stored as JSON


@pytest.mark.processes
def test_long_import_shows_a_progress_bar_on_a_terminal(tmp_path):
    """A real terminal (a pty): the bar is drawn; with output redirected it is not."""
    import os
    import pty
    import subprocess
    import sys

    records = tmp_path / "many.jsonl"
    line = {
        "month": 3,
        "day": 1,
        "kind": "event",
        "links": [],
        "source": "https://en.wikipedia.org/wiki/March_1",
    }
    with records.open("w") as handle:
        for year in range(1, 30_001):
            handle.write(
                json.dumps(
                    {
                        **line,
                        "year": 1 + year % 9999,  # the years the date code supports
                        "text": f"Something happened in year {year}, a long enough line.",
                    }
                )
                + "\n"
            )
    env = {**os.environ, "ANNIVERSARY_BOT_SEED": "0"}
    args = [sys.executable, "-m", "bot", "--db", str(tmp_path / "s.db"), "import", str(records)]
    main, follower = pty.openpty()
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(60) == 0
    text = output.decode(errors="replace")
    assert "Importing" in text and "100%" in text
    assert "Imported 30,000 events" in text
    redirected = subprocess.run([*args[:-1], str(records)], env=env, capture_output=True, text=True)
    assert redirected.returncode == 0 and "Importing" not in redirected.stderr + redirected.stdout
