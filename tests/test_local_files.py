"""Image files named in events stay in the folder of the event file, are images by content and
are not too large: refused at import with one line, and checked again when they are uploaded
(a file swapped after import is not uploaded)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.events.loader import load_files
from bot.local_files import MAX_IMAGE_BYTES, ImageKind, read_image
from tests.conftest import write
from tests.harnesses.discourse import FakeDiscourse
from tests.harnesses.mastodon import FakeMastodon
from tests.test_discourse import make_poster as make_discourse
from tests.test_discourse import post as discourse_post
from tests.test_mastodon import make_poster as make_mastodon
from tests.test_mastodon import post as mastodon_post

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"pixels" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"pixels" * 20
GIF = b"GIF89a" + b"pixels" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"pixels" * 20
SECRET = b"discourse-api-key-7c1f0e-never-upload-me\n"


def event_yaml(file: str) -> str:
    return f"""\
date: "1969-07-20"
title: Apollo 11 lands on the Moon
lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
parts:
  - blocks:
      - type: images
        images:
          - caption: The lunar module Eagle.
            file: {file}
"""


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


@pytest.fixture
def layout(tmp_path) -> Path:
    """events/ with an image inside; ops/secrets/ beside it, outside the events' folder."""
    events = tmp_path / "events"
    (events / "images").mkdir(parents=True)
    (events / "images" / "eagle.png").write_bytes(PNG)
    secrets = tmp_path / "ops" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "discourse.key").write_bytes(SECRET)
    return events


def import_one(cli_run, tmp_path: Path, event_file: Path) -> tuple[int, str]:
    db = tmp_path / "store.db"
    if not db.exists():
        cli_run("--db", str(db), "export")  # a new store says so on stderr: make it first
    code, _, err = cli_run("--db", str(db), "import", str(event_file))
    if code == 2:
        # nothing was written
        assert cli_run("--db", str(db), "export")[1].count("title:") == 0
    return code, err


def assert_refused(code: int, err: str, event_file: Path, reason: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"Error: {event_file}:9: parts[0].blocks[0].images[0].file: "), err
    assert reason in lines[0], err
    assert "unexpected" not in err and "Traceback" not in err


def test_an_image_in_the_folder_is_accepted(layout, tmp_path, cli_run):
    event_file = write(layout / "apollo.yaml", event_yaml("images/eagle.png"))
    code, err = import_one(cli_run, tmp_path, event_file)
    assert code == 0, err
    (event,) = load_files([event_file]).events
    image = event.parts[0]["blocks"][0]["images"][0]
    assert image["file"] == str((layout / "images" / "eagle.png").resolve())


@pytest.mark.parametrize(
    "file, reason",
    [
        ("../ops/secrets/discourse.key", "may not go up a folder"),
        ("images/../../ops/secrets/discourse.key", "may not go up a folder"),
        ("ABSOLUTE", "outside the folder of the event file"),
        ("images/missing.png", "not found"),
        ("images", "not a regular file"),
    ],
)
def test_a_file_outside_the_folder_is_refused(layout, tmp_path, cli_run, file, reason):
    if file == "ABSOLUTE":
        file = str(tmp_path / "ops" / "secrets" / "discourse.key")
    event_file = write(layout / "apollo.yaml", event_yaml(file))
    code, err = import_one(cli_run, tmp_path, event_file)
    assert_refused(code, err, event_file, reason)


def test_an_absolute_path_inside_the_folder_is_accepted(layout, tmp_path, cli_run):
    """What `export` writes (the resolved path) imports again beside the images."""
    event_file = write(layout / "apollo.yaml", event_yaml(str(layout / "images" / "eagle.png")))
    assert import_one(cli_run, tmp_path, event_file)[0] == 0


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_symlink_out_of_the_folder_is_refused(layout, tmp_path, cli_run):
    (layout / "images" / "key.png").symlink_to(tmp_path / "ops" / "secrets" / "discourse.key")
    (layout / "linked").symlink_to(tmp_path / "ops" / "secrets")
    for file in ("images/key.png", "linked/discourse.key"):
        event_file = write(layout / "apollo.yaml", event_yaml(file))
        code, err = import_one(cli_run, tmp_path, event_file)
        assert_refused(code, err, event_file, "outside the folder of the event file")


def test_a_symlink_inside_the_folder_is_followed(layout, tmp_path, cli_run):
    (layout / "images" / "same.png").symlink_to(layout / "images" / "eagle.png")
    event_file = write(layout / "apollo.yaml", event_yaml("images/same.png"))
    assert import_one(cli_run, tmp_path, event_file)[0] == 0


