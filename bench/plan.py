"""Benchmark: `anniversary-bot plan --days 366` on the full shared data set, whole process.

    python bench/plan.py [--runs 7]

Imports the shared data set (133,026 records, as candidates) into a temporary store, then
times the whole `plan --days 366 --from 2027-01-01` process on the embedded default config
(the daily pick on), the median of --runs runs, beside a floor measured in the same run:
`python -c "import jinja2, sqlite_utils"`, a process that only starts Python and imports the libraries every command
loads. Goal: under 2 s. Also checks that two runs print the same plan (deterministic).
Exits non-zero only when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "wikipedia-onthisday-2019.jsonl.gz"
PYTHON = sys.executable
BOT = [PYTHON, "-m", "bot"]


def timed(args: list[str], env: dict) -> tuple[float, bytes]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    if not SHARED_DATA.exists():
        sys.exit(f"plan: cannot run: {SHARED_DATA} not found")
    sys.path.insert(0, str(ROOT))
    from bot.app import import_paths
    from bot.store import Store

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {**os.environ, "ANNIVERSARY_BOT_HOME": str(work / "home"), "PYTHONPATH": str(ROOT)}
        store_path = work / "store.db"
        start = time.perf_counter()
        store = Store(store_path)
        _, result = import_paths(store, [SHARED_DATA])
        store.close()
        print(
            f"store: {result.added + result.updated + result.unchanged:,} candidates imported in {time.perf_counter() - start:.1f} s"
        )
        plan = [*BOT, "--db", str(store_path), "plan", "--days", "366", "--from", "2027-01-01"]
        floor_cmd = [PYTHON, "-c", "import jinja2, sqlite_utils"]
        _, first = timed(plan, env)  # warms the OS file cache
        ours, floor, outputs = [], [], {first}
        for _ in range(options.runs):
            floor.append(timed(floor_cmd, env)[0])
            seconds, output = timed(plan, env)
            ours.append(seconds)
            outputs.add(output)
        our_time, floor_time = statistics.median(ours), statistics.median(floor)
        days = first.decode().count("why:")
        print(f"plan output: {len(first.splitlines())} lines, {days} picks; identical in every "
              f"run: {'yes' if len(outputs) == 1 else 'NO'}")  # fmt: skip
        print(
            f"{'plan --days 366 (full data set)':<34} {our_time:>9.2f} s   floor "
            f"{floor_time:>6.2f} s   ratio {our_time / floor_time:>5.1f}x   "
            f"goal < 2 s ({'met' if our_time < 2 else 'NOT met'}); "
            f"min {min(ours):.2f} s, max {max(ours):.2f} s over {options.runs} runs"
        )


if __name__ == "__main__":
    main()
