"""Destinations named on the command line (issue 17): an unknown one is refused by every
command, and a destination removed from the config does not break ``retry``."""

from __future__ import annotations

import pytest

from tests.conftest import write_config
from tests.servers import WebhookReceiver

SECRET = "a-shared-secret-of-enough-length"
OUTBOX = "  archive:\n    type: outbox\n    path: {path}\n"


@pytest.fixture
def receiver():
    with WebhookReceiver(SECRET) as server:
        yield server


def test_history_refuses_an_unknown_destination(cli_run, tmp_path, three_part_store):
    config = write_config(tmp_path / "bot.yaml", OUTBOX.format(path=tmp_path / "out"))
    base = ("--config", str(config), "--db", str(three_part_store))
    code, out, err = cli_run(*base, "history", "--to", "nowhere")
    assert code == 2
    assert "unknown destination 'nowhere': the config defines archive" in err
    assert out == ""
    # the same line as any other command that names a destination
    code, _, other = cli_run(*base, "post", "--to", "nowhere", "--dry-run")
    assert code == 2 and other == err
    code, _, other = cli_run(*base, "retry", "--to", "nowhere")
    assert code == 2 and other == err


def test_history_still_shows_a_removed_destination_that_has_posts(
    cli_run, tmp_path, three_part_store
):
    outbox = tmp_path / "out"
    first = write_config(tmp_path / "first.yaml", OUTBOX.format(path=outbox))
    db = ("--db", str(three_part_store))
    assert cli_run("--config", str(first), *db, "post", "--date", "2026-07-20")[0] == 0
    later = write_config(
        tmp_path / "later.yaml", OUTBOX.replace("archive", "other").format(path=outbox)
    )
    code, out, err = cli_run("--config", str(later), *db, "history", "--to", "archive")
    assert code == 0, err
    assert out.count("archive") == 3


def test_retry_skips_a_failed_post_of_a_destination_no_longer_configured(
    cli_run, tmp_path, three_part_store, receiver, monkeypatch
):
    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    hook = write_config(
        tmp_path / "hook.yaml",
        "  hook:\n    type: webhook\n    url: {$env: HOOK_URL}\n    secret: {$env: HOOK_SECRET}\n",
    )
    db = ("--db", str(three_part_store))
    receiver.script = [(400, {})]  # a refusal: the post stays failed
    code, _, _ = cli_run("--config", str(hook), *db, "post", "--date", "2026-07-20")
    assert code == 1
    # the webhook is taken out of the config; its failed post stays in the log
    archive = write_config(tmp_path / "archive.yaml", OUTBOX.format(path=tmp_path / "out"))
    code, out, err = cli_run("--config", str(archive), *db, "retry")
    assert (code, err) == (0, "")
    assert "hook: 2026-07-20: not in the config any more: skipped" in out
    code, out, err = cli_run("--config", str(archive), *db, "retry", "--to", "hook")
    assert (code, err) == (0, "")
    assert "hook: 2026-07-20: not in the config any more: skipped" in out
