"""Reading YAML and JSON written by people the operator does not fully trust.

Every reader here is bounded and strict, and every refusal is one line naming the file, the
line and the field:

- a file over ``MAX_FILE_BYTES`` is refused before it is read (JSON lines are read a line at a
  time, each line at most ``MAX_LINE_BYTES``);
- YAML aliases may repeat at most ``MAX_ALIAS_NODES`` values in all: the 342 bytes of a
  "billion laughs" would otherwise become gigabytes (the composed document shares the aliased
  nodes; it is the expansion that explodes, so the expansion is what is counted);
- mappings and lists nest at most ``MAX_DEPTH`` levels (Python's own parsers and validators
  recurse);
- a key given twice in one mapping is an error (YAML and JSON both let the last one win
  silently);
- numbers of more than ``MAX_NUMBER_DIGITS`` digits are refused before Python converts them;
- NUL and other characters YAML refuses are reported by line, not by offset.

JSON carries no positions, so the line of each field is found only when an error needs it, by
a scan of the text (``JsonLines``): reading valid files costs nothing extra.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.errors import InputError
from bot.input_rules import MAX_TEXT_CHARS

__all__ = ["MAX_TEXT_CHARS", "TextLoader", "format_path", "json_document", "read_text"]

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 10_000
MAX_NUMBER_DIGITS = 30

FieldPath = tuple[str | int, ...]


if TYPE_CHECKING:
    # the stubs describe one loader API; the C loader (libyaml) has the same one
    _SafeLoader = yaml.SafeLoader
else:
    # the C loader when PyYAML was built with libyaml: several times faster
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TextLoader(_SafeLoader):
    """Safe YAML that keeps dates as the text the curator wrote (no timestamp conversion)."""


TextLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Location:
    """Where a record sits: its file, and the line of each of its fields where known."""

    file: str
    lines: Mapping[FieldPath, int] = field(default_factory=dict)
    root: FieldPath = ()
    line: int | None = None  # for a JSON-lines record

    def at(self, path: FieldPath) -> str:
        """``file:line`` for the deepest part of ``path`` whose line is known."""
        line = self.line
        if self.lines:
            full = self.root + tuple(path)
            for cut in range(len(full), -1, -1):
                if full[:cut] in self.lines:
                    line = self.lines[full[:cut]]
                    break
        return f"{self.file}:{line}" if line else self.file


def format_path(path: Iterable[str | int]) -> str:
    """``parts[0].blocks[2].url``; ``(top level)`` for the document itself."""
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text or "(top level)"


def _line_of(data: bytes | str, offset: int) -> int:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, offset) + 1  # type: ignore[arg-type]


def read_text(path: Path, expected: str = "YAML or JSON") -> str:
    """The file as text: at most ``MAX_FILE_BYTES``, UTF-8, without NUL bytes."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{path}: the file is {size / 2**20:.0f} MB, over the limit of "
                f"{MAX_FILE_BYTES // 2**20} MB: split it into several files"
            )
        with path.open("rb") as handle:
            # read(n) sets aside n bytes first: ask for what the file holds, not for the cap
            raw = handle.read(size + 1)
            if len(raw) > size:  # it grew while we looked
                raw += handle.read(MAX_FILE_BYTES + 1 - len(raw))
    except OSError as error:
        raise InputError(f"{path}: cannot read the file: {error.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{path}: the file is over the limit of {MAX_FILE_BYTES // 2**20} MB")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{path}:{_line_of(raw, nul)}: not a text file (a NUL byte): expected {expected}"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}:{_line_of(raw, error.start)}: not UTF-8 text (bad byte at offset "
            f"{error.start}): save it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty: expected {expected}")
    return text


# --- YAML -----------------------------------------------------------------------------------


