"""Alerts: a test message to every alert URL of the config."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, pass_context, setup_logging
from bot.errors import BotError


@cli.group(name="alerts")
def alerts_group() -> None:
    """Alerts sent through Apprise (alerts: in the config)."""


@alerts_group.command(name="test")
@pass_context
def alerts_test(obj: Context) -> None:
    """Send a test message to every URL of alerts.urls, and say which received it.

    Example: anniversary-bot --config bot.yaml alerts test
    """
    from bot.clock import now
    from bot.operations.alerts import send_test

    setup_logging()  # Apprise's own line on why a service refused, masked like all output
    failed = 0
    for result in send_test(obj.config, now()):
        click.echo(result.line())
        failed += result.failed
    if failed:
        raise BotError(f"{failed} alert URL(s) did not receive the test message")
