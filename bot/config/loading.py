"""Finding and loading the config: kept apart from its validation (``bot.config.schema``, which
imports pydantic, YAML and the adapters' settings) so that a command run without a config
file, on the embedded default, never pays for them; nor does one run with a file validated
before and unchanged since (``bot.config.memo``)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config, default_config, find_config_path


def load_config(explicit: str | Path | None = None) -> Config:
    """The config from ``--config``, ``$ANNIVERSARY_BOT_CONFIG`` or the user config folder,
    validated; the embedded default when there is none."""
    path = find_config_path(explicit)
    if path is None:
        return default_config()
    from bot.config.memo import MAX_CONFIG_BYTES, keep_memo, read_memo

    data = _small_file_bytes(path, MAX_CONFIG_BYTES)
    if data is not None:
        found = read_memo(path, data)
        if found is not None:
            return found
    from bot.config.schema import parse_config  # only when there is a file to validate

    config = parse_config(path)
    if data is not None and _small_file_bytes(path, MAX_CONFIG_BYTES) == data:
        keep_memo(path, data, config)  # unless the file changed while it was validated
    return config


def _small_file_bytes(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` or cannot be read (its
    validation then says why, reading it with its own limits)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None
