"""Publishing: post, history, retry, run (the daemon, or once), status."""

from __future__ import annotations

import json
import sys

import click

from bot.cli.base import (
    Context,
    cli,
    date_option,
    echo_table,
    json_option,
    pass_context,
    plural,
    setup_logging,
    tell_waiting,
    to_many_option,
    to_option,
)
from bot.errors import BotError


@cli.command()
@date_option("The day to post (default: today in each destination's time zone).")
@to_many_option("Only this destination (repeatable).")
@click.option("--dry-run", is_flag=True, help="Render and show what would be sent; touch nothing.")
@pass_context
def post(obj: Context, date_text: str | None, names: tuple[str, ...], dry_run: bool) -> None:
    """Post the day's threads to each destination, each post exactly once.

    Running it again for the same day sends nothing new; a post that failed is retried when
    its retry time has come.

    Example: anniversary-bot post --to outbox
    """
    from bot.config.channel import Channel
    from bot.operations.publish_report import dry_run as show_dry_run
    from bot.preview.text import format_preview
    from bot.publishing.daily import publish_day

    setup_logging(progress=True)
    failures = 0
    for dest in obj.destinations(names):
        day = obj.day(date_text, dest.timezone)
        if dry_run:
            would = show_dry_run(obj.store, obj.config, dest, day)
            for event_id, numbers in would.already_sent.items():
                click.echo(f"(already sent: posts {numbers} of {event_id})")
            if would.threads:
                click.echo(format_preview(would.threads, dest.name))
            for held in would.held:
                click.echo(held.summary())
            click.echo(would.summary())
            continue
        channel = Channel.of(obj.config, dest)
        results = publish_day(obj.store, channel, day, on_wait=tell_waiting)
        if not results:
            click.echo(f"{dest.name}: no events for {day:%B} {day.day}; nothing posted")
        for result in results:
            click.echo(result.summary())
            failures += result.failed
    if failures:
        raise BotError(
            f"{failures} thread{'s' if failures > 1 else ''} not fully sent: see 'anniversary-bot history --failed'"
        )


@cli.command()
@date_option("Only this day.")
@to_option()
@click.option("--failed", is_flag=True, help="Only failed and unconfirmed posts.")
@json_option()
@pass_context
def history(
    obj: Context, date_text: str | None, destination: str | None, failed: bool, as_json: bool
) -> None:
    """What went out, when, where to see it, and what failed and why.

    Example: anniversary-bot history --failed
    """
    from bot.operations.publish_report import (
        HISTORY_COLUMNS,
        check_logged_destination,
        history_cells,
        history_rows,
        write_history_json,
    )
    from bot.operations.publish_report import history as read_history

    day = obj.day(date_text) if date_text else None
    if destination:
        check_logged_destination(obj.store, obj.config, destination)
    if as_json:
        write_history_json(history_rows(obj.store, destination, day, failed), sys.stdout)
        click.echo()
        return
    found = read_history(obj.store, destination, day, failed, obj.config, obj.today())
    echo_table(HISTORY_COLUMNS, [history_cells(row) for row in found.rows])
    for line in found.held:
        click.echo(line)
    click.echo(plural(len(found.rows), "post"), err=True)


@cli.command()
@to_option()
@click.option(
    "--mark-sent",
    "mark_sent",
    metavar="KEY",
    multiple=True,
    help="You checked: the post is there. Record it as sent (touches only this post).",
)
@click.option(
    "--resend",
    "resend",
    metavar="KEY",
    multiple=True,
    help="You checked: the unconfirmed post is not there. Send it again.",
)
@pass_context
def retry(
    obj: Context, destination: str | None, mark_sent: tuple[str, ...], resend: tuple[str, ...]
) -> None:
    """Retry failed posts now; look unconfirmed ones up where the platform can.

    An unconfirmed post (it may have been posted, and the platform cannot be asked) is never
    sent again without your word: check the destination, then --mark-sent KEY or --resend KEY.

    Example: anniversary-bot retry --to forum
    """
    from bot.operations.publish_report import check_logged_destination
    from bot.operations.retry import retry as retry_posts

    setup_logging(progress=True)
    if destination:
        check_logged_destination(obj.store, obj.config, destination)
    failures = 0
    for step in retry_posts(obj.store, obj.config, destination, mark_sent, resend, tell_waiting):
        click.echo(step.summary())
        failures += step.failed
    if failures:
        raise BotError(f"{failures} thread{'s' if failures > 1 else ''} still not fully sent")


@cli.command()
@click.option(
    "--once",
    is_flag=True,
    help="Do what today's jobs would do, now, and exit (for cron or a systemd timer).",
)
@to_many_option("With --once: only this destination (repeatable).")
@pass_context
def run(obj: Context, once: bool, names: tuple[str, ...]) -> None:
    """The main job: post each destination's threads daily at its local time.

    Runs until stopped (SIGINT/SIGTERM finish the post in flight). With --once, posts today's
    threads for every destination now, retries what failed today, and exits.

    Example: anniversary-bot run --once
    """
    from bot.operations.watch import Watch
    from bot.publishing.scheduler import DailyJob, run_forever

    setup_logging(default="INFO")
    config = obj.config
    watch = Watch.of(config)  # alerts and heartbeat: their secrets read now, before any post
    store_path = obj.store.path  # opens (and on first use seeds) the store
    if not once:
        run_forever(store_path, config, watch=watch)
        return
    job = DailyJob(store_path, config, on_wait=tell_waiting, watch=watch)
    failures = 0
    for dest in obj.destinations(names):
        outcome = job.run_destination(dest.name, force=True)
        click.echo(outcome.message)
        failures += outcome.failed
    if failures:
        raise BotError(
            f"{plural(failures, 'destination')} not fully posted: see 'anniversary-bot history --failed'"
        )


@cli.command()
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=7,
    show_default=True,
    help="Exit 1 when a post failed, was missed or is unconfirmed in this many days.",
)
@json_option("As JSON (the schema is in the README).")
@pass_context
def status(obj: Context, days: int, as_json: bool) -> None:
    """Next run per destination, the last result, anything failed or unconfirmed, the daemon.

    Exit code, for a monitor: 0 all good; 1 a post failed, was missed or is unconfirmed in
    the last --days days; 2 the bot cannot run (a bad config or store).

    Example: anniversary-bot status --json --days 3
    """
    import sqlite3

    from bot.cli.base import _store_failure
    from bot.clock import now
    from bot.operations.publish_report import status as read_status

    try:
        config = obj.config  # before the store: a store named in a bad config is not created
        found = read_status(obj.store, config, now(), obj.today(), days)
    except (BotError, sqlite3.Error, OSError) as error:
        # whatever stops it from reading the config or the store stops the bot from running
        reason = error if isinstance(error, BotError) else _store_failure(obj, error)
        if reason is None:
            raise
        if as_json:
            click.echo(json.dumps({"ok": False, "exit_code": 2, "error": str(reason)}, indent=2))
        raise BotError(str(reason), exit_code=2) from None
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2))
        click.get_current_context().exit(found.exit_code)
    for line in found.daemon_lines():
        click.echo(line)
    for destination in found.destinations:
        for line in destination.lines():
            click.echo(line)
    if found.drafts_waiting:
        click.echo("drafts waiting for a person ('anniversary-bot drafts list'):")
        for line in found.drafts_waiting:
            click.echo(f"  {line}")
    click.echo(found.summary(), err=True)
    click.get_current_context().exit(found.exit_code)
