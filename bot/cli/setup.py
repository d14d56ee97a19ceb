"""Setting the bot up: the config (show, check) and the poster adapters installed."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, pass_context
from bot.errors import BotError


@cli.command()
@pass_context
def posters(obj: Context) -> None:
    """List the poster adapters installed: built-in ones and plugins.

    Example: anniversary-bot posters
    """
    from bot.posters import available_posters, poster_class

    for name, origin in sorted(available_posters().items()):
        cls = poster_class(name)
        caps = cls.capabilities
        limit = f"max {caps.max_length:,} chars" if caps.max_length else "no length limit"
        click.echo(f"{name}\t{origin}\t{limit}\t{cls.description}")


@cli.group(name="config")
def config_group() -> None:
    """Show or check the configuration."""


@config_group.command(name="show")
@pass_context
def config_show(obj: Context) -> None:
    """Print the resolved config with every secret masked.

    Example: anniversary-bot --config bot.yaml config show
    """
    import yaml

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
        f"{config.path or 'embedded default'}: valid, {len(config.destinations)} destination(s)"
    )
    problems = 0
    for result in check_destinations(config):
        click.echo(result.line())
        problems += result.failed
    for unnotified in unnotified_list_members(config, obj.store):
        click.echo(unnotified.line())
    if problems:
        raise BotError(f"{problems} destination(s) failed the check")
