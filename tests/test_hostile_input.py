"""Hostile input: every bad event file, JSON-lines record, saved feed answer and config is one
line naming the file, the line and the field, exit code 2, and the store is left as it was.

The corpus is generated: each field of an event x each kind of bad value, in YAML and in JSON,
then the JSON-lines records, the feed and the config, plus the named attacks (an alias bomb,
deep nesting, huge numbers, duplicate keys, NUL bytes). Every case goes through the CLI.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.events.loader import _wiki_record_problem, wiki_record_to_event
from bot.safe_load import MAX_ALIAS_NODES, MAX_DEPTH, MAX_TEXT_CHARS
from tests.conftest import ROOT, SHARED_DATA, write

# --- the corpus ---------------------------------------------------------------------------

GOOD_EVENT: dict[str, Any] = {
    "id": "1969-07-20-apollo",
    "date": "1969-07-20",
    "title": "Apollo 11 lands on the Moon",
    "lead": "Neil Armstrong and Buzz Aldrin walked on the Moon.",
    "credit": "Jane Doe",
    "tags": ["space"],
    "priority": 1,
    "sensitive": False,
    "source": "https://example.org/source",
    "parts": [
        {
            "blocks": [
                {"type": "text", "text": "One small step."},
                {"type": "quote", "text": "A giant leap.", "cite": "Neil Armstrong"},
                {"type": "video", "url": "https://example.org/video", "title": "The landing",
                 "description": "NASA footage."},
                {"type": "images", "images": [{"caption": "Aldrin.",
                                               "url": "https://example.org/a.jpg"}]},
                {"type": "background", "url": "https://example.org/apollo",
                 "excerpt": "Apollo 11 was a spaceflight.", "source": "Wikipedia"},
                {"type": "links", "title": "Further reading",
                 "links": [{"title": "Apollo 11", "url": "https://example.org/link"}]},
                {"type": "links", "style": "numbered",
                 "links": [{"url": "https://www.example.org/page/", "text": "example.org/page"}]},
            ]
        }
    ],
}  # fmt: skip

BLOCKS = ("parts", 0, "blocks")
TOO_LONG = "x" * (MAX_TEXT_CHARS + 1)
WRONG_TYPES = [42, [1], {"a": 1}]
BAD_URLS = [
    "javascript:alert(1)",
    "https://example.org/a b",
    "https://example.org/\x07bell",
    "ftp://example.org/file",
    "https://example.org/" + "a" * 3000,
    "",
]
BAD_TEXTS = ["", TOO_LONG, *WRONG_TYPES, None]
BAD_OPTIONAL_TEXTS = [TOO_LONG, *WRONG_TYPES]
BAD_INTS = [10**23, -(10**23), 2**63, -(2**63) - 1, 1.5, "1", True]
BAD_NAMES = ["Space Race", "", "x" * 65, 7, None]

# (path of the field in GOOD_EVENT, the values it must refuse)
EVENT_FIELDS: list[tuple[tuple, list[Any]]] = [
    (("id",), ["../etc", "-rf", "a" * 201, 7, ["x"]]),
    (("date",), ["1969-02-30", "99999-01-01", "1969-7-20", "0000-07-20", 19690720, None]),
    (("title",), ["", "t" * 301, *WRONG_TYPES, None]),
    (("lead",), BAD_TEXTS),
    (("credit",), BAD_OPTIONAL_TEXTS),
    (("tags",), ["space", {"a": 1}]),
    (("tags", 0), BAD_NAMES),
    (("priority",), BAD_INTS),
    (("sensitive",), ["maybe", 1, 0.0]),
    (("source",), BAD_URLS),
    (("origin",), ["elsewhere", 1]),
    (("parts",), [[], "x", {"blocks": []}]),
    ((*BLOCKS, 0, "text"), BAD_TEXTS),
    ((*BLOCKS, 0, "type"), ["podcast", 1]),
    ((*BLOCKS, 1, "cite"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 2, "url"), BAD_URLS),
    ((*BLOCKS, 2, "title"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 2, "description"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 3, "images"), [[], "x"]),
    ((*BLOCKS, 3, "images", 0, "caption"), BAD_TEXTS),
    ((*BLOCKS, 3, "images", 0, "url"), BAD_URLS),
    ((*BLOCKS, 3, "images", 0, "file"), ["../secret.key", "/etc/passwd", 5]),
    ((*BLOCKS, 4, "url"), BAD_URLS),
    ((*BLOCKS, 4, "excerpt"), BAD_TEXTS),
    ((*BLOCKS, 4, "source"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 5, "title"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 5, "links"), [[], "x"]),
    ((*BLOCKS, 5, "links", 0, "title"), ["", *BAD_OPTIONAL_TEXTS]),
    ((*BLOCKS, 5, "links", 0, "url"), BAD_URLS),
    # the presentation options (issue 16)
    (("topic_title",), ["", "t" * 301, *WRONG_TYPES]),
    ((*BLOCKS, 0, "attach"), ["yes", 1]),
    ((*BLOCKS, 1, "headline"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 1, "marks"), ["no", 0]),
    ((*BLOCKS, 1, "url"), BAD_URLS),
    ((*BLOCKS, 4, "header"), ["no", 0]),
    ((*BLOCKS, 4, "headline"), BAD_OPTIONAL_TEXTS),
    ((*BLOCKS, 5, "style"), ["numbers", 1, "Numbered"]),
    ((*BLOCKS, 6, "links", 0, "text"), ["evil.example/login", "", "example.org/other", 5]),
]


def field_name(path: tuple) -> str:
    text = ""
    for item in path:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def with_value(path: tuple, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(GOOD_EVENT)
    node = event
    for item in path[:-1]:
        node = node[item]
    if value is None and isinstance(node, dict):
        del node[path[-1]]  # a required field left out
    else:
        node[path[-1]] = value
    return event


@dataclass
class Case:
    name: str  # the file name
    content: bytes
    field: str | None  # what the error line must name (None: a file-level problem)
    line: int | None = None  # the line it must name; None: any line
    has_lines: bool = True  # whether the format has lines (a gzip file is named without)
    command: str = "import"  # or "config" (the file is given with --config)


def _yaml(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000).encode()


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode()


def event_cases() -> list[Case]:
    cases = []
    for path, values in EVENT_FIELDS:
        for number, value in enumerate(values):
            event = with_value(path, value)
            # a required field left out is named by its own name; a value inside a list by
            # its index
            name = field_name(path)
            cases.append(Case(f"event-{name}-{number}.yaml", _yaml(event), name))
            if number < 3:
                cases.append(Case(f"event-{name}-{number}.json", _json(event), name))
    # mentions: a list name that is not a name
    for number, lists in enumerate([["Space Fans"], "space-fans", [5]]):
        event = copy.deepcopy(GOOD_EVENT)
        event["parts"][0]["blocks"].append({"type": "mentions", "lists": lists})
        cases.append(Case(f"mentions-{number}.yaml", _yaml(event), "parts[0].blocks[7].lists"))
    return cases


GOOD_RECORD = {"month": 1, "day": 10, "year": 1928, "kind": "event", "text": "Something happened.",
               "links": [{"title": "Trotsky", "url": "https://en.wikipedia.org/wiki/Trotsky"}],
               "source": "https://en.wikipedia.org/wiki/January_10"}  # fmt: skip

RECORD_FIELDS: list[tuple[tuple, list[Any]]] = [
    (("month",), [13, 0, 1.0, "1", 10**30, None]),
    (("day",), [32, 0, "10", None]),
    (("year",), [99999, -99999, 0, 1e30, 10**30, "1928", None]),
    (("kind",), ["holiday", 1, None]),
    (("text",), ["", "   ", 5, "x" * (MAX_TEXT_CHARS + 1), None]),
    (("source",), ["javascript:alert(1)", "https://x.org/a b", 5, ["https://x.org"]]),
    (("links",), ["https://x.org", {"title": "x"}]),
    (("links", 0), ["https://x.org", None]),
    (("links", 0, "title"), ["", 5, None, "t" * (MAX_TEXT_CHARS + 1)]),
    (("links", 0, "url"), ["https://x.org/a b", "javascript:alert(1)", "", 5, None]),
]


def record_cases() -> list[Case]:
    good = json.dumps(GOOD_RECORD)
    cases = []
    for path, values in RECORD_FIELDS:
        for number, value in enumerate(values):
            record = copy.deepcopy(GOOD_RECORD)
            node = record
            for item in path[:-1]:
                node = node[item]
            if value is None:
                if isinstance(node, list):
                    node[path[-1]] = None
                else:
                    del node[path[-1]]
            else:
                node[path[-1]] = value
            content = f"{good}\n{json.dumps(record)}\n".encode()
            name = f"records-{field_name(path)}-{number}.jsonl"
            # the field named is the record's key (a link is named as links)
            cases.append(Case(name, content, str(path[0]), line=2))
    named = [
        ("not-object", "[1, 2]", None),
        ("not-json", "{month: 1}", None),
        ("trailing", good + " junk", None),
        ("duplicate-key", good[:-1] + ', "year": 1929}', "year"),
        ("huge-int", good.replace("1928", "9" * 5000), "year"),
        ("deep", "[" * 5000 + "]" * 5000, None),
    ]
    for name, line, field in named:
        cases.append(Case(f"records-{name}.jsonl", f"{good}\n{line}\n".encode(), field, line=2))
    gz = gzip.compress(f"{good}\n{json.dumps({**GOOD_RECORD, 'year': 99999})}\n".encode())
    cases.append(Case("records-gz.jsonl.gz", gz, "year", line=2))
    cases.append(Case("records-line-cap.jsonl", f"{good}\n{' ' * 2_000_000}x\n".encode(), None, 2))
    return cases


GOOD_FEED_PAGE = {
    "title": "Small_thing",
    "titles": {"canonical": "Small_thing", "normalized": "Small thing"},
    "content_urls": {"desktop": {"page": "https://en.wikipedia.org/wiki/Small_thing"}},
    "extract": "A small thing is small.",
}
GOOD_FEED = {"events": [{"text": "Something small happened.", "year": 1926,
                         "pages": [GOOD_FEED_PAGE]}]}  # fmt: skip


def feed_cases() -> list[Case]:
    cases = []
    values = {
        "text": ["", 5, None, "x" * (MAX_TEXT_CHARS + 1)],
        "year": [0, 99999, 10**30, 1.5, "1926"],
        "pages": ["x", [1]],
    }
    for key, bad in values.items():
        for number, value in enumerate(bad):
            feed = copy.deepcopy(GOOD_FEED)
            if value is None:
                del feed["events"][0][key]
            else:
                feed["events"][0][key] = value
            cases.append(Case(f"onthisday-{key}-{number}-11-12.json", _json(feed), "events[0]"))
    dup = _json(GOOD_FEED).replace(b'"year": 1926', b'"year": 1926, "year": 1927')
    cases.append(Case("onthisday-dup-11-12.json", dup, "events[0].year"))
    deep = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    cases.append(Case("onthisday-deep-11-12.json", deep, "events", line=1))
    return cases


GOOD_CONFIG = {
    "timezone": "UTC",
    "destinations": {"out": {"type": "outbox", "path": "outbox", "format": "text",
                             "time": "07:00"}},
}  # fmt: skip

CONFIG_FIELDS: list[tuple[tuple, list[Any]]] = [
    (("timezone",), [5, "Mars/Olympus_Mons"]),
    (("destinations",), [[], {}, "out"]),
    (("destinations", "out", "type"), ["nope", 5]),
    (("destinations", "out", "time"), ["25:00", 700]),
    (("destinations", "out", "format"), ["pdf"]),
    (("destinations", "out", "max_threads_per_day"), [10**23, 0, 1.5]),
    (("destinations", "out", "catch_up_hours"), [float("inf"), float("nan"), -1]),
    (("destinations", "out", "pick"), ["yes", {"seed": 10**30}, {"milestones": [10**30]}]),
    (("content",), [{"max_excerpt_chars": 10**30}, {"cache_hours": float("inf")},
                    {"max_bytes": 10**30}, {"feed_max_bytes": 10**30}]),
    (("store",), [5]),
    (("colour",), ["red"]),
]  # fmt: skip


def config_cases() -> list[Case]:
    cases = []
    for path, values in CONFIG_FIELDS:
        for number, value in enumerate(values):
            config = copy.deepcopy(GOOD_CONFIG)
            node = config
            for item in path[:-1]:
                node = node[item]
            node[path[-1]] = value
            name = f"config-{field_name(path)}-{number}.yaml"
            cases.append(Case(name, _yaml(config), field_name(path[:2]), command="config"))
    return cases


BOMB = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def deep_yaml(levels: int) -> bytes:
    return ("title: " + "[" * levels + "]" * levels + "\n").encode()


def deep_block_yaml(levels: int) -> bytes:
    return (
        "".join("  " * level + "a:\n" for level in range(levels)).encode()
        + b"  " * levels
        + b"b: 1\n"
    )


def named_cases() -> list[Case]:
    good = _yaml(GOOD_EVENT)
    cases = [
        Case("bomb.yaml", BOMB, None),
        Case("bomb-config.yaml", BOMB, None, command="config"),
        Case("deep-990.yaml", deep_yaml(990), "title", line=1),
        Case("deep-block.yaml", deep_block_yaml(200), "a" + ".a" * (MAX_DEPTH - 1)),
        Case("deep-5000.json", b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}", "title", 1),
        Case("deep-config.yaml", deep_yaml(990), "title", line=1, command="config"),
        Case("cycle.yaml", b"events: &a [*a]\n", "events"),
        Case(
            "priority-huge.yaml",
            good.replace(b"priority: 1", b"priority: 99999999999999999999999"),
            "priority",
        ),
        Case(
            "priority-digits.yaml",
            good.replace(b"priority: 1", b"priority: " + b"9" * 5000),
            "priority",
        ),
        Case(
            "priority-digits.json",
            _json(GOOD_EVENT).replace(b'"priority": 1', b'"priority": ' + b"9" * 5000),
            "priority",
        ),
        Case("priority-float.yaml", good.replace(b"priority: 1", b"priority: .inf"), "priority"),
        Case("dup-top.yaml", good.replace(b"lead:", b"title: Again\nlead:"), "title", line=4),
        Case(
            "dup-nested.yaml",
            good.replace(b"  - type: text\n", b"  - type: text\n    type: quote\n"),
            "parts[0].blocks[0].type",
        ),
        Case(
            "dup-top.json",
            _json(GOOD_EVENT).replace(b'"lead":', b'"title": "Again",\n  "lead":'),
            "title",
            line=5,
        ),
        Case(
            "dup-config.yaml",
            b"timezone: UTC\ntimezone: Europe/Paris\ndestinations: {}\n",
            "timezone",
            line=2,
            command="config",
        ),
        Case("nul.yaml", good.replace(b"lead:", b"lead: \x00"), None, line=4),
        Case("nul-late.yaml", good + b"\n" * 9000 + b"# \x00\n", None),
        Case("control.yaml", good.replace(b"lead:", b"lead: \x01"), None, line=4),
        Case("latin1.yaml", good + "credit2: Caf\xe9\n".encode("latin-1"), None),
        Case("nul-config.yaml", b"timezone: UTC\n\x00\n", None, line=2, command="config"),
        Case(
            "latin1-config.yaml", "timezone: Caf\xe9\n".encode("latin-1"), None, 1, command="config"
        ),
        Case("python-object.yaml", b"title: !!python/object/apply:os.system [echo hi]\n", None, 1),
        Case("binary-tag.yaml", good.replace(b"lead: ", b"lead: !!binary aGVsbG8=\n  #"), "lead"),
        Case("set-tag.yaml", good.replace(b"lead: ", b"lead: !!set {a, b}\n  #"), "lead"),
        Case(
            "timestamp.yaml",
            good.replace(b"date: '1969-07-20'", b"date: !!timestamp 1969-07-20"),
            "date",
        ),
        Case("int-keys.yaml", good.replace(b"lead:", b"1: one\nlead:"), "1"),
        Case("null-key.yaml", good.replace(b"lead:", b"~: one\nlead:"), None),
        Case("complex-key.yaml", good.replace(b"lead:", b"? [a, b]\n: one\nlead:"), None),
        Case("top-list-of-scalars.yaml", b"- 1\n- 2\n", None),
        Case(
            "json-nan.json",
            _json(GOOD_EVENT).replace(b'"priority": 1', b'"priority": NaN'),
            "priority",
        ),
        Case("json-syntax.json", b'{"title": "x",\n "lead": }', None, line=2),
        Case("merge-bomb.yaml", BOMB.replace(b"i: &i", b"events:\n  - <<: {x: *h}\n    i:"), None),
    ]
    return cases


CASES = event_cases() + record_cases() + feed_cases() + config_cases() + named_cases()


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 200
    assert len({case.name for case in CASES}) == len(CASES)


# --- running a case -----------------------------------------------------------------------

GOOD_YAML = """\
date: "1969-07-20"
title: Apollo 11 lands on the Moon
lead: Neil Armstrong and Buzz Aldrin walked on the Moon.
parts:
  - blocks:
      - type: text
        text: One small step.
