"""Benchmarks at scale: the shared data set and ten times it, 10,000 members, 100,000 log rows.

    python bench/scale.py                 # every case at x1 and x10
    python bench/scale.py --factor 1      # only the shared data set as it is
    python bench/scale.py import plan     # some cases

Every figure is printed beside a floor measured in the same run:
- commands (preview, plan, calendar, search, status, history, config): the whole process, as a
  ratio to `python -c "import jinja2, sqlite_utils"` (the least a command that renders from a
  store can import);
- import: as a ratio to a plain sqlite3 executemany of the same rows (bench/run.py's floor), and
  the peak resident memory of the importing process;
- mentions import: as a ratio to the same floor command.
Commands run with their modules compiled, the floor's and the bot's alike, as an installed bot
runs (``run.with_bytecode``), whatever ``PYTHONDONTWRITEBYTECODE`` says.
The x10 data set is generated from `../shared/data` into a temporary folder (each copy's text
marked, so every record keeps a distinct id) and removed afterwards: nothing is written into the
repository. Prints a report; exits non-zero only when a benchmark cannot run, never on a goal.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "wikipedia-onthisday-2019.jsonl.gz"
REFERENCE = ROOT / "data" / "events" / "reference"
PYTHON = sys.executable
BOT = [PYTHON, "-m", "bot"]
FLOOR = [PYTHON, "-c", "import jinja2, sqlite_utils"]
CASES = ["config", "import", "plan", "preview", "calendar", "search", "members", "status",
         "html", "dryrun"]  # fmt: skip

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/ is a folder of scripts, not a package
from run import floor_import, line, with_bytecode  # noqa: E402


def scaled_dataset(factor: int, folder: Path) -> Path:
    """The shared data set ``factor`` times over, each copy's text marked so ids stay distinct."""
    if factor == 1:
        return SHARED_DATA
    path = folder / f"events-x{factor}.jsonl.gz"
    with gzip.open(SHARED_DATA, "rt", encoding="utf-8") as source:
        records = [json.loads(raw) for raw in source if raw.strip()]
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for copy in range(factor):
            for record in records:
                if copy:
                    record = {**record, "text": f"{record['text']} (copy {copy})"}
                out.write(json.dumps(record) + "\n")
    return path


def members_csv(count: int, folder: Path) -> Path:
    """``count`` members with Mastodon and Discord handles, all in the reference's first FYI list."""
    path = folder / f"members-{count}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "lists", "mastodon", "discord"])
        for n in range(count):
            writer.writerow([f"member-{n}", f"Member {n}", "reference-fyi-1",
                             f"@member{n}@example.social", str(100000000000000000 + n)])  # fmt: skip
    return path


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return time.perf_counter() - start


def peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of one run of ``args``, in a fresh wrapper process
    so that the maximum is this command's alone."""
    code = (
        "import resource, subprocess, sys, time; s = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
        "print(time.perf_counter() - s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    answer = subprocess.run([PYTHON, "-c", code, *args], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    seconds, kilobytes = answer.stdout.split()
    return float(seconds), int(kilobytes) / 1024


def compare(name: str, command: list[str], env: dict[str, str], goal: str, repeat: int = 5) -> None:
    """Median of ``repeat`` runs of ``command`` beside the floor command, interleaved."""
    run(FLOOR, env)  # compile the floor's modules (with_bytecode)
    run(command, env)  # warm the OS file cache and the template cache, compile
    ours, floor = [], []
    for _ in range(repeat):
        floor.append(run(FLOOR, env))
        ours.append(run(command, env))
    our_time, floor_time = statistics.median(ours), statistics.median(floor)
    line(name, f"{our_time * 1000:.0f} ms", f"{floor_time * 1000:.0f} ms",
         our_time / floor_time, goal)  # fmt: skip


class Scale:
    """One store at one size, with the commands' environment."""

    def __init__(self, factor: int, work: Path) -> None:
        self.factor = factor
        self.work = work / f"x{factor}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.db = self.work / "store.db"
        self.config = self.work / "bot.yaml"
        self.env = {**with_bytecode(dict(os.environ), self.work),
                    "ANNIVERSARY_BOT_HOME": str(self.work / "home"),
                    "ANNIVERSARY_BOT_LOG": "WARNING", "ANNIVERSARY_BOT_CONFIG": str(self.config),
                    "BENCH_TOKEN": "bench-token-not-a-secret",
                    "BENCH_DISCORD_URL": "https://discord.com/api/webhooks/1234567890/bench-token"}  # fmt: skip
        self.config.write_text(
            "destinations:\n"
            f"  outbox:\n    type: outbox\n    path: {self.work / 'outbox'}\n"
            "  forum:\n    type: discourse\n    url: https://forum.invalid\n"
            "    api_key: {$env: BENCH_TOKEN}\n    api_username: bot\n    category: 1\n"
            "  social:\n    type: mastodon\n    url: https://social.invalid\n"
            "    access_token: {$env: BENCH_TOKEN}\n"
            "  chat:\n    type: discord\n"
            "    webhook_url: {$env: BENCH_DISCORD_URL}\n",
            encoding="utf-8",
        )
        self.bot = [*BOT, "--config", str(self.config), "--db", str(self.db)]

    def label(self, text: str) -> str:
        return f"{text} (x{self.factor})"


def bench_import(scale: Scale, data: Path) -> None:
    floor_db = scale.work / "floor.db"
    floor_start = time.perf_counter()
    floor_import(data, floor_db)
    floor_time = time.perf_counter() - floor_start
    floor_db.unlink()
    seconds, rss = peak_rss_mb([*scale.bot, "import", str(data)], scale.env)
    line(scale.label("import"), f"{seconds:.2f} s", f"{floor_time:.2f} s", seconds / floor_time,
         "<= 2.5x")  # fmt: skip
    line(scale.label("import: peak memory"), f"{rss:.0f} MB", "-", None, "< 400 MB, flat")
    seconds, _ = peak_rss_mb([*scale.bot, "import", str(data)], scale.env)
    line(scale.label("re-import, unchanged"), f"{seconds:.2f} s", f"{floor_time:.2f} s",
         seconds / floor_time, "<= 2.5x")  # fmt: skip


def bench_commands(scale: Scale, which: list[str]) -> None:
    bot, env = scale.bot, scale.env
    if "config" in which:
        compare(scale.label("status, 4-destination config"), [*bot, "status"], env, "<= 1.3x")
        compare(scale.label("config show"), [*bot, "config", "show"], env, "<= 1.3x")
    if "preview" in which:
        compare(scale.label("preview one day"), [*bot, "preview", "--to", "outbox", "--date",
                "01-10"], env, "<= 1.3x")  # fmt: skip
    if "plan" in which:
        seconds = statistics.median(
            run([*bot, "plan", "--days", "366", "--from", "2027-01-01"], env) for _ in range(3)
        )
        line(scale.label("plan --days 366"), f"{seconds:.2f} s", "-", None, "< 1.5 s at x10")
        seconds = statistics.median(
            run([*picking(scale), "plan", "--days", "366", "--from", "2027-01-01"], env)
            for _ in range(3)
        )
        line(scale.label("plan --days 366, pick on"), f"{seconds:.2f} s", "-", None, "-")
    if "calendar" in which:
        compare(scale.label("calendar"), [*bot, "calendar"], env, "< 200 ms at x10")
    if "search" in which:
        compare(scale.label("events list --search"), [*bot, "events", "list", "--search",
                "railroad"], env, "< 200 ms at x10")  # fmt: skip
    if "dryrun" in which:
        compare(scale.label("post --dry-run"), [*bot, "post", "--dry-run", "--date", "01-10"],
                env, "-", repeat=3)  # fmt: skip
        compare(scale.label("post --dry-run, pick on"),
                [*picking(scale), "post", "--dry-run", "--date", "01-10"], env, "-", repeat=3)  # fmt: skip


def bench_members(scale: Scale, count: int = 10_000) -> None:
    csv_path = members_csv(count, scale.work)
    bot, env = scale.bot, scale.env
    run([*bot, "import", str(REFERENCE)], env)
    seconds = run([*bot, "mentions", "import", str(csv_path)], env)
    line(scale.label(f"mentions import, {count:,} new"), f"{seconds:.2f} s", "-", None, "< 2 s")
    seconds = run([*bot, "mentions", "import", str(csv_path)], env)
    line(scale.label(f"mentions import, {count:,} again"), f"{seconds:.2f} s", "-", None,
         "< 2 s")  # fmt: skip
    for destination in ("social", "chat"):
        compare(scale.label(f"preview --to {destination}, {count:,} members"),
                [*bot, "preview", "--date", "01-10", "--to", destination], env, "< 1 s",
                repeat=3)  # fmt: skip


def fill_publish_log(db: Path, rows: int) -> None:
    """``rows`` sent posts over the four destinations and past years, written straight into the
    store's publish log as the bot would have left them (a benchmark's set-up, not the bot's SQL)."""
    import sqlite3

    conn = sqlite3.connect(db)
    columns = [row[1] for row in conn.execute("pragma table_info(publish_log)")]
    template = {row[1]: None for row in conn.execute("pragma table_info(publish_log)")}
    event_ids = [r[0] for r in conn.execute("select id from events limit 2000")]
    destinations = ["outbox", "forum", "social", "chat"]
    base = time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, 0))
    batch = []
    for n in range(rows):
        day = time.strftime("%Y-%m-%d", time.gmtime(base + (n // 12) * 86400))
        values = dict(template)
        values.update(destination=destinations[n % 4], day=day,
                      event_id=event_ids[n % len(event_ids)], number=n % 3 + 1, part=n % 3 + 1,
                      state="sent", attempts=1, remote_id=str(n), body="x" * 800, created_at=f"{day}T09:00:00",
                      updated_at=f"{day}T09:00:01", sent_at=f"{day}T09:00:01")  # fmt: skip
        values = {k: v for k, v in values.items() if k in columns}
        if "key" in columns:
            values["key"] = f"bench-{n}"
        batch.append(values)
    names = list(batch[0])
    with conn:
        conn.executemany(
            f"insert into publish_log ({', '.join(names)}) "
            f"values ({', '.join('?' for _ in names)})",
            [tuple(v[k] for k in names) for v in batch],
        )
    conn.close()


def bench_status(scale: Scale, rows: int = 100_000) -> None:
    fill_publish_log(scale.db, rows)
    compare(scale.label(f"status, {rows:,} log rows"), [*scale.bot, "status"], scale.env,
            "<= 1.5x")  # fmt: skip
    seconds, rss = peak_rss_mb([*scale.bot, "history", "--json"], scale.env)
    line(scale.label(f"history --json, {rows:,} rows"), f"{seconds:.2f} s", "-", None, "streams")
    line(scale.label("history --json: peak memory"), f"{rss:.0f} MB", "-", None, "flat")


def bench_html(scale: Scale) -> None:
    out = scale.work / "html"
    seconds = run([*scale.bot, "preview", "--format", "html", "--to", "outbox", "--days", "366",
                   "--year", "2027", "--out", str(out)], scale.env)  # fmt: skip
    goal = "< 1 s" if scale.factor == 1 else "< 5 s"
    line(scale.label("HTML preview, 366 days"), f"{seconds:.2f} s", "-", None, goal)
    seconds = run([*picking(scale), "preview", "--format", "html", "--days", "366", "--year",
                   "2027", "--out", str(out)], scale.env)  # fmt: skip
    line(scale.label("HTML preview, pick on"), f"{seconds:.2f} s", "-", None, goal)


def picking(scale: Scale) -> list[str]:
    """The bot's command with a config of one outbox whose daily pick is on (as in the
    embedded config), for the pick's cases."""
    config = scale.work / "pick.yaml"
    config.write_text(
        "destinations:\n"
        f"  outbox:\n    type: outbox\n    path: {scale.work / 'outbox'}\n"
        "    pick: {enabled: true}\n",
        encoding="utf-8",
    )
    return [*BOT, "--config", str(config), "--db", str(scale.db)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("which", nargs="*", help=f"cases (default: all): {', '.join(CASES)}")
    parser.add_argument("--factor", type=int, action="append",
                        help="data set sizes to measure (default: 1 and 10)")  # fmt: skip
    args = parser.parse_args()
    unknown = sorted(set(args.which) - set(CASES))
    if unknown:
        parser.error(f"unknown case {unknown[0]}: expected one of {', '.join(CASES)}")
    args.which = args.which or CASES
    if not SHARED_DATA.exists():
        sys.exit(f"bench/scale.py: {SHARED_DATA} not found: the benchmarks need ../shared/data")
    work = Path(tempfile.mkdtemp(prefix="anniversary-scale-"))
    print(f"anniversary-bot at scale ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    try:
        for factor in args.factor or [1, 10]:
            scale = Scale(factor, work)
            data = scaled_dataset(factor, work)
            if "import" in args.which:
                bench_import(scale, data)
            else:
                run([*scale.bot, "import", str(data)], scale.env)
            bench_commands(scale, args.which)
            if "html" in args.which:
                bench_html(scale)
            if "members" in args.which:
                bench_members(scale)
            if "status" in args.which:
                bench_status(scale)
            shutil.rmtree(scale.work, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
