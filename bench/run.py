"""Benchmarks: each figure with the floor it is compared with, measured in the same run.

    python bench/run.py            # all figures
    python bench/run.py import preview render idle --idle-seconds 60

Figures (goals from the issues):
- import: importing the shared data set (133,026 records) into a new store, as a ratio to a
  plain sqlite3 executemany of the same rows (read, parse, insert, same index) (goal <= 2.5x);
- preview: `anniversary-bot preview` of one day on a store holding the full data set, whole
  process, as a ratio to `python -c "import jinja2, sqlite_utils"` (goal <= 1.5x);
- render: reference-size threads rendered per second (goal >= 2,000/s), and as a ratio to a
  floor: Jinja printing the same text through one-line templates;
- serve: `anniversary-bot serve` on the embedded default config and store, from the command to
  the server listening (goal < 1 s), beside the preview's floor; and the day page of the
  reference day (January 10) through the app (goal < 100 ms), beside the HTML preview drawing
  the same day (the page's own share: forms, the day's log and changes, the session);
- idle: the daemon between jobs: resident memory and CPU time over N seconds (goal <= 60 MB,
  ~0 CPU), beside a floor process that imports the same libraries and sleeps.
Prints a report; exits non-zero only when a benchmark cannot run, never on a goal.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sqlite3
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


def line(name: str, value: str, floor: str, ratio: float | None, goal: str) -> None:
    ratio_text = f"{ratio:.2f}x" if ratio is not None else "-"
    print(f"{name:<34} {value:>16}   floor {floor:>16}   ratio {ratio_text:>7}   goal {goal}")


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def floor_import(path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(
        "create table events (id integer primary key, month int, day int, year int, kind text, "
        "text text, links text, source text)"
    )
    conn.execute("create index events_month_day on events (month, day)")
    with gzip.open(path, "rb") as handle:
        rows = []
        for raw in handle.read().split(b"\n"):
            if raw.strip():
                r = json.loads(raw)
                rows.append((r["month"], r["day"], r["year"], r["kind"], r["text"],
                             json.dumps(r.get("links")), r.get("source")))  # fmt: skip
    with conn:
        conn.executemany(
            "insert into events (month, day, year, kind, text, links, source) values (?,?,?,?,?,?,?)",
            rows,
        )
    conn.close()


def bench_import(work: Path) -> Path | None:
    if not SHARED_DATA.exists():
        print(f"import: skipped: {SHARED_DATA} not found")
        return None
    from bot.app import import_paths
    from bot.store import Store

    def ours() -> None:
        db = work / "ours.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        store = Store(db)
        import_paths(store, [SHARED_DATA])
        store.close()

    def floor() -> None:
        db = work / "floor.db"
        db.unlink(missing_ok=True)
        floor_import(SHARED_DATA, db)

    floor_time = timed(floor)
    our_time = timed(ours)
    line(
        "import 133,026 records",
        f"{our_time:.2f} s",
        f"{floor_time:.2f} s",
        our_time / floor_time,
        "<= 2.5x",
    )
    return work / "ours.db"


def with_bytecode(env: dict[str, str], work: Path) -> dict[str, str]:
    """``env`` for timing a start-up as an installed bot starts: its modules read compiled (pip
    compiles a wheel's modules as it installs them), kept under ``work`` for the floor's
    libraries and the bot alike and written by the first run. Without it, an environment with
    ``PYTHONDONTWRITEBYTECODE`` (or a read-only checkout) compiles the bot's own source at every
    run, some 40 ms, while the floor's libraries come compiled from their installation."""
    env = {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_command(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def bench_preview(work: Path, store: Path | None) -> None:
    if store is None:
        print("preview: skipped: needs the import benchmark's store")
        return
    env = with_bytecode({**os.environ, "ANNIVERSARY_BOT_HOME": str(work / "home")}, work)
    preview = [*BOT, "--db", str(store), "preview", "--date", "01-10"]
    floor_cmd = [PYTHON, "-c", "import jinja2, sqlite_utils"]
    run_command(floor_cmd, env)  # compile the floor's modules
    run_command(preview, env)  # warm the template cache and the OS file cache, compile
    ours, floor = [], []
    for _ in range(15):
        floor.append(run_command(floor_cmd, env))
        ours.append(run_command(preview, env))
    our_time, floor_time = statistics.median(ours), statistics.median(floor)
    line(
        "preview one day (full store)",
        f"{our_time * 1000:.0f} ms",
        f"{floor_time * 1000:.0f} ms",
        our_time / floor_time,
        "<= 1.5x",
    )


def bench_render() -> None:
    import datetime as dt

    import jinja2

    from bot.app import open_store
    from bot.events.mentions import MentionDirectory
    from bot.threads.render import render_thread

    os.environ.setdefault("ANNIVERSARY_BOT_HOME", tempfile.mkdtemp())
    store = open_store(Path(tempfile.mkdtemp()) / "sample.db")
    event = store.get_event("1928-01-10-the-soviet-union-orders-the-exile-of-leon-trotsky")
    directory = MentionDirectory.from_store(store)
    day = dt.date(2026, 1, 10)
    thread = render_thread(event, day, "text", directory)
    size = sum(p.length for p in thread.posts)

    def rate(fn, seconds: float = 2.0) -> float:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn()
            count += 1
        return count / (time.perf_counter() - start)

    ours = rate(lambda: render_thread(event, day, "text", directory))
    env = jinja2.Environment()
    template = env.from_string("{{ body }}")
    bodies = [p.body for p in thread.posts]
    floor = rate(lambda: [template.render(body=b) for b in bodies])
    line(
        f"render reference thread ({size // 1000}k chars)",
        f"{ours:,.0f} /s",
        f"{floor:,.0f} /s",
        floor / ours,
        ">= 2,000/s",
    )


def serve_startup(env: dict) -> float:
    """Seconds from starting ``serve --port 0`` to its "serving" line (it listens by then)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [*BOT, "serve", "--port", "0"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        for text in process.stderr:
            if text.startswith("serving the web page on"):
                return time.perf_counter() - start
        raise RuntimeError("serve exited without serving")
    finally:
        process.terminate()
        process.wait(timeout=30)


def bench_serve(work: Path) -> None:
    import datetime as dt

    from bot.app import open_store
    from bot.config.loading import load_config
    from bot.preview.html import Builder, render_day
    from bot.web.app import create_app

    env = {**os.environ, "ANNIVERSARY_BOT_HOME": str(work / "serve-home")}
    serve_startup(env)  # the first start creates and seeds the store
    floor_cmd = [PYTHON, "-c", "import jinja2, sqlite_utils"]
    ours, floor = [], []
    for _ in range(7):
        floor.append(run_command(floor_cmd, env))
        ours.append(serve_startup(env))
    our_time, floor_time = statistics.median(ours), statistics.median(floor)
    line("serve start-up (default store)", f"{our_time * 1000:.0f} ms",
         f"{floor_time * 1000:.0f} ms", our_time / floor_time, "< 1 s")  # fmt: skip

    config = load_config(None)
    path = work / "serve-home" / "page.db"
    open_store(path).close()
    now = dt.datetime(2026, 1, 9, 12, tzinfo=dt.UTC)
    client = create_app(config, lambda: open_store(path), now=lambda: now).test_client()
    day = dt.date(2026, 1, 10)

    def page() -> None:
        assert client.get("/day/2026-01-10").status_code == 200

    def preview() -> None:
        store = open_store(path)
        view = Builder(store, config).day(config.destinations.values(), day)
        render_day(config, view)
        store.close()

    page(), preview()
    ours = [timed(page, 1) for _ in range(15)]
    floor = [timed(preview, 1) for _ in range(15)]
    our_time, floor_time = statistics.median(ours), statistics.median(floor)
    line("serve: the reference day's page", f"{our_time * 1000:.1f} ms",
         f"{floor_time * 1000:.1f} ms", our_time / floor_time, "< 100 ms")  # fmt: skip


def rss_and_cpu(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss_kb / 1024, (int(stat[11]) + int(stat[12])) / ticks


def bench_idle(work: Path, seconds: float) -> None:
    store = work / "idle.db"
    config = work / "idle.yaml"
    config.write_text(
        "destinations:\n  out:\n    type: outbox\n    path: " + str(work / "outbox") + "\n"
        "    time: '00:00'\n    timezone: Pacific/Kiritimati\n    catch_up_hours: 0\n"
    )
    env = {
        **os.environ,
        "ANNIVERSARY_BOT_HOME": str(work / "home"),
        "ANNIVERSARY_BOT_LOG": "WARNING",
    }
    floor_code = (
        "import apscheduler.schedulers.blocking, requests, jinja2, sqlite_utils, yaml, pydantic, time; "
        "time.sleep(3600)"
    )
    daemon = subprocess.Popen([*BOT, "--config", str(config), "--db", str(store), "run"], env=env)
    floor = subprocess.Popen([PYTHON, "-c", floor_code])
    try:
        time.sleep(5)  # let both finish starting
        d_rss0, d_cpu0 = rss_and_cpu(daemon.pid)
        f_rss0, f_cpu0 = rss_and_cpu(floor.pid)
        time.sleep(seconds)
        d_rss, d_cpu = rss_and_cpu(daemon.pid)
        f_rss, f_cpu = rss_and_cpu(floor.pid)
    finally:
        daemon.terminate()
        floor.terminate()
        daemon.wait(30)
        floor.wait(30)
    line(
        "idle daemon: resident memory",
        f"{d_rss:.1f} MB",
        f"{f_rss:.1f} MB",
        d_rss / f_rss,
        "<= 60 MB",
    )
    line(
        f"idle daemon: CPU over {seconds:g} s",
        f"{d_cpu - d_cpu0:.2f} s",
        f"{f_cpu - f_cpu0:.2f} s",
        None,
        "~0",
    )
    del d_rss0, f_rss0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "which", nargs="*", default=["import", "preview", "render", "serve", "idle"]
    )
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="anniversary-bench-"))
    os.environ["ANNIVERSARY_BOT_HOME"] = str(work / "home")
    print(f"anniversary-bot benchmarks ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    try:
        store = None
        if "import" in args.which or "preview" in args.which:
            store = bench_import(work)
        if "preview" in args.which:
            bench_preview(work, store)
        if "render" in args.which:
            bench_render()
        if "serve" in args.which:
            bench_serve(work)
        if "idle" in args.which:
            bench_idle(work, args.idle_seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
