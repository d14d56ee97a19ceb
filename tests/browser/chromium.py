"""Debian's headless Chromium, from the command line: a screenshot, or the DOM as the browser
rendered it.

To look at a page as it is laid out, ``inspect`` loads a copy of it with ``inspect.js``
appended (the pages themselves carry no script): the script measures the rendered page and
writes its findings, as JSON, into an element that ``--dump-dom`` then returns. Every run gets
a new, empty profile and no network features (no sync, component updates, background fetches).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("ANNIVERSARY_BOT_CHROMIUM", "/usr/bin/chromium"))
WINDOW = (1200, 2000)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--mute-audio", "--disable-extensions",
)  # fmt: skip
INSPECT_JS = Path(__file__).with_name("inspect.js")
REPORT = re.compile(r'<pre id="inspection"[^>]*>([^<]*)</pre>')


def available() -> bool:
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def run(*args: str, window: tuple[int, int] = WINDOW, timeout: float = 120) -> str:
    """Run Chromium once with a fresh profile; returns its standard output."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        done = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
             f"--window-size={window[0]},{window[1]}", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def screenshot(page: Path, target: Path, window: tuple[int, int] = WINDOW) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if window[0] < MIN_WINDOW_WIDTH:
        frame = framed(page, *window)
        try:
            run(f"--screenshot={target}", frame.resolve().as_uri(),
                window=(MIN_WINDOW_WIDTH, window[1]))  # fmt: skip
        finally:
            frame.unlink(missing_ok=True)
    else:
        run(f"--screenshot={target}", page.resolve().as_uri(), window=window)
    if not target.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {target}")
    return target


def dump_dom(page: Path, window: tuple[int, int] = WINDOW) -> str:
    return run("--dump-dom", page.resolve().as_uri(), window=window)


# Chromium's window is at least 500 px wide: a narrower page (a phone's 390 px) is laid out in
# a frame of that width, which is the viewport its media queries see
MIN_WINDOW_WIDTH = 500
FRAME = """<!doctype html><html><body style="margin: 0">
<script>window.addEventListener("message", (event) => {{
  const out = document.createElement("pre"); out.id = "inspection"; out.hidden = true;
  out.textContent = event.data; document.body.appendChild(out); }});</script>
<iframe src="{src}" style="width: {width}px; height: {height}px; border: 0"></iframe>
</body></html>
"""


def framed(page: Path, width: int, height: int) -> Path:
    """A page that shows ``page`` in a frame ``width`` px wide (beside it)."""
    frame = page.with_name(page.stem + f".{width}px.html")
    frame.write_text(FRAME.format(src=page.name, width=width, height=height), encoding="utf-8")
    return frame


def inspect(page: Path, window: tuple[int, int] = WINDOW) -> dict[str, Any]:
    """Load ``page`` (a copy beside it, so relative links still work) with ``inspect.js`` and
    return what the script found in the rendered page."""
    copy = page.with_name(page.stem + ".inspect.html")
    source = page.read_text(encoding="utf-8")
    script = f"<script>\n{INSPECT_JS.read_text(encoding='utf-8')}\n</script>\n"
    copy.write_text(source.replace("</body>", script + "</body>"), encoding="utf-8")
    loaded, frame = copy, None
    if window[0] < MIN_WINDOW_WIDTH:
        loaded = frame = framed(copy, *window)
        window = (MIN_WINDOW_WIDTH, window[1])
    try:
        if frame is None:
            dom = dump_dom(loaded, window)
        else:  # the frame's report comes by message: let the page's tasks run before the dump
            dom = run("--virtual-time-budget=10000", "--dump-dom", loaded.resolve().as_uri(),
                      window=window)  # fmt: skip
    finally:
        copy.unlink(missing_ok=True)
        if frame is not None:
            frame.unlink(missing_ok=True)
    found = REPORT.findall(dom)
    if not found:
        raise AssertionError(f"the inspection script left no report in {page}:\n{dom[-2000:]}")
    return json.loads(html.unescape(found[-1]))


def png_facts(path: Path) -> dict[str, int]:
    """Width, height, and how many different byte values the image data holds (a blank page
    has a handful)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return {"width": width, "height": height, "distinct_bytes": len(set(pixels))}