def test_a_non_image_with_an_image_name_is_refused(layout, tmp_path, cli_run):
    (layout / "images" / "eagle.jpg").write_bytes(b"#!/bin/sh\necho not an image\n")
    event_file = write(layout / "apollo.yaml", event_yaml("images/eagle.jpg"))
    code, err = import_one(cli_run, tmp_path, event_file)
    assert_refused(code, err, event_file, "not an image (JPEG, PNG, GIF or WebP)")


def test_an_oversized_image_is_refused(layout, tmp_path, cli_run):
    (layout / "images" / "huge.png").write_bytes(PNG + b"\x00" * MAX_IMAGE_BYTES)
    event_file = write(layout / "apollo.yaml", event_yaml("images/huge.png"))
    code, err = import_one(cli_run, tmp_path, event_file)
    assert_refused(code, err, event_file, "larger than 10 MB")


@pytest.mark.parametrize(
    "content, kind",
    [(PNG, ImageKind.PNG), (JPEG, ImageKind.JPEG), (GIF, ImageKind.GIF), (WEBP, ImageKind.WEBP)],
)
def test_image_kinds_are_told_by_content(tmp_path, content, kind):
    path = tmp_path / "picture.bin"  # the name says nothing
    path.write_bytes(content)
    image = read_image(str(path))
    assert image.kind is kind and image.content == content and image.name == "picture.bin"


def test_read_image_refuses_a_symlink_swapped_in(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(PNG)
    link = tmp_path / "eagle.png"
    link.symlink_to(real)
    with pytest.raises(InputError, match="symbolic link"):
        read_image(str(link))


# --- a file swapped after import is not uploaded ------------------------------------------


def _imported_image(layout: Path) -> dict:
    event_file = write(layout / "apollo.yaml", event_yaml("images/eagle.png"))
    (event,) = load_files([event_file]).events
    return dict(event.parts[0]["blocks"][0]["images"][0])


def _swap(layout: Path, tmp_path: Path, how: str) -> None:
    image = layout / "images" / "eagle.png"
    image.unlink()
    if how == "secret":
        image.write_bytes(SECRET)
    elif how == "symlink":
        image.symlink_to(tmp_path / "ops" / "secrets" / "discourse.key")
    elif how == "symlinked-folder":
        (layout / "images").rmdir()
        (tmp_path / "ops" / "secrets" / "eagle.png").write_bytes(PNG + SECRET)
        (layout / "images").symlink_to(tmp_path / "ops" / "secrets")


SWAPS = ["secret", "symlink", "symlinked-folder"]


@pytest.mark.parametrize("how", SWAPS)
def test_discourse_uploads_nothing_when_the_file_was_swapped(layout, tmp_path, how):
    from bot.posters.base import PostError

    image = _imported_image(layout)
    _swap(layout, tmp_path, how)
    with FakeDiscourse() as forum:
        poster = make_discourse(forum, tmp_path)
        with pytest.raises(PostError) as caught:
            poster.publish(discourse_post(1, images=(image,)), None, None)
        assert caught.value.retryable is False
        assert forum.calls("POST", "/uploads.json") == []
        # with a URL to fall back on, the post goes out linking it, still uploading nothing
        linked = {**image, "url": "https://example.org/eagle.png"}
        poster.publish(discourse_post(1, images=(linked,)), None, None)
        assert forum.calls("POST", "/uploads.json") == []
        assert forum.accepted()[-1].endswith("(https://example.org/eagle.png)")


@pytest.mark.parametrize("how", SWAPS)
def test_mastodon_uploads_nothing_when_the_file_was_swapped(layout, tmp_path, how):
    image = _imported_image(layout)
    _swap(layout, tmp_path, how)
    with FakeMastodon(processing_polls=0) as server:
        poster = make_mastodon(server.url, tmp_path)
        poster.publish(mastodon_post(1, images=(image,)), None, None)
        assert "POST /api/v2/media" not in server.calls()
        assert server.media == {}
        assert server.calls() == ["POST /api/v1/statuses"]


def test_an_image_still_in_place_is_uploaded(layout, tmp_path):
    image = _imported_image(layout)
    with FakeMastodon(processing_polls=0) as server:
        poster = make_mastodon(server.url, tmp_path)
        poster.publish(mastodon_post(1, images=(image,)), None, None)
        (media,) = server.media.values()
        assert media["bytes"] == PNG
    with FakeDiscourse() as forum:
        make_discourse(forum, tmp_path).publish(discourse_post(1, images=(image,)), None, None)
        assert len(forum.calls("POST", "/uploads.json")) == 1
