"""A config file validated once is read back, unchanged, without validating it again
(``bot.config.memo``): the same config, and a changed file, bot or home folder validated anew;
nothing secret-like is ever kept, and what is kept is readable by its owner alone."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import bot.config.schema
from bot.config import Config
from bot.config.loading import load_config
from bot.config.memo import memo_key
from bot.errors import ConfigError
from bot.secrets_filter import mask
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent
FOUR_DESTINATIONS = (
    "  outbox: {type: outbox, path: outbox}\n"
    "  forum: {type: discourse, url: 'https://forum.invalid', api_key: {$env: BOT_TOKEN},\n"
    "          api_username: bot, category: 1}\n"
    "  social: {type: mastodon, url: 'https://social.invalid', access_token: {$env: BOT_TOKEN}}\n"
    "  chat: {type: discord, webhook_url: {$env: BOT_WEBHOOK}}\n"
)


def entries() -> list[Path]:
    folder = Path(os.environ["ANNIVERSARY_BOT_HOME"]) / "cache" / "configs"
    return sorted(folder.glob("*.json")) if folder.exists() else []


@pytest.fixture
def validations(monkeypatch) -> list[Path]:
    """The files ``parse_config`` validates, in order."""
    seen: list[Path] = []
    parse = bot.config.schema.parse_config

    def counting(path: Path) -> Config:
        seen.append(path)
        return parse(path)

    monkeypatch.setattr(bot.config.schema, "parse_config", counting)
    return seen


@pytest.mark.parametrize("source", ["four destinations", "config.example.yaml"])
def test_a_config_read_again_is_the_one_validated_without_validating_it(
    tmp_path, validations, source
):
    if source == "config.example.yaml":  # every section: lists, content, web, alerts, pick...
        path = Path(shutil.copy(ROOT / "config.example.yaml", tmp_path / "bot.yaml"))
    else:
        path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS, "timezone: Europe/Paris\n")
    first = load_config(path)
    again = load_config(path)
    assert validations == [path]  # the second read validated nothing
    assert repr(again) == repr(first)  # every value, of the same type
    assert again.masked() == first.masked()


def test_an_edited_config_is_validated_again_and_its_error_said(tmp_path, validations):
    path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS)
    load_config(path)
    write_config(path, FOUR_DESTINATIONS.replace("category: 1", "category: -1"))
    with pytest.raises(ConfigError, match=r"bot.yaml:\d+: destinations.forum.category"):
        load_config(path)
    write_config(path, FOUR_DESTINATIONS.replace("category: 1", "category: 2"))
    assert load_config(path).destinations["forum"].settings["category"] == 2
    assert load_config(path).destinations["forum"].settings["category"] == 2
    assert len(validations) == 3 and len(entries()) == 1  # one entry per config file


def test_another_bot_or_home_folder_validates_again(tmp_path, validations, monkeypatch):
    path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS)
    load_config(path)
    # a module of the bot (or of pydantic, PyYAML) changed: a release, or an edit
    monkeypatch.setattr("bot.config.memo._code_fingerprint", lambda: [("bot/x.py", 1, 2)])
    load_config(path)
    # `~` in a path is the home folder
    monkeypatch.setenv("HOME", str(tmp_path / "another-home"))
    load_config(path)
    assert len(validations) == 3
    data = path.read_bytes()
    assert memo_key(path, data) != memo_key(path, data + b"\n")


def test_a_damaged_entry_is_validated_again(tmp_path, validations):
    path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS)
    first = load_config(path)
    (entry,) = entries()
    entry.write_text('{"key": "', encoding="utf-8")
    assert repr(load_config(path)) == repr(first)
    assert len(validations) == 2


@pytest.mark.parametrize(
    "destinations, extra",
    [
        # a URL's credentials are registered for masking while the file is validated
        (FOUR_DESTINATIONS.replace("forum.invalid", "bot:hunter2-basic-auth@forum.invalid"), ""),
        # a password hash is not a password, but not for a second file either
        (FOUR_DESTINATIONS, "web:\n  users:\n    ada: {role: curator, password_hash: "
         "'scrypt:32768:8:1$salt$0123456789abcdef'}\n"),
        # a plugin's validation is its own, of a version the key does not hold
        ("  jsonl: {type: jsonl, path: posts.jsonl}\n", ""),
    ],
    ids=["url credentials", "password hash", "plugin adapter"],
)  # fmt: skip
def test_what_must_not_be_kept_is_validated_each_time(tmp_path, validations, destinations, extra):
    path = write_config(tmp_path / "bot.yaml", destinations, extra)
    load_config(path)
    load_config(path)
    assert len(validations) == 2 and entries() == []
    if "hunter2" in destinations:
        assert "hunter2" not in mask("GET https://bot:hunter2-basic-auth@forum.invalid/x")


def test_an_entry_holds_no_secret_value_and_only_its_owner_reads_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", "tok-0123456789abcdef-secret")
    path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS)
    load_config(path)
    (entry,) = entries()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    text = entry.read_text(encoding="utf-8")
    assert "BOT_TOKEN" in text and "tok-0123456789abcdef-secret" not in text


def test_a_relative_path_read_from_another_folder_is_validated_there(tmp_path, monkeypatch):
    # the config's own relative paths (an outbox, the store) are read from its folder as the
    # command names it: the same file named from another working folder is another config
    (tmp_path / "a").mkdir()
    write_config(tmp_path / "a" / "bot.yaml", "  outbox: {type: outbox, path: out}\n")
    monkeypatch.chdir(tmp_path)
    from_above = load_config("a/bot.yaml")
    monkeypatch.chdir(tmp_path / "a")
    from_inside = load_config("bot.yaml")
    assert Path(from_inside.destinations["outbox"].settings["path"]) == Path("out")
    assert Path(from_above.destinations["outbox"].settings["path"]) == Path("a/out")


def test_a_process_lists_the_bot_s_files_once(tmp_path, validations, monkeypatch):
    # a changed config: the key is worked out when the memo is read (another key: a miss) and
    # again when the new one is kept; the bot's files are listed once for every key
    import bot.config.memo as memo

    listed = []
    scan = memo._scan
    top = str(Path(memo.__file__).resolve().parent.parent)

    def counted(folder, found):
        listed.extend([folder] if folder == top else [])
        scan(folder, found)

    monkeypatch.setattr(memo, "_scan", counted)
    memo._code_fingerprint.cache_clear()
    path = write_config(tmp_path / "bot.yaml", FOUR_DESTINATIONS)
    load_config(path)
    write_config(path, FOUR_DESTINATIONS.replace("category: 1", "category: 2"))
    load_config(path)
    assert len(validations) == 2 and len(entries()) == 1 and listed == [top]
