"""Where the config and the store are (``config show``), and a starter config (``init``)
written from the example shipped in the package."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.errors import BotError
from bot.paths import default_outbox_path, default_store_path, example_config_path, user_config_file

CONFIG_ENV = "ANNIVERSARY_BOT_CONFIG"


@dataclass(frozen=True)
class Locations:
    """Where a command reads its config and store from, and why there."""

    config: Path | None  # the file read; None: the embedded default
    config_from: str  # "--config", "$ANNIVERSARY_BOT_CONFIG", "the user config folder"
    config_default: Path  # read when neither --config nor $ANNIVERSARY_BOT_CONFIG names one
    store: str
    store_from: str  # "--db", "the config's store key", "the default"

    def lines(self) -> list[str]:
        if self.config is not None:
            config = f"config: {self.config} (from {self.config_from})"
        else:
            config = (
                f"config: none, the embedded default (a config is read from --config, "
                f"${CONFIG_ENV}, else {self.config_default}: 'anniversary-bot init' writes one)"
            )
        return [config, f"store: {self.store} (from {self.store_from})"]

    def to_json(self) -> dict[str, Any]:
        return {
            "config": str(self.config) if self.config else None,
            "config_from": self.config_from if self.config else None,
            "config_default": str(self.config_default),
            "store": self.store,
            "store_from": self.store_from,
        }


def locations(config: Config, config_option: str | None, db_option: str | None) -> Locations:
    """Where ``config`` was read from (given the ``--config`` and ``--db`` options) and which
    store the commands open."""
    if config_option:
        config_from = "--config"
    elif os.environ.get(CONFIG_ENV):
        config_from = f"${CONFIG_ENV}"
    else:
        config_from = "the user config folder"
    if db_option:
        store, store_from = db_option, "--db"
    elif config.store is not None:
        store, store_from = str(config.store), "the config's store key"
    else:
        store, store_from = str(default_store_path()), "the default"
    return Locations(config.path, config_from, user_config_file(), store, store_from)


@dataclass(frozen=True)
class Starter:
    """A starter config written by ``init``."""

    path: Path
    store: Path

    def lines(self) -> list[str]:
        return [
            f"wrote a starter config: {self.path}",
            f"the store: {self.store} (created on first use, with the sample events)",
            "next: edit the config (every key is in it, commented), then "
            "'anniversary-bot config check'",
        ]


def starter_text(store: Path, outbox: Path) -> str:
    """A config that works as it is (the store, a file outbox), followed by every key of the
    shipped ``config.example.yaml``, commented out."""
    example = example_config_path().read_text(encoding="utf-8")
    commented = "".join(f"# {line}" if line.strip() else line for line in example.splitlines(True))
    return (
        "# anniversary-bot configuration, written by 'anniversary-bot init'.\n"
        "# It works as it is: the store below, and each day's thread written to a file outbox.\n"
        "# Add destinations from the reference below; 'anniversary-bot config check' validates.\n"
        "\n"
        f"store: {_yaml_path(store)}\n"
        "timezone: UTC\n"
        "destinations:\n"
        "  outbox:\n"
        "    type: outbox\n"
        f"    path: {_yaml_path(outbox)}\n"
        "    format: text\n"
        '    time: "07:00"\n'
        "\n"
        "# ---- every key, from config.example.yaml (remove the '# ' to use one) ----\n"
        "#\n" + commented
    )


def _yaml_path(path: Path) -> str:
    import json

    return json.dumps(str(path))  # a JSON string is a YAML string: quotes and escapes kept


def write_starter(config_option: str | None, db_option: str | None, force: bool = False) -> Starter:
    """Write the starter config where the commands will read it: ``--config PATH``, else
    ``$ANNIVERSARY_BOT_CONFIG``, else the user config folder. An existing file is kept unless
    ``force``."""
    target = Path(config_option or os.environ.get(CONFIG_ENV) or user_config_file()).expanduser()
    if target.exists() and not force:
        raise BotError(f"{target}: a config is already there: --force replaces it")
    store = Path(db_option).expanduser().resolve() if db_option else default_store_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(starter_text(store, default_outbox_path()), encoding="utf-8")
    temporary.replace(target)  # whole or not at all
    return Starter(target, store)
