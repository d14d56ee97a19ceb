"""Setting the bot up: the config (show, check) and the poster adapters installed."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, echo_json, echo_table, json_option, pass_context, plural
from bot.errors import BotError


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Adapters that exist for tests too.")
@json_option()
@pass_context
def posters(obj: Context, show_all: bool, as_json: bool) -> None:
    """List the poster adapters installed: built-in ones and plugins.

    Example: anniversary-bot posters
    """
    from bot.operations.listings import poster_listings

    found = poster_listings(include_test_only=show_all)
    if as_json:
        echo_json([p.to_json() for p in found])
        return
    rows = [(p.name, p.origin, f"{p.max_length:,}" if p.max_length else "none", p.description)
            for p in found]  # fmt: skip
    echo_table(("NAME", "FROM", "MAX LENGTH", "DESCRIPTION"), rows)


@cli.command()
@click.option("--force", is_flag=True, help="Replace a config that is already there.")
@pass_context
def init(obj: Context, force: bool) -> None:
    """Write a starter config that works as it is (the store, a file outbox), with every key
    of the example config below it, commented; and say where the config and store live.

    It goes where the commands read it: --config PATH, else $ANNIVERSARY_BOT_CONFIG, else the
    user config folder.

    Example: anniversary-bot init && anniversary-bot config check
    """
    from bot.operations.starter import write_starter

    for line in write_starter(obj.config_path, obj.db_path, force).lines():
        click.echo(line)


@cli.group(name="config")
def config_group() -> None:
    """Show or check the configuration."""


@config_group.command(name="show")
@json_option()
@pass_context
def config_show(obj: Context, as_json: bool) -> None:
    """Where the config and the store are, and the resolved config with every secret masked.

    Example: anniversary-bot --config bot.yaml config show
    """
    import yaml

    from bot.operations.starter import locations

    where = locations(obj.config, obj.config_path, obj.db_path)
    if as_json:
        echo_json({"where": where.to_json(), "config": obj.config.masked()})
        return
    for line in where.lines():
        click.echo(f"# {line}")
    click.echo(yaml.safe_dump(obj.config.masked(), sort_keys=False, allow_unicode=True), nl=False)


@config_group.command(name="check")
@pass_context
def config_check(obj: Context) -> None:
    """Validate the config and, where an adapter can, test its credentials; name the members
    of mention lists who have no handle on a destination's platform (named, not notified).

    Example: anniversary-bot --config bot.yaml config check
    """
    from bot.operations.config_check import check_destinations, unnotified_list_members

    config = obj.config
    click.echo(
        f"{config.path or 'embedded default'}: valid, {plural(len(config.destinations), 'destination')}"
    )
    problems = 0
    for result in check_destinations(config):
        click.echo(result.line())
        problems += result.failed
    for unnotified in unnotified_list_members(config, obj.store):
        click.echo(unnotified.line())
    if problems:
        raise BotError(f"{plural(problems, 'destination')} failed the check")
