"""The suites, and what a missing resource does to a test that needs it.

The markers (registered in pyproject.toml) select the fast suite. A test that needs the shared
folder beside the project (``../shared``), the real Synapse or Chromium skips where it is
missing, saying what to install; in CI (``CI=true``), where ``.ci/run`` installs all of them, it
fails instead, since a run that skipped them silently would prove nothing about them.

Each case runs pytest as a separate process on the project's real test modules and reads the
outcome of every test from its JUnit report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.processes

FAST = "not synapse and not browser and not processes"

# the tests that read ../shared: the golden thread, the full data set (import, ids, hostile
# input checks, the daily pick over it) and the saved answer of the on-this-day feed
SHARED_TESTS = [
    "tests/test_golden.py",
    "tests/test_shared_data.py::test_import_all_records",
    "tests/test_ids.py::test_every_title_of_the_shared_data_set_keeps_its_id",
    "tests/test_hostile_input.py::test_the_shared_data_set_passes_both_checks",
    "tests/test_pick.py::test_full_data_set_repeats_from_the_publish_log",
    "tests/test_onthisday.py::test_saved_answer_is_recognised",
    "tests/test_onthisday.py::test_import_takes_the_saved_answer",
]


def outcomes(root: Path, report: Path, *args: str, **env: str | None) -> dict[str, tuple[str, str]]:
    """Run pytest in ``root`` on ``args``: {test id: (passed|failed|skipped, message)}."""
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment.update({k: v for k, v in env.items() if v is not None})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--junitxml={report}", *args],
        cwd=root, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert report.exists(), done.stdout + done.stderr
    results = {}
    for case in ElementTree.parse(report).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        problem = case.find("failure")
        problem = problem if problem is not None else case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            results[name] = ("failed", problem.get("message", "") + (problem.text or ""))
        elif skipped is not None:
            results[name] = ("skipped", skipped.get("message", ""))
        else:
            results[name] = ("passed", "")
    return results


@pytest.fixture(scope="module")
def project_without_shared(tmp_path_factory) -> Path:
    """A copy of the project's tests and settings in a folder with no ``shared`` beside it."""
    root = tmp_path_factory.mktemp("checkout") / "anniversary-bot"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tests", root / "tests", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    assert not (root.parent / "shared").exists()
    return root


def test_in_ci_a_test_that_needs_shared_fails_when_it_is_missing(project_without_shared):
    results = outcomes(project_without_shared, project_without_shared / "ci.xml",
                       *SHARED_TESTS, CI="true")  # fmt: skip
    assert len(results) >= len(SHARED_TESTS)
    for name, (outcome, message) in results.items():
        assert outcome == "failed", (name, outcome, message)
        assert str(project_without_shared.parent / "shared") in message, (name, message)
        assert "CI" in message, (name, message)


def test_locally_a_test_that_needs_shared_skips_saying_what_is_missing(project_without_shared):
    results = outcomes(project_without_shared, project_without_shared / "local.xml",
                       *SHARED_TESTS, CI=None)  # fmt: skip
    assert len(results) >= len(SHARED_TESTS)
    for name, (outcome, message) in results.items():
        assert outcome == "skipped", (name, outcome, message)
        assert str(project_without_shared.parent / "shared") in message, (name, message)


def test_in_ci_the_synapse_and_browser_tests_fail_without_their_programs(tmp_path):
    results = outcomes(
        ROOT, tmp_path / "ci.xml", "tests/test_matrix.py", "tests/test_html_preview.py",
        "-m", "synapse or browser", CI="true", ANNIVERSARY_BOT_SYNAPSE_VENV=None,
        ANNIVERSARY_BOT_CHROMIUM=str(tmp_path / "no-chromium"),
    )  # fmt: skip
    synapse = {n: r for n, r in results.items() if "test_matrix" in n}
    browser = {n: r for n, r in results.items() if "test_html_preview" in n}
    assert len(synapse) >= 9 and len(browser) >= 4, sorted(results)
    for name, (outcome, message) in synapse.items():
        assert outcome == "failed" and "ANNIVERSARY_BOT_SYNAPSE_VENV" in message, (name, message)
    for name, (outcome, message) in browser.items():
        assert outcome == "failed" and "no-chromium" in message, (name, message)


def collected(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_the_fast_suite_leaves_out_servers_browsers_and_processes():
    everything, fast = collected(), collected("-m", FAST)
    left_out = everything - fast

    def module(name: str) -> set[str]:
        return {test for test in everything if test.startswith(f"tests/{name}.py::")}

    # whole modules that run the bot as real processes
    for name in ("test_run_process", "test_concurrency", "test_crash"):
        assert module(name) and module(name) <= left_out, name
    # the real Synapse's tests and the browser's, not the fake homeserver's or the HTML's
    synapse = {t for t in module("test_matrix") if "::test_synapse_" in t}
    assert len(synapse) >= 9 and synapse <= left_out
    assert "tests/test_matrix.py::test_publishes_a_thread_with_exact_requests" in fast
    chromium = {t for t in module("test_html_preview") if "chromium" in t or "overflow" in t}
    assert len(chromium) == 7 and chromium <= left_out
    assert "tests/test_html_preview.py::test_a_page_per_day_and_a_calendar" in fast
    # tests of other modules that start a process
    for test in (
        "tests/test_exactly_once.py::test_a_second_process_gives_up_on_the_publishing_lock_"
        "saying_who_holds_it",
        "tests/test_secrets.py::test_console_output_of_a_real_process_is_masked",
        "tests/test_secrets.py::test_the_store_holds_no_secret",
        "tests/test_store_file.py::test_two_posts_on_a_new_store_both_open_it[0]",
        "tests/test_discourse.py::test_importing_the_adapter_does_not_import_pydantic",
        "tests/test_markers.py::test_the_fast_suite_leaves_out_servers_browsers_and_processes",
    ):
        assert test in everything and test in left_out, test
    # a module that starts processes has its tests that do so marked
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if re.search(r"\bsubprocess\b|\bPopen\b", path.read_text(encoding="utf-8")):
            assert module(path.stem) & left_out, f"{path.name} starts processes: mark its tests"
    # what remains is most of the suite
    assert len(fast) > 0.8 * len(everything)
