"""Finding and loading the config: kept apart from its validation (``bot.config.schema``, which
imports pydantic, YAML and the event schema) so that a command run without a config file, on
the embedded default, never pays for them."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config, default_config, find_config_path


def load_config(explicit: str | Path | None = None) -> Config:
    """The config from ``--config``, ``$ANNIVERSARY_BOT_CONFIG`` or the user config folder,
    validated; the embedded default when there is none."""
    path = find_config_path(explicit)
    if path is None:
        return default_config()
    from bot.config.schema import parse_config  # only when there is a file to validate

    return parse_config(path)
