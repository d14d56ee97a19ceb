"""What every command shares: the ``cli`` group, its error reporting, the context a command
reads its config and store from, and the options several commands take.

Command modules import from here, never from the package (``bot/cli/__init__.py`` loads them
by name), so that no command module and the package import each other. Only click and the
standard library at module level: ``--help`` imports this and every command module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot import __version__
from bot.errors import BotError, InputError

if TYPE_CHECKING:
    import datetime as dt

    from bot.config import Config, Destination
    from bot.model.dates import AnniversaryDate
    from bot.store import Store

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What a command works on: the config and the store, each read when first used."""

    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path

    @cached_property
    def config(self) -> Config:
        from bot.config.loading import load_config

        return load_config(self.config_path)

    @cached_property
    def store(self) -> Store:
        import os

        from bot.app import open_store

        path = self.db_path or self.config.store
        if path is not None and str(path) != ":memory:" and not os.path.lexists(path):
            click.echo(f"{path}: no store there yet: creating a new store", err=True)
        return open_store(path)

    def today(self, timezone: str | None = None) -> dt.date:
        from bot.clock import today

        return today(timezone or self.config.timezone)

    def day(
        self, value: str | None, timezone: str | None = None, option: str = "--date", days: int = 1
    ) -> dt.date:
        """The day given as ``option`` (default: today), checked to begin a span of ``days``
        days the calendar holds (``plan --days 7`` from 9999-12-30 does not fit)."""
        from bot.model.dates import day_span, parse_day_option

        today = self.today(timezone)
        day = parse_day_option(value, today, option) if value else today
        day_span(day, days, option)
        return day

    def destination(self, name: str | None) -> Destination:
        """The destination named, else the config's first."""
        config = self.config
        return config.destination(name) if name else next(iter(config.destinations.values()))

    def destinations(self, names: tuple[str, ...]) -> list[Destination]:
        """The destinations named, else every destination of the config."""
        config = self.config
        return (
            [config.destination(n) for n in names] if names else list(config.destinations.values())
        )


pass_context = click.make_pass_decorator(Context)


# --- options several commands share ---------------------------------------------------------


def date_option(help: str, metavar: str = "MM-DD|YYYY-MM-DD") -> Callable[[F], F]:
    """``--date``, read into the parameter ``date_text``."""
    return click.option("--date", "date_text", metavar=metavar, help=help)


def json_option(help: str | None = "As JSON.") -> Callable[[F], F]:
    """``--json``, read into the parameter ``as_json``."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def to_option(help: str = "Only this destination.") -> Callable[[F], F]:
    """``--to DEST``, one destination, read into the parameter ``destination``."""
    return click.option("--to", "destination", metavar="DEST", help=help)


def to_many_option(help: str = "Only this destination.") -> Callable[[F], F]:
    """``--to DEST``, repeatable, read into the parameter ``names``."""
    return click.option("--to", "names", multiple=True, metavar="DEST", help=help)


# --- parsing --------------------------------------------------------------------------------


def anniversary_option(value: str, option: str = "--date") -> AnniversaryDate:
    """An option's ``MM-DD`` or ``YYYY-MM-DD``; a bad one is an InputError naming the option."""
    from bot.model.dates import parse_date

    try:
        return parse_date(value)
    except ValueError as error:
        raise InputError(f"{option}: {error}") from None


def write_site_for(
    obj: Context,
    out: str,
    names: tuple[str, ...],
    date_text: str | None,
    days: int | None,
    year: int | None,
) -> None:
    """The HTML preview site: a page per day and a calendar (``drafts preview`` and
    ``preview --format html --out DIR``)."""
    from pathlib import Path

    from bot.model.dates import year_days
    from bot.preview.html import write_site

    destinations = obj.destinations(names)
    if year is not None:
        start, count = year_days(year)
    else:
        count = days or 30
        start = obj.day(date_text, destinations[0].timezone, days=count)
    index = write_site(obj.store, obj.config, destinations, start, count, Path(out))
    click.echo(f"Wrote {count} day page{'s' if count != 1 else ''} and {index}", err=True)