"""


@pytest.fixture(autouse=True)
def empty_new_stores(monkeypatch):
    monkeypatch.setenv("ANNIVERSARY_BOT_SEED", "0")


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> tuple[Path, str]:
    """A store with one event and its export, built once; each case works on a copy."""
    from click.testing import CliRunner

    from bot.cli import cli

    folder = tmp_path_factory.mktemp("hostile")
    db = folder / "store.db"
    event = write(folder / "apollo.yaml", GOOD_YAML)
    env = {"ANNIVERSARY_BOT_SEED": "0", "ANNIVERSARY_BOT_HOME": str(folder / "home")}
    runner = CliRunner(env=env)
    assert runner.invoke(cli, ["--db", str(db), "import", str(event)]).exit_code == 0
    exported = runner.invoke(cli, ["--db", str(db), "export"])
    assert exported.exit_code == 0 and "Apollo 11" in exported.stdout
    return db, exported.stdout


def run_case(case: Case, tmp_path: Path, cli_run, small_store) -> None:
    source, exported = small_store
    db = tmp_path / "store.db"
    # a backup, not a file copy: the source may still have pages in its write-ahead log
    with sqlite3.connect(source) as original, sqlite3.connect(db) as copy_:
        original.backup(copy_)
    path = tmp_path / "in" / case.name
    path.parent.mkdir()
    path.write_bytes(case.content)
    if case.command == "config":
        code, _, err = cli_run("--config", str(path), "--db", str(db), "config", "show")
    else:
        code, _, err = cli_run("--db", str(db), "import", str(path))
    assert code == 2, err
    assert "unexpected" not in err and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"Error: {path}"), line
    located = re.match(rf"Error: {re.escape(str(path))}:(\d+): ", line)
    if case.has_lines and not case.name.endswith(".gz"):
        assert located, f"no line number: {line}"
        if case.line is not None:
            assert int(located.group(1)) == case.line, line
    if case.field is not None:
        assert f" {case.field}" in line or f":{case.field}" in line, line
    code, out, _ = cli_run("--db", str(db), "export")
    assert code == 0 and out == exported, "the store changed"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(case, tmp_path, cli_run, small_store):
    run_case(case, tmp_path, cli_run, small_store)


def test_a_file_over_the_size_cap(tmp_path, cli_run, small_store, monkeypatch):
    import bot.safe_load

    monkeypatch.setattr(bot.safe_load, "MAX_FILE_BYTES", 1000)
    content = _yaml(GOOD_EVENT) + b"# padding\n" * 200
    run_case(Case("big.yaml", content, None, has_lines=False), tmp_path, cli_run, small_store)


# --- bounded: time and memory -------------------------------------------------------------

MEASURE = """\
import json, sys, time, tracemalloc
from bot.errors import InputError
from bot.events.loader import load_files
tracemalloc.start()
start = time.perf_counter()
try:
    load_files([sys.argv[1]])
    outcome = "accepted"
