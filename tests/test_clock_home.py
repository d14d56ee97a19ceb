"""`bot/clock.py` is the one place that asks the machine for the date and time, so that a test
moves every reading of it at once (time-machine) and a parameter can replace it. Monotonic
timers (`time.monotonic`, `time.perf_counter`) measure durations, not the date: they are fine."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
READS = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time|time\.localtime)\(")


def test_only_the_clock_reads_the_time():
    found = [
        f"{path.relative_to(BOT.parent)}:{number}: {line.strip()}"
        for path in sorted(BOT.rglob("*.py"))
        if path.name != "clock.py" or path.parent != BOT
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if READS.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []


def test_the_scan_sees_a_reading():
    assert READS.search("stamp = dt.datetime.now(dt.UTC)")
    assert READS.search("int(time.time())")
    assert not READS.search("start = time.monotonic()")