class LibraryChoice(click.Choice):
    """A choice among values the library names (such as the draft states), read when first
    needed: building the option for ``--help`` must not import the library."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._load())

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        pass  # the values are the library's, read each time


# --- output ---------------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    """``1 post``, ``2 posts``."""
    return f"{count} {noun}{'s' if count != 1 else ''}"


def setup_logging(default: str = "WARNING", progress: bool = False) -> None:
    import logging
    import os

    from bot.secrets_filter import configure_logging

    level = os.environ.get("ANNIVERSARY_BOT_LOG", default).upper()
    configure_logging(getattr(logging, level, logging.WARNING), progress)


def tell_waiting(who: str) -> None:
    click.echo(f"waiting for {who}, which is publishing from this store...", err=True)


class Progress:
    """A progress bar on a terminal; nothing at all when output is redirected. Entered, it
    gives the bar's ``update`` (or None), the shape the library's ``progress`` arguments take."""

    def __init__(self, label: str, length: int, minimum: int = 1_000_000) -> None:
        self.bar: Any = None
        if sys.stderr.isatty() and length > minimum:
            self.bar = click.progressbar(length=length, label=label, file=sys.stderr)

    def __enter__(self) -> Callable[[int], None] | None:
        if self.bar is None:
            return None
        bar = self.bar.__enter__()
        return bar.update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


# --- the group ------------------------------------------------------------------------------


def _store_failure(obj: Context | None, error: Exception) -> BotError | None:
    """An SQLite error about the store file (disk full, read-only, busy, damaged) as the one
    line that says what to do; None for any other error."""
    import sqlite3

    store = vars(obj).get("store") if obj is not None else None  # only if it was opened
    if isinstance(error, OSError) and store is not None:
        from bot.store_file import file_failure

        return file_failure(store.path, error)  # a lock file beside a read-only store
    if not isinstance(error, sqlite3.Error):
        return None
    from bot.store_file import BUSY_TIMEOUT_SECONDS, failure

    if store is None:
        return failure("the store", error, BUSY_TIMEOUT_SECONDS)
    return failure(store.path, error, store.busy_timeout)


class BotGroup(click.Group):
    """Turns a BotError into one line on stderr and its exit code, never a traceback.

    Each command lives in a topic module that is imported only when the command is named
    (``LAZY_MODULES``: command name -> module, filled by the package), so that a short
    command such as ``preview`` does not pay for building the others."""

    LAZY_MODULES: dict[str, str] = {}

    def _load(self, name: str) -> None:
        module = self.LAZY_MODULES.get(name)
        if module and name not in self.commands:
            importlib.import_module(module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in sorted(self.LAZY_MODULES):
            self._load(name)
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        # all output masked of secrets here too, for callers that swap the streams after main()
        # (click's CliRunner); a no-op when main() already did it
        from bot.secrets_filter import masking_streams

        with masking_streams():
            return self._invoke_reporting_errors(ctx)

    def _invoke_reporting_errors(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BotError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # the reader went away (| head): stop quietly, and keep Python's final flush quiet
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as error:
            import os

            failure = _store_failure(ctx.obj, error)
            if failure is not None:
                click.echo(f"Error: {failure}", err=True)
                ctx.exit(failure.exit_code)
            if os.environ.get("ANNIVERSARY_BOT_DEBUG"):
                raise
            from bot.secrets_filter import mask

            click.echo(
                f"Error: unexpected {type(error).__name__}: {mask(str(error))} (a bug: please "
                "report it; ANNIVERSARY_BOT_DEBUG=1 shows the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=BotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="anniversary-bot")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (else $ANNIVERSARY_BOT_CONFIG, else the user config dir).",
)
@click.option(
    "--db",
    "db_path",
    metavar="PATH",
    help="Event store (SQLite file); default: the user data dir, seeded with the sample data.",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """Post a community's daily "this day in history" threads, on time, exactly once.

    Example: anniversary-bot preview --date 01-10
    """
    ctx.obj = Context(config_path, db_path)
