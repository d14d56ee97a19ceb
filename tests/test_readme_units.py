"""The systemd units and the crontab line in the README are valid (systemd-analyze verify
where it exists; the crontab line by its five time fields)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def units() -> dict[str, str]:
    found = {}
    for block in re.findall(r"```ini\n(.*?)```", README, re.S):
        name = re.match(r"# /etc/systemd/system/(\S+)\n", block)
        if name:
            found[name.group(1)] = block.split("\n", 1)[1]
    return found


def test_readme_has_a_service_a_timer_and_a_crontab_line():
    assert set(units()) == {
        "anniversary-bot.service",
        "anniversary-bot-once.service",
        "anniversary-bot-once.timer",
    }
    assert (
        "ExecStart=" in units()["anniversary-bot.service"]
        and " run\n" in units()["anniversary-bot.service"]
    )
    assert "run --once" in units()["anniversary-bot-once.service"]


@pytest.mark.processes
@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_units_verify(tmp_path):
    (tmp_path / "opt").mkdir()
    paths = []
    for name, text in units().items():
        # point ExecStart at a program that exists, so verify checks the unit, not our install
        text = re.sub(r"ExecStart=\S+", f"ExecStart={shutil.which('true')}", text)
        text = text.replace("User=anniversary-bot", "User=root")
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    result = subprocess.run(
        ["systemd-analyze", "verify", *paths], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "anniversary-bot" not in result.stdout + result.stderr  # no warning about our units


@pytest.mark.processes
def test_systemd_verify_catches_a_broken_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    broken = tmp_path / "broken.service"
    broken.write_text(units()["anniversary-bot.service"].replace("ExecStart=", "ExecStartt="))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(broken)], capture_output=True, text=True
    )
    assert result.returncode != 0


def test_crontab_line():
    (line,) = [
        x
        for x in README.splitlines()
        if re.match(r"^[\d*/,-]+ [\d*/,-]+ [\d*/,-]+ [\d*/,-]+ [\d*/,-]+ /", x)
    ]
    minute, hour, day, month, weekday, command = line.split(" ", 5)
    assert (
        0 <= int(minute) <= 59 and 0 <= int(hour) <= 23 and (day, month, weekday) == ("*", "*", "*")
    )
    assert "anniversary-bot" in command and "run --once" in command
