from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import NoReturn

import pytest

from bot.app import import_paths
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
REFERENCE_THREAD = SHARED / "reference" / "seed-thread-trotsky-1928-01-10.txt"
SHARED_DATA = SHARED / "data" / "wikipedia-onthisday-2019.jsonl.gz"
SAVED_FEED = SHARED / "data" / "wikimedia-onthisday-feed-11-12.json"
DATA = ROOT / "data"
REFERENCE_EVENT_ID = "1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky"

# --- markers: the suites, and what a test does when what it needs is missing ------------------
# The markers are registered in pyproject.toml (CONTRIBUTING.md lists them). A test marked
# `shared`, `synapse` or `browser` skips here when its resource is missing, saying what to do;
# in CI (CI=true, as .ci/run runs) it fails instead: .ci/run provides all three, and a CI run
# that skipped them silently would pass without having checked them.
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}

# Fixtures that start a resource or read one: every test using such a fixture, directly or
# through another fixture, carries its marker, so a new test cannot forget it.
# (test module, fixture) -> marker name
MARKERS_OF_FIXTURES = {
    ("test_matrix.py", "synapse"): "synapse",  # the real Synapse homeserver
    ("test_onthisday.py", "feed"): "shared",  # the saved answer of the on-this-day feed
    ("test_pick.py", "full_store_path"): "shared",  # the full data set, imported
    ("test_secrets.py", "scenario"): "processes",  # runs every command as a process
    ("test_drafts.py", "editor"): "processes",  # $EDITOR is a Python script the bot starts
    ("test_cli_everyday.py", "editor"): "processes",  # the same, for events add/edit
}


def missing(reason: str) -> NoReturn:
    """Skip the running test for ``reason``; in CI, fail it."""
    if IN_CI:
        message = f"{reason} (CI=true: required here, so it fails instead of skipping)"
        pytest.fail(message, pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for (module, fixture), marker in MARKERS_OF_FIXTURES.items():
            if item.path.name != module:
                continue
            if not hasattr(getattr(item, "module", None), fixture):
                raise pytest.UsageError(
                    f"tests/conftest.py: MARKERS_OF_FIXTURES names the fixture {fixture!r} "
                    f"that {module} no longer defines: update the entry"
                )
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Runs before the test's fixtures: a missing resource is reported before anything starts."""
    for mark in item.iter_markers("shared"):
        for path in map(Path, mark.args or (SHARED,)):
            if not path.exists():
                missing(
                    f"{path} not found: the shared reference folder ({SHARED.name}/, beside "
                    f"the project) holds the reference thread and the data sets this test reads"
                )
    if item.get_closest_marker("synapse") is not None:
        from tests.synapse.fixture import SKIP_REASON, synapse_venv

        if synapse_venv() is None:
            missing(SKIP_REASON)
    if item.get_closest_marker("browser") is not None:
        from tests.browser import chromium

        if not chromium.available():
            missing(
                f"no Chromium at {chromium.CHROMIUM}: 'apt-get install chromium', or set "
                "ANNIVERSARY_BOT_CHROMIUM to its path"
            )


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own user data/config dir, and no config from the environment."""
    from bot import secrets_filter

    home = tmp_path / "home"
    monkeypatch.setenv("ANNIVERSARY_BOT_HOME", str(home))
    monkeypatch.delenv("ANNIVERSARY_BOT_CONFIG", raising=False)
    # the secrets a test's config resolved are the process's: another test's are not masked
    secrets_filter.forget_all()
    yield home
    secrets_filter.forget_all()


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


@pytest.fixture(scope="session")
def sample_store_path(tmp_path_factory) -> Path:
    """A store file seeded with the bundled data, built once; copy it before writing."""
    path = tmp_path_factory.mktemp("sample") / "store.db"
    store = Store(path)
    import_paths(store, [DATA])
    store.close()
    return path


@pytest.fixture(scope="session")
def shared_data_store_path(tmp_path_factory) -> Path:
    """The shared data set and the saved feed answer (11-12) imported into one store, built
    once a session (a test using it is marked ``shared``); copy it before writing."""
    path = tmp_path_factory.mktemp("shared-data") / "store.db"
    store = Store(path)
    import_paths(store, [SHARED_DATA, SAVED_FEED])
    store.close()
    return path


@pytest.fixture
def sample_store(sample_store_path, tmp_path) -> Store:
    import shutil

    target = tmp_path / "store.db"
    shutil.copy(sample_store_path, target)
    return Store(target)


@pytest.fixture
def reference_day() -> dt.date:
    return dt.date(2026, 1, 10)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cli_run():
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from bot.cli import cli

    def run(*args: str, input: str | None = None):
        runner = CliRunner()
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


THREE_PART_EVENT = """\
date: "1969-07-20"
title: Apollo 11 lands on the Moon
lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
parts:
  - blocks:
      - type: video
        title: The landing
        url: https://example.org/landing
      - type: text
        text: Part one.
  - blocks:
      - type: text
        text: Part two.
  - blocks:
      - type: text
        text: Part three.
"""


@pytest.fixture
def three_part_store(tmp_path) -> Path:
    """A store file holding one three-part event on July 20."""
    path = tmp_path / "three.db"
    store = Store(path)
    import_paths(store, [write(tmp_path / "apollo.yaml", THREE_PART_EVENT)])
    store.close()
    return path


def write_config(path: Path, destinations: str, extra: str = "") -> Path:
    return write(path, extra + "destinations:\n" + destinations)


def build_year_store(path: Path, parts: int = 1) -> Path:
    """A store with one event on every day of the year (February 29 too), each of ``parts``
    posts, so that a test of a real process posts the same whatever the real date is."""
    from bot.model import Event
    from bot.model.dates import AnniversaryDate

    events = []
    for offset in range(366):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=offset)  # 2024: a leap year
        events.append(
            Event(
                id=f"1990-{day:%m-%d}-every-day",
                date=AnniversaryDate(day.month, day.day, 1990),
                title=f"The event of {day:%B} {day.day}",
                lead="something happened.",
                parts=[
                    {"blocks": [{"type": "text", "text": f"Part {n + 1}."}]} for n in range(parts)
                ],
            )
        )
    store = Store(path)
    store.import_events(events)
    store.close()
    return path
