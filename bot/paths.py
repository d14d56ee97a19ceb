"""Where the bundled templates and data are, in a checkout and in an installed wheel."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
APP_NAME = "anniversary-bot"


def _bundled(name: str) -> Path:
    # a wheel puts templates/ and data/ inside the package; a checkout has them beside it
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def templates_dir() -> Path:
    return _bundled("templates")


def data_dir() -> Path:
    return _bundled("data")


def example_config_path() -> Path:
    """``config.example.yaml``: every key, commented (the wheel carries the project's file)."""
    inside = PACKAGE_DIR / "config.example.yaml"
    return inside if inside.is_file() else PACKAGE_DIR.parent / "config.example.yaml"


def user_data_dir() -> Path:
    if "ANNIVERSARY_BOT_HOME" in os.environ:
        return Path(os.environ["ANNIVERSARY_BOT_HOME"])
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def user_config_dir() -> Path:
    if "ANNIVERSARY_BOT_HOME" in os.environ:
        return Path(os.environ["ANNIVERSARY_BOT_HOME"])
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def user_config_file() -> Path:
    """The config read when neither --config nor $ANNIVERSARY_BOT_CONFIG names one."""
    return user_config_dir() / "config.yaml"


def user_cache_dir() -> Path:
    if "ANNIVERSARY_BOT_HOME" in os.environ:
        return Path(os.environ["ANNIVERSARY_BOT_HOME"]) / "cache"
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME, appauthor=False)


def default_store_path() -> Path:
    return user_data_dir() / "store.db"


def default_outbox_path() -> Path:
    return user_data_dir() / "outbox"
