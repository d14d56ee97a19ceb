"""The command line's layout (issue 13): a package of thin commands, loaded lazily.

- every command module imports the group from ``bot.cli.base`` and no other command module, so
  no command module can form a circle with another or with the package;
- commands hold no SQL and repeat no state names: the publish log, the scheduler and the drafts
  own them (``PostState``, ``RunOutcome``, the draft states);
- a short command such as ``preview`` loads neither the other topics' commands nor the
  publishing and drafts machinery.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.drafts import STATES as DRAFT_STATES
from bot.publishing.log import PostState
from bot.publishing.scheduler import RunOutcome
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
CLI_PACKAGE = ROOT / "bot" / "cli"
COMMAND_MODULES = sorted(p for p in CLI_PACKAGE.glob("*.py") if p.name != "__init__.py")


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # "from bot.cli import preview" imports the module bot.cli.preview
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_cli_is_a_package_with_a_base_module_and_topic_modules():
    assert (CLI_PACKAGE / "__init__.py").is_file()
    assert (CLI_PACKAGE / "base.py").is_file()
    assert len(COMMAND_MODULES) > 2, "the commands are grouped by topic, one module each"
    assert not (ROOT / "bot" / "cli.py").exists()
    assert not (ROOT / "bot" / "cli_drafts.py").exists()
    assert not (ROOT / "bot" / "cli_content.py").exists()


@pytest.mark.parametrize("path", COMMAND_MODULES, ids=lambda p: p.name)
def test_a_command_module_imports_only_the_base_module_of_the_package(path):
    topic_modules = {f"bot.cli.{p.stem}" for p in COMMAND_MODULES} - {"bot.cli.base"}
    imported = imported_modules(path)
    assert "bot.cli" not in imported, f"{path.name} imports the package: a circle with __init__"
    assert not imported & topic_modules, f"{path.name} imports another command module"
    if path.stem == "base":
        assert not {m for m in imported if m.startswith("bot.cli.")}


def state_names() -> set[str]:
    return {s.value for s in PostState} | {o.value for o in RunOutcome} | set(DRAFT_STATES)


def compared_or_listed(tree: ast.AST) -> list[ast.Constant]:
    """String constants a state could be spelled as: compared with (``state == "sent"``) or
    listed (``("failed", "unconfirmed")``, ``click.Choice(["draft", ...])``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            operands = list(node.elts)
        else:
            continue
        found += [o for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)]
    return found


@pytest.mark.parametrize("path", COMMAND_MODULES, ids=lambda p: p.name)
def test_a_command_module_holds_no_sql_and_no_state_literal(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    states = state_names()
    for constant in compared_or_listed(tree):
        assert constant.value not in states, f"{path.name}:{constant.lineno}: {constant.value!r}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            for keyword in ("select ", "insert into", "update ", "delete from"):
                assert not text.startswith(keyword), f"{path.name}:{node.lineno}: SQL"
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"db", "conn", "execute", "query"}, (
                f"{path.name}:{node.lineno}: .{node.attr}: the store's SQL belongs in the library"
            )


LOADED = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""


