"""The shared options (issue 17): ``--config`` and ``--db`` work after the subcommand on every
command, and ``--json``, ``--to``, ``--date`` before it on the commands that take them.

Every command is run with ``--config`` (then ``--db``) after its name, pointing at a file the
command cannot use: the error names that file, which shows the command read it from there."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from bot.cli import cli
from tests.conftest import write, write_config


def leaf_commands() -> list[str]:
    found = []

    def walk(group: click.Group, path: list[str]) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, [*path, name])
            else:
                found.append(" ".join([*path, name]))

    walk(cli, [])
    return found


# the least each command needs besides --config and --db ({tmp}: the test's folder)
ARGUMENTS = {
    "alerts test": [], "calendar": [], "config check": [], "config show": [], "init": [], "posters": [],
    "drafts approve": ["1"], "drafts edit": ["1"], "drafts generate": [], "drafts list": [],
    "drafts preview": ["--out", "{tmp}/site"], "drafts regenerate": ["1"], "drafts show": ["1"],
    "drafts skip": ["1", "--reason", "later"],
    "events add": ["{tmp}/event.yaml"], "events candidates": [], "events delete": ["x"],
    "events edit": ["x"], "events list": [], "events promote": ["x"], "events show": ["x"],
    "export": [], "import": ["{tmp}/event.yaml"],
    "fetch background": ["x"], "fetch onthisday": ["--date", "01-10"],
    "history": [], "post": ["--dry-run"], "preview": [], "plan": [], "retry": [],
    "run": ["--once"], "serve": ["--port", "0"], "status": [],
    "mentions export": [], "mentions import": ["{tmp}/members.csv"],
    "mentions lists add": ["fans", "jane"], "mentions lists create": ["fans"],
    "mentions lists delete": ["fans"], "mentions lists list": [],
    "mentions lists remove": ["fans", "jane"], "mentions lists show": ["fans"],
    "mentions members add": ["jane", "Jane"], "mentions members edit": ["jane", "--name", "J"],
    "mentions members list": [], "mentions members remove": ["jane"], "mentions optout": ["jane"],
}  # fmt: skip
READS_NO_CONFIG = {"posters"}
OPENS_NO_STORE = {"posters", "init", "alerts test"}


def test_the_table_names_every_command():
    assert set(leaf_commands()) == set(ARGUMENTS)


def command_line(name: str, tmp_path) -> list[str]:
    write(tmp_path / "event.yaml", 'date: "1969-07-20"\ntitle: T\nlead: L.\n')
    write(tmp_path / "members.csv", "id,name\njane,Jane\n")
    return [*name.split(), *(a.format(tmp=tmp_path) for a in ARGUMENTS[name])]


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_every_command_reads_config_given_after_it(cli_run, tmp_path, name):
    bad = write(tmp_path / "unusable.yaml", "destinations: [\n")  # not YAML
    code, out, err = cli_run(*command_line(name, tmp_path), "--config", str(bad))
    assert "No such option" not in err
    if name in READS_NO_CONFIG:
        assert code == 0, err
    else:
        assert code != 0 and str(bad) in err


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_every_command_opens_the_store_given_after_it(cli_run, tmp_path, name):
    config = write_config(
        tmp_path / "bot.yaml", f"  archive:\n    type: outbox\n    path: {tmp_path / 'out'}\n"
    )
    foreign = write(tmp_path / "notes.db", "not a database\n")
    args = [*command_line(name, tmp_path), "--config", str(config), "--db", str(foreign)]
    code, out, err = cli_run(*args)
    assert "No such option" not in err
    if name in OPENS_NO_STORE:
        assert str(foreign) not in out + err, err
    else:
        assert str(foreign) in out + err
        assert code != 0 or name == "config show"


def test_shared_options_before_the_subcommand(cli_run, three_part_store, tmp_path):
    db = ("--db", str(three_part_store))
    after = cli_run(*db, "events", "list", "--json")
    assert cli_run(*db, "--json", "events", "list") == after
    assert after[0] == 0 and after[1].startswith("[")
    by_date = cli_run(*db, "preview", "--date", "07-20")
    assert cli_run(*db, "--date", "07-20", "preview") == by_date
    assert "Apollo 11" in by_date[1]
    # the command's own value wins over the one given before it
    assert cli_run(*db, "--date", "01-01", "preview", "--date", "07-20") == by_date
    code, _, err = cli_run(*db, "--to", "nowhere", "history")
    assert code == 2 and "unknown destination 'nowhere'" in err


def test_a_shared_option_a_command_has_no_use_for_is_refused(cli_run, three_part_store):
    code, _, err = cli_run("--db", str(three_part_store), "--json", "run", "--once")
    assert code == 2 and "--json does not apply to 'cli run'" in err.replace(
        "anniversary-bot", "cli"
    )
    code, _, err = cli_run("--to", "a", "--to", "b", "--db", str(three_part_store), "history")
    assert code == 2 and "--to: one value here" in err


def test_shell_completion_as_the_readme_sets_it_up():
    """README, "Shell completion": click's completion under the variable it names."""
    from click.testing import CliRunner

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "_ANNIVERSARY_BOT_COMPLETE=bash_source anniversary-bot" in readme
    runner = CliRunner()
    script = runner.invoke(
        cli, [], prog_name="anniversary-bot", env={"_ANNIVERSARY_BOT_COMPLETE": "bash_source"}
    )
    assert "_anniversary_bot_completion()" in script.output
    env = {
        "_ANNIVERSARY_BOT_COMPLETE": "bash_complete",
        "COMP_WORDS": "anniversary-bot events de",
        "COMP_CWORD": "2",
    }
    done = runner.invoke(cli, [], prog_name="anniversary-bot", env=env)
    assert done.output.splitlines() == ["plain,delete"]
