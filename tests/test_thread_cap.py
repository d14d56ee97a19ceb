"""``max_posts_per_thread``: a small-post platform gets a few posts a thread by default, not a
flood; a thread that would need more is shortened with ``excerpt: truncate``, and says so."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.posters import poster_class
from bot.posters.base import Capabilities
from bot.threads.fitting import fit_thread
from bot.threads.render import Post, Thread
from tests.conftest import write_config

MASTODON = """\
  masto:
    type: mastodon
    url: https://social.example
    access_token: {$env: MASTODON_TOKEN}
"""


def preview(cli_run, config, store_path, day="01-10", to="masto"):
    return cli_run(
        "--config", str(config), "--db", str(store_path), "preview", "--date", day, "--to", to
    )  # fmt: skip


def post_count(out: str) -> int:
    return len(re.findall(r"^---- post \d+ of \d+ ", out, re.MULTILINE))


def test_the_reference_day_to_mastodon_with_defaults_is_at_most_five_statuses(
    cli_run, tmp_path, sample_store_path, monkeypatch
):
    monkeypatch.setenv("MASTODON_TOKEN", "t0ken")
    config = write_config(tmp_path / "bot.yaml", MASTODON)
    code, out, err = preview(cli_run, config, sample_store_path)
    assert code == 0, err
    assert 1 < post_count(out) <= 5
    note = next(line for line in out.splitlines() if "max_posts_per_thread" in line)
    assert "shortened with excerpt: truncate" in note
    assert "max_posts_per_thread (5)" in note
    assert re.search(r"excerpt: split would make \d{3}", note)  # why: the reference, split


def test_a_destination_raises_its_cap(cli_run, tmp_path, sample_store_path, monkeypatch):
    monkeypatch.setenv("MASTODON_TOKEN", "t0ken")
    config = write_config(tmp_path / "bot.yaml", MASTODON + "    max_posts_per_thread: 1000\n")
    code, out, err = preview(cli_run, config, sample_store_path)
    assert code == 0, err
    assert post_count(out) > 100  # split in full: the destination asked for it
    assert "max_posts_per_thread" not in out


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bad_cap_is_one_line_naming_file_line_and_key(
    cli_run, tmp_path, sample_store_path, monkeypatch, value
):
    monkeypatch.setenv("MASTODON_TOKEN", "t0ken")
    config = write_config(tmp_path / "bot.yaml", MASTODON + f"    max_posts_per_thread: {value}\n")
    code, _, err = preview(cli_run, config, sample_store_path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"{config}:6: destinations.masto.max_posts_per_thread" in err


@pytest.mark.parametrize(
    ("type_name", "cap"),
    [("mastodon", 5), ("discord", 5), ("slack", 10), ("matrix", 10), ("discourse", 10)],
)
def test_each_small_post_platform_has_a_default_cap(type_name, cap):
    assert poster_class(type_name).max_posts_per_thread == cap


def test_a_thread_still_over_the_cap_after_truncation_says_so():
    posts = [Post(n, f"Part {n}. " + "Words go here. " * 20, None, []) for n in range(1, 5)]
    thread = Thread("e", None, dt.date(2026, 1, 1), "text", posts)
    fitted = fit_thread(thread, Capabilities(max_length=100), None, str, max_posts=2)
    assert len(fitted.posts) == 4  # four parts, each cut to one post: none is dropped
    assert "and still 2 over it: it goes out whole" in fitted.warnings[0]
    unchanged = fit_thread(thread, Capabilities(max_length=100), None, str, max_posts=50)
    assert not any("max_posts_per_thread" in w for w in unchanged.warnings)
    assert len(unchanged.posts) > 4