def modules_loaded_by(args: list[str], tmp_path: Path) -> set[str]:
    env = {
        **os.environ,
        "ANNIVERSARY_BOT_SEED": "0",
        "ANNIVERSARY_BOT_HOME": str(tmp_path / "home"),
    }
    env.pop("ANNIVERSARY_BOT_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", LOADED, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.processes
def test_preview_loads_no_other_topic_and_no_publishing_machinery(tmp_path):
    loaded = modules_loaded_by(
        ["--db", str(tmp_path / "x.db"), "preview", "--date", "01-10"], tmp_path
    )
    assert "bot.cli.preview" in loaded
    not_needed = {
        "bot.cli.drafts", "bot.cli.content", "bot.cli.publishing", "bot.cli.mentions",
        "bot.drafts", "bot.publishing.log", "bot.publishing.scheduler", "bot.preview.html", "apscheduler",
        # the wording rules and their patterns: only to cut a title too long for its platform
        "bot.content.wording",
    }  # fmt: skip
    assert not loaded & not_needed, sorted(loaded & not_needed)


@pytest.mark.processes
def test_preview_with_a_config_loads_no_member_admin_input_rules_locks_or_rows(tmp_path):
    # issue 20: preview of a day at <= 1.3x the floor. A preview expands mention lists
    # (bot.events.directory), never manages members (the CSV, the integrity rules); it writes
    # no row of the publish log or the alerts (bot.store.rows), checks no event file's values
    # (bot.input_rules), and takes no lock (bot.locks)
    config = write_destinations_config(tmp_path)
    db = tmp_path / "store.db"
    Store(str(db)).close()
    not_needed = {"bot.events.mentions", "bot.store.rows", "bot.input_rules", "bot.locks"}
    command = ["--config", str(config), "--db", str(db), "preview", "--date", "01-10"]
    modules_loaded_by(command, tmp_path)  # validates the config (bot.config.memo)
    for destination in ("outbox", "forum", "social", "chat"):
        loaded = modules_loaded_by([*command, "--to", destination], tmp_path)
        assert "bot.events.directory" in loaded
        assert not loaded & not_needed, (destination, sorted(loaded & not_needed))


def write_destinations_config(tmp_path, more: str = ""):
    """A config of the benchmark's four destinations (secrets as unread references), and
    ``more`` lines of destinations."""
    config = tmp_path / "bot.yaml"
    config.write_text(
        "destinations:\n"
        f"  outbox: {{type: outbox, path: {tmp_path / 'outbox'}}}\n"
        "  forum: {type: discourse, url: 'https://forum.invalid', api_key: {$env: BOT_TOKEN},\n"
        "          api_username: bot, category: 1}\n"
        "  social: {type: mastodon, url: 'https://social.invalid', access_token: {$env: BOT_TOKEN}}\n"
        "  chat: {type: discord, webhook_url: {$env: BOT_WEBHOOK}}\n" + more,
        encoding="utf-8",
    )
    return config


@pytest.mark.processes
def test_help_loads_the_commands_but_none_of_the_library(tmp_path):
    loaded = modules_loaded_by(["--help"], tmp_path)
    assert "bot.cli.drafts" in loaded
    library = {m for m in loaded if m.startswith("bot.") and not m.startswith("bot.cli")}
    assert library <= {"bot.errors", "bot.secrets_filter"}
    assert not {"jinja2", "sqlite_utils", "yaml", "pydantic"} & loaded


@pytest.mark.processes
def test_a_read_command_with_a_config_loads_no_http_stack(tmp_path):
    config = write_destinations_config(
        tmp_path, "  team: {type: slack, token: {$env: BOT_TOKEN}, channel: C0123ABCD}\n"
    )
    loaded = modules_loaded_by(
        ["--config", str(config), "--db", str(tmp_path / "x.db"), "status"], tmp_path
    )
    assert "bot.operations.publish_report" in loaded
    assert not {"requests", "urllib3", "bot.http"} & loaded  # imported when an adapter posts


@pytest.mark.processes
@pytest.mark.parametrize(
    "command", [["calendar", "--year", "2026"], ["events", "list", "--search", "railroad"]]
)
def test_calendar_and_event_listing_load_no_pick_and_no_yaml(tmp_path, command):
    """Read commands of a whole-process goal (< 200 ms with ten times the data set): the
    calendar without ``--to`` needs no pick (its tag rules are for a destination), and a table
    or JSON of events no YAML."""
    loaded = modules_loaded_by(["--db", str(tmp_path / "x.db"), *command], tmp_path)
    assert {"bot.content.calendar", "bot.operations.listings"} & loaded
    assert not {"bot.content.pick", "yaml"} & loaded


@pytest.mark.processes
def test_status_and_config_show_load_no_templates_scheduler_or_event_files(tmp_path):
    # start-up with a config is paid by every run of a monitor's `status`: it reads the config
    # and the publish log and renders nothing, so neither it nor `config show` may import the
    # templates (jinja2), the scheduler (APScheduler), the sending side of the publish log, the
    # library's front door, or the event schema and loader (issue 20, item 1); and once a
    # config file was validated, an unchanged one is not validated again (no pydantic).
    # `status` reads the drafts that wait for a person (bot.drafts), which imports none of these.
    config = write_destinations_config(tmp_path)
    db = tmp_path / "store.db"
    Store(str(db)).close()
    not_needed = {
        "jinja2", "apscheduler", "requests", "bot.app", "bot.threads.render",
        "bot.threads.select", "bot.publishing.log", "bot.publishing.daily",
        "bot.publishing.scheduler", "bot.events.schema", "bot.events.loader",
        "bot.events.mentions", "bot.content.pick",
    }  # fmt: skip
    runs = [["status"], ["status"], ["config", "show"]]
    for number, command in enumerate(runs):
        loaded = modules_loaded_by(["--config", str(config), "--db", str(db), *command], tmp_path)
        assert not loaded & not_needed, (command, sorted(loaded & not_needed))
        # validated by the first run; read back by the next ones (bot.config.memo)
        validated = {"bot.config.schema", "pydantic"} <= loaded
        assert validated == (number == 0), (number, command)