class _Walk:
    """One pass over a composed YAML document: the line of every field, and the limits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[FieldPath, int] = {}
        self.seen: set[int] = set()
        self.repeated = 0

    def refuse(self, node: yaml.Node, field: FieldPath, problem: str) -> InputError:
        return InputError(
            f"{self.path}:{node.start_mark.line + 1}: {format_path(field)}: {problem}"
        )

    def visit(self, node: yaml.Node, field: FieldPath, depth: int, aliased: bool) -> None:
        if id(node) in self.seen:
            aliased = True  # reached again: through an alias
        self.seen.add(id(node))
        if aliased:
            self.repeated += 1
            if self.repeated > MAX_ALIAS_NODES:
                raise self.refuse(
                    node,
                    field,
                    f"aliases (*name) repeat more than {MAX_ALIAS_NODES:,} values: write the "
                    "repeated part out, or use fewer aliases",
                )
        self.lines.setdefault(field, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT_TAG and len(node.value) > MAX_NUMBER_DIGITS:
                raise self.refuse(node, field, f"a number of {len(node.value):,} digits")
            return
        if depth >= MAX_DEPTH:
            raise self.refuse(
                node, field, f"nested more than {MAX_DEPTH} levels deep: expected a flatter value"
            )
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.refuse(key_node, field, "a key must be a plain name")
                key = key_node.value
                if key_node.tag != _MERGE_TAG:
                    if (key_node.tag, key) in keys:
                        raise self.refuse(
                            key_node,
                            field + (key,),
                            "this key is given twice in the same mapping: keep one",
                        )
                    keys.add((key_node.tag, key))
                # the key's line, not its value's: where a reader looks for "parts:" or "date:"
                self.lines[field + (key,)] = key_node.start_mark.line + 1
                self.visit(value_node, field + (key,), depth + 1, aliased)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.visit(item, field + (index,), depth + 1, aliased)


def yaml_documents(path: Path, text: str) -> Iterator[tuple[Any, dict[FieldPath, int]]]:
    """Each document of a YAML text with the line of each of its fields."""
    loader = TextLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said a document follows
            walk = _Walk(path)
            walk.visit(node, (), 0, False)
            yield loader.construct_document(node), walk.lines
    except yaml.reader.ReaderError as error:
        # a character YAML does not allow (a control character): by line, not by offset
        line = _line_of(text, error.position)
        raise InputError(
            f"{path}:{line}: YAML does not allow the character {error.character!r} here: remove it"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = " ".join(str(error.problem or error.context or "syntax error").split())
        raise InputError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: YAML error: {' '.join(str(error).split())}") from None
    finally:
        loader.dispose()


# --- JSON -----------------------------------------------------------------------------------


class _Located(ValueError):
    """A problem the parser cannot place: the scan of the text finds its line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise _Located()
    return data


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Located()
    return int(text)


_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_int=_bounded_int)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


class JsonScan:
    """The line of every field of a JSON text, and its first problem the parser does not name
    with a position (a key given twice, nesting too deep, a number too long)."""

    def __init__(self, text: str) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.problem: tuple[FieldPath, int, str] | None = None
        self._scan(text)

    def _scan(self, text: str) -> None:
        # a frame: [path, is_object, next index, current key, keys seen, expecting a key]
        stack: list[list[Any]] = []
        line, last = 1, 0
        for match in _TOKEN.finditer(text):
            token, start = match.group(), match.start()
            line += text.count("\n", last, start)
            last = start
            top = stack[-1] if stack else None
            if token == ",":
                if top is not None and top[1]:
                    top[5] = True
                continue
            if token == ":":
                continue
            if token in "}]":
                if stack:
                    stack.pop()
                continue
            if top is not None and top[1] and top[5]:
                try:
                    key = json.loads(token)
                except ValueError:
                    key = token
                top[3], top[5] = key, False
                field: FieldPath = top[0] + (key,)
                if key in top[4]:
                    self.problem = (field, line, "this key is given twice in the same object")
                    return
                top[4].add(key)
                self.lines[field] = line
                continue
            if top is None:
                field = ()
            elif top[1]:
                field = top[0] + (top[3],)
            else:
                field = top[0] + (top[2],)
                top[2] += 1
            self.lines.setdefault(field, line)
            if token in "{[":
                if len(stack) >= MAX_DEPTH:
                    self.problem = (
                        field,
                        line,
                        f"nested more than {MAX_DEPTH} levels deep: expected a flatter value",
                    )
                    return
                stack.append([field, token == "{", 0, None, set(), token == "{"])
            elif token[:1] in "-0123456789" and len(token.lstrip("-")) > MAX_NUMBER_DIGITS:
                self.problem = (field, line, f"a number of {len(token):,} characters")
                return


class JsonLines(Mapping):
    """The line of each field of a JSON text, scanned the first time a line is asked for."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[FieldPath, int] | None = None

    def _all(self) -> dict[FieldPath, int]:
        if self._lines is None:
            self._lines = JsonScan(self._text).lines
            self._text = ""
        return self._lines

    def __getitem__(self, key: FieldPath) -> int:
        return self._all()[key]

    def __iter__(self) -> Iterator[FieldPath]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _too_deep(data: Any) -> bool:
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def json_document(path: Path, text: str) -> tuple[Any, Mapping[FieldPath, int]]:
    """A JSON text, strictly (no duplicate keys, bounded depth and numbers), with its lines."""
    try:
        data = _STRICT_JSON.decode(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: JSON syntax error: {error.msg}") from None
    except (_Located, RecursionError, ValueError):
        data = None  # the scan below names the problem and its line
    else:
        if not _too_deep(data):
            return data, JsonLines(text)
    scan = JsonScan(text)
    if scan.problem is None:  # not expected: the parser refused something the scan did not
        raise InputError(f"{path}: JSON error: the file cannot be read as JSON")
    field, line, problem = scan.problem
    raise InputError(f"{path}:{line}: {format_path(field)}: {problem}")


def json_record(text: str, decoder: json.JSONDecoder = _STRICT_JSON) -> Any:
    """One JSON-lines record; ``ValueError`` (with the field where it knows it) if refused."""
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON object: {error.msg} (column {error.colno})") from None
    except (_Located, RecursionError, ValueError):
        scan = JsonScan(text)
        if scan.problem is None:
            raise ValueError("not a JSON object") from None
        field, _, problem = scan.problem
        raise ValueError(f"{format_path(field)}: {problem}") from None