except InputError as error:
    outcome = str(error)
elapsed = time.perf_counter() - start
peak = tracemalloc.get_traced_memory()[1]
# the peak resident memory of this process: VmHWM (ru_maxrss may count the parent's pages
# from before exec on Linux)
status = open("/proc/self/status").read()
rss = int(status.split("VmHWM:")[1].split()[0]) * 1024
print(json.dumps({"outcome": outcome, "seconds": elapsed, "peak": peak, "rss": rss}))
"""


@pytest.mark.processes
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
@pytest.mark.parametrize("name, content", [("bomb.yaml", BOMB), ("deep.yaml", deep_yaml(990))])
def test_the_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    measured = json.loads(done.stdout)
    assert measured["outcome"].startswith(f"{path}:"), measured
    assert measured["seconds"] < 1.0, measured
    assert measured["peak"] < 100 * 2**20, measured  # allocated while reading
    assert measured["rss"] < 100 * 2**20, measured  # the whole process


def test_aliases_within_the_budget_are_read(tmp_path, cli_run):
    event = _yaml(GOOD_EVENT).replace(b"tags:\n- space", b"tags: &tags\n- space")
    text = (
        b"events:\n"
        + textwrap.indent((b"- " + event.replace(b"\n", b"\n  ")).decode(), "  ").encode()
    )
    second = b"  - date: '1969-07-21'\n    title: Next day\n    lead: Later.\n    tags: *tags\n"
    second += b"    parts: [{blocks: [{type: text, text: Hi.}]}]\n"
    path = tmp_path / "aliases.yaml"
    path.write_bytes(text.rstrip(b" \n") + b"\n" + second)
    code, out, err = cli_run("--db", str(tmp_path / "s.db"), "import", str(path))
    assert code == 0, err
    assert "Imported 2 events" in out
    assert MAX_ALIAS_NODES >= 1000


# --- one validation for every way in ------------------------------------------------------


def _schema_accepts(event_dict: dict[str, Any]) -> bool:
    from pydantic import ValidationError

    from bot.events.schema import EventIn

    try:
        EventIn.model_validate(event_dict)
    except ValidationError:
        return False
    return True


def _records():
    for path, values in RECORD_FIELDS:
        for value in values:
            record = copy.deepcopy(GOOD_RECORD)
            node = record
            for item in path[:-1]:
                node = node[item]
            node[path[-1]] = value
            yield record
    yield GOOD_RECORD
    yield {**GOOD_RECORD, "kind": "birth", "text": "N" * 400 + " was someone"}
    yield {**GOOD_RECORD, "links": []}
    yield {**GOOD_RECORD, "source": None, "links": []}


def test_a_record_the_fast_path_accepts_is_an_event_the_schema_accepts():
    """The JSON-lines records skip the general validator for speed: what they let through
    must be exactly what an event file with the same event may hold."""
    accepted = 0
    for record in _records():
        if _wiki_record_problem(record) is None:
            accepted += 1
            event = wiki_record_to_event(record)
            assert _schema_accepts(event.to_dict()), record
    assert accepted >= 4


@pytest.mark.shared(SHARED_DATA)
def test_the_shared_data_set_passes_both_checks():
    with gzip.open(SHARED_DATA, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle):
            if number % 50:
                continue  # every 50th record: the schema is slow, the rule is the same
            record = json.loads(line)
            assert _wiki_record_problem(record) is None, (number, record)
            assert _schema_accepts(wiki_record_to_event(record).to_dict()), record


def test_jsonl_records_the_rest_refuses_are_refused_and_preview_works(tmp_path, cli_run):
    """The issue's records: accepted before, then preview of that day failed."""
    db = tmp_path / "s.db"
    for number, record in enumerate(
        [
            {**GOOD_RECORD, "source": "javascript:alert(1)"},
            {**GOOD_RECORD, "links": [{"title": "x", "url": "https://x.org/a b"}]},
            {**GOOD_RECORD, "year": 99999},
            {**GOOD_RECORD, "links": [{"title": "", "url": "https://x.org/"}]},
        ]
    ):
        path = write(tmp_path / f"r{number}.jsonl", json.dumps(record) + "\n")
        code, _, err = cli_run("--db", str(db), "import", str(path))
        assert code == 2 and f"{path}:1: " in err, err
    path = write(tmp_path / "ok.jsonl", json.dumps(GOOD_RECORD) + "\n")
    assert cli_run("--db", str(db), "import", str(path))[0] == 0
    code, out, err = cli_run("--db", str(db), "preview", "--date", "2026-01-10")
    assert code == 0, err
    code, exported, _ = cli_run("--db", str(db), "export")
    again = write(tmp_path / "again.yaml", exported)
    code, _, err = cli_run("--db", str(tmp_path / "t.db"), "import", str(again))
    assert code == 0, err
