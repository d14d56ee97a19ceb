"""A destination's secrets are read only where they are used: when it posts, checks its
credentials or reads its platform's live limits. A curator who reviews drafts, previews a day
or edits mention lists needs none of them; ``post`` to a destination whose secret is unset
fails with one line naming the variable, and the other destinations still post."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import write, write_config

# every built-in adapter that has a secret, each read from a variable that is not set
UNSET = {
    "FORUM_API_KEY": "forum",
    "SOCIAL_TOKEN": "social",
    "CHAT_WEBHOOK_URL": "chat",
    "SLACK_BOT_TOKEN": "team",
    "MATRIX_TOKEN": "room",
    "HOOK_URL": "hook",
    "HOOK_SECRET": "hook",
}
DESTINATIONS = """\
  forum:
    type: discourse
    url: https://forum.example.org
    api_key: {$env: FORUM_API_KEY}
    api_username: history-bot
    category: 5
  social:
    type: mastodon
    url: https://social.example.org
    access_token: {$env: SOCIAL_TOKEN}
  chat:
    type: discord
    webhook_url: {$env: CHAT_WEBHOOK_URL}
    forum: true
  team:
    type: slack
    token: {$env: SLACK_BOT_TOKEN}
    channel: C0123ABCD
  room:
    type: matrix
    homeserver: https://matrix.example.org
    access_token: {$env: MATRIX_TOKEN}
    room: "!abcdef:example.org"
  hook:
    type: webhook
    url: {$env: HOOK_URL}
    secret: {$env: HOOK_SECRET}
  archive:
    type: outbox
    path: outbox
"""
MEMBERS_CSV = "id,name,discourse\nada,Ada Lovelace,ada\n"


@pytest.fixture
def curator(tmp_path, sample_store_path, monkeypatch, cli_run):
    """A config naming every destination secret, none of them set, and a store of the samples."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    config = write_config(tmp_path / "bot.yaml", DESTINATIONS, "timezone: UTC\n")
    store = tmp_path / "store.db"
    shutil.copy(sample_store_path, store)
    write(tmp_path / "members.csv", MEMBERS_CSV)

    def run(*args: str):
        return cli_run("--config", str(config), "--db", str(store), *args)

    return run


REVIEWING = [
    ("preview", "--date", "01-10"),
    ("preview", "--date", "01-10", "--to", "social"),
    ("preview", "--date", "01-10", "--to", "chat", "--json"),
    ("post", "--dry-run", "--date", "01-10", "--to", "forum"),
    ("drafts", "generate", "--date", "2026-01-10", "--days", "2"),
    ("drafts", "list"),
    ("events", "list", "--date", "01-10"),
    ("events", "candidates", "--date", "01-10"),
    ("mentions", "members", "list"),
    ("mentions", "import", "members.csv"),
    ("mentions", "lists", "list"),
    ("mentions", "export"),
    ("plan", "--days", "3", "--from", "2026-01-10", "--to", "forum"),
    ("calendar", "--year", "2026", "--to", "social"),
    ("history",),
    ("history", "--failed", "--json"),
    ("status",),
    ("status", "--json"),
    ("config", "show"),
]


@pytest.mark.parametrize("args", REVIEWING, ids=" ".join)
def test_reviewing_works_with_every_destination_secret_unset(curator, tmp_path, args):
    import os

    os.chdir(tmp_path)  # members.csv is named relative to the config's folder
    code, out, err = curator(*args)
    assert code == 0, err
    assert "is not set" not in out + err


def test_every_draft_shows_with_the_secrets_unset(curator):
    code, out, err = curator("drafts", "generate", "--date", "2026-01-10", "--days", "1")
    assert code == 0, err
    made = [line for line in out.splitlines() if "new: draft" in line]
    assert len(made) == 7, out  # one a destination
    for number in range(1, len(made) + 1):
        code, shown, err = curator("drafts", "show", str(number))
        assert code == 0 and shown.strip(), err


def test_a_discord_forum_draft_keeps_its_title_without_the_webhook_secret(curator):
    """Rendering needs the adapter's settings (a forum channel takes a title), not its secret."""
    code, out, err = curator("drafts", "generate", "--date", "2026-01-10", "--days", "1")
    assert code == 0, err
    code, listed, err = curator("drafts", "list", "--all", "--to", "chat", "--json")
    number = str(next(d["id"] for d in json.loads(listed) if d["destination"] == "chat"))
    code, shown, err = curator("drafts", "show", number, "--format", "json")
    assert code == 0, err
    assert json.loads(shown)["thread"]["posts"][0]["title"], shown


def test_a_preview_says_the_live_limits_were_not_read(curator):
    code, out, err = curator("preview", "--date", "01-10", "--to", "social")
    assert code == 0
    assert "social: live limits were not read" in err and "500 characters" in err
    code, out, _ = curator("preview", "--date", "01-10", "--to", "social", "--json")
    assert json.loads(out)["live_limits_read"] is False
    code, out, err = curator("preview", "--date", "01-10", "--to", "forum")
    assert "forum: live limits were not read" in err  # the account's caps (trust level)
    code, out, err = curator("preview", "--date", "01-10", "--to", "hook")
    assert "live limits" not in err  # a webhook has no limits to read


@pytest.mark.parametrize(
    ("destination", "variable"),
    [("forum", "FORUM_API_KEY"), ("social", "SOCIAL_TOKEN"), ("hook", "HOOK_URL")],
)
def test_posting_where_a_secret_is_unset_is_one_line_naming_it(curator, destination, variable):
    code, out, err = curator("post", "--date", "01-10", "--to", destination)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert f"destinations.{destination}." in err
    assert f"environment variable {variable} is not set" in err
    code, out, err = curator("history", "--json")
    assert json.loads(out) == []  # nothing claimed, nothing recorded


def test_the_other_destinations_post_all_the_same(curator, tmp_path):
    code, out, err = curator("post", "--date", "01-10", "--to", "archive")
    assert code == 0, err
    assert list((tmp_path / "outbox").iterdir())


def test_checking_credentials_reads_the_secret(curator):
    code, out, err = curator("config", "check")
    assert code == 2
    assert "environment variable FORUM_API_KEY is not set" in err


def test_a_secret_read_when_posting_is_checked_then(tmp_path, monkeypatch):
    """The checks of a secret's value (a Slack token's shape) run when it is read, and the
    message names where it came from, never the value."""
    from bot.config.schema import parse_config
    from bot.errors import ConfigError

    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-slack-token-0123")
    config = write_config(
        tmp_path / "bot.yaml",
        "  team:\n    type: slack\n    token: {$env: SLACK_BOT_TOKEN}\n    channel: C0123ABCD\n",
    )
    destination = parse_config(config).destination("team")
    assert destination.settings["channel"] == "C0123ABCD"  # the rest checked at loading
    with pytest.raises(ConfigError, match="must be a Slack bot token") as raised:
        destination.with_secrets()
    assert "not-a-slack-token" not in str(raised.value)


def test_a_bad_key_beside_an_unread_secret_is_still_refused_at_loading(tmp_path):
    from bot.config.schema import parse_config
    from bot.errors import ConfigError

    config = write_config(
        tmp_path / "bot.yaml",
        "  team:\n    type: slack\n    token: {$env: SLACK_BOT_TOKEN}\n    channel: '#general'\n",
    )
    with pytest.raises(ConfigError, match=r"destinations\.team\.channel: must be the channel's"):
        parse_config(config)
