"""Issue 20: the preview site of a year costs little: a page is written whole (a temporary file
renamed) without waiting for the disk, while a post written to an outbox still waits for it."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bot.posters.outbox import write_atomically
from bot.preview.html import write_site
from tests.test_html_preview import config_of, outbox


@pytest.fixture
def disk_waits(monkeypatch) -> list[int]:
    """The file descriptors ``os.fsync`` was called with."""
    calls: list[int] = []
    real = os.fsync

    def counted(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counted)
    return calls


def test_the_preview_site_does_not_wait_for_the_disk_for_each_page(
    tmp_path: Path, sample_store, disk_waits
):
    destination = outbox(tmp_path)
    index = write_site(sample_store, config_of(destination), [destination],
                       dt.date(2026, 1, 8), 5, tmp_path / "site")  # fmt: skip
    pages = sorted(p.name for p in index.parent.iterdir())
    assert pages == ["2026-01-08.html", "2026-01-09.html", "2026-01-10.html", "2026-01-11.html",
                     "2026-01-12.html", "index.html"]  # fmt: skip
    assert disk_waits == []


def test_a_file_written_atomically_waits_for_the_disk_unless_told(tmp_path: Path, disk_waits):
    write_atomically(tmp_path / "post.txt", "a post\n")
    assert len(disk_waits) == 1
    write_atomically(tmp_path / "page.html", "<p>a page</p>\n", durable=False)
    assert len(disk_waits) == 1
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == "<p>a page</p>\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
