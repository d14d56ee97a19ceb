"""A config file validated before, read back without validating it again.

Validating a config imports pydantic and YAML and builds their models: about 100 ms, as much
as everything else a read command does (``status``, run by a monitor every minute). So the
result of validating a file is kept in the user's cache folder, under a key made of everything
that result depends on: the file's bytes and path (as given, and the working folder), the home
folder (``~`` in paths), the Python and bot versions, and the modification time and size of
every module and catalog of the bot and of the first module of pydantic, PyYAML and Babel. A
file whose key matches is read back from there; any other is validated again (and its result
kept in place of the old one: one entry per config file).

Kept only when it reads back exactly as validation gave it (checked when written), and never
for a config whose validation is not all the bot's or which holds anything secret-like: an
adapter from a plugin (its version is not in the key), a URL with ``user:password@`` (its
credentials are registered for masking while the file is validated), a web user's password
hash. Secrets themselves are never in it: they stay ``{$env: NAME}`` / ``{$file: path}``
references until a destination reads them. The entry is written with permissions 0600.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot import __version__
from bot.config import AlertEvent, AlertSettings, AlertUrl, Config, Destination
from bot.paths import user_cache_dir
from bot.secrets_filter import Secret, SecretRef

FORMAT = 1  # of the entries: a new format ignores the entries of an older one
MAX_CONFIG_BYTES = 1_000_000  # a larger file is validated each time (and refused there)
DATACLASSES: dict[str, type] = {
    cls.__name__: cls for cls in (Config, Destination, AlertSettings, AlertUrl, SecretRef)
}
# the code a config's validation runs, beside the bot's own modules
VALIDATING_PACKAGES = ("pydantic", "pydantic_core", "yaml", "babel")


class NotKept(Exception):
    """The config holds something an entry must not (or cannot) hold."""


def read_memo(path: Path, data: bytes) -> Config | None:
    """The config validated earlier from ``data`` (the bytes of the file at ``path``), or None
    when there is none for exactly these bytes, this bot and this environment."""
    try:
        entry = json.loads(_entry_path(path).read_text(encoding="utf-8"))
        if entry.get("key") != memo_key(path, data):
            return None
        config = _decode(entry["config"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # none, unreadable or from another version: validated again
    return config if isinstance(config, Config) else None


def keep_memo(path: Path, data: bytes, config: Config) -> bool:
    """Keep ``config``, validated from ``data``, for the next command; False when it is not
    kept (see the module's docstring) or cannot be written."""
    from bot.posters import BUILTIN_POSTERS

    if any(dest.type not in BUILTIN_POSTERS for dest in config.destinations.values()):
        return False
    if any(user.get("password_hash") for user in config.web.get("users", {}).values()):
        return False
    try:
        encoded = _encode(config)
    except NotKept:
        return False
    if repr(_decode(encoded)) != repr(config):
        return False  # would not read back exactly as validated
    entry = json.dumps({"key": memo_key(path, data), "config": encoded}, ensure_ascii=False)
    target = _entry_path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(entry)
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        return False
    return True


def memo_key(path: Path, data: bytes) -> str:
    """What a validated config depends on, hashed."""
    digest = hashlib.sha256()
    # the path as given and the working folder too: a relative path's folder is the base of
    # the config's own relative paths (its store, an outbox)
    facts = [FORMAT, str(path), os.getcwd(), str(path.resolve()), os.path.expanduser("~"),
             sys.version, __version__]  # fmt: skip
    digest.update(json.dumps([*facts, _code_fingerprint()]).encode())
    digest.update(data)
    return digest.hexdigest()


def _entry_path(path: Path) -> Path:
    name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return user_cache_dir() / "configs" / f"{name}.json"


@functools.cache
def _code_fingerprint() -> tuple[tuple[str, int, int], ...]:
    """(file, modification time, size) of the bot's modules and catalogs, and of the first
    module of each package its validation runs: a changed rule changes the key (an edit of the
    bot, or an installation, which writes every file of a package anew). Once per process: a
    command that misses reads and keeps the memo with the same key, and a process goes on
    running the code it started with, whatever is written over its files meanwhile."""
    from importlib.util import find_spec

    found: list[tuple[str, int, int]] = []
    _scan(str(Path(__file__).resolve().parent.parent), found)
    for name in VALIDATING_PACKAGES:
        spec = find_spec(name)
        if spec is not None and spec.origin:
            stat = os.stat(spec.origin)
            found.append((spec.origin, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _scan(folder: str, found: list[tuple[str, int, int]]) -> None:
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                _scan(entry.path, found)
        elif entry.name.endswith((".py", ".po", ".so", ".pyd")):
            stat = entry.stat()
            found.append((entry.path, stat.st_mtime_ns, stat.st_size))


def _encode(value: Any) -> Any:
    """``value`` as JSON, with the types it is made of named so that it reads back the same."""
    if isinstance(value, Secret):
        raise NotKept("a secret's value")
    if isinstance(value, AlertEvent):
        return {"$enum": value.value}
    if isinstance(value, str):
        if "://" in value and "@" in value:
            raise NotKept("a URL that may hold credentials")  # registered for masking
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Path):
        return {"$path": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"$dict": [[key, _encode(item)] for key, item in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__name__ in DATACLASSES:
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$dataclass": type(value).__name__, "fields": fields}
    raise NotKept(f"a value of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "$enum" in value:
        return AlertEvent(value["$enum"])
    if "$path" in value:
        return Path(value["$path"])
    if "$tuple" in value:
        return tuple(_decode(item) for item in value["$tuple"])
    if "$dict" in value:
        return {key: _decode(item) for key, item in value["$dict"]}
    fields = {name: _decode(item) for name, item in value["fields"].items()}
    return DATACLASSES[value["$dataclass"]](**fields)
